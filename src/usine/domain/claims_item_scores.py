"""Line-item precision, recall and F1: true invoice lines matched to extracted ones, order aside.

An extracted item is right (row ``line_items``) when its description and its amount equal those
of a true item not matched yet: descriptions compared case-, accent- and space-insensitively,
amounts as numbers. Every other extracted item is a false positive and every true item left
unmatched a false negative, whatever the order of either list.

The rows ``line_items.<attribute>`` (description, quantity, unit price, amount) tell which part
fails. They score each attribute over a one-to-one pairing of extracted and true items: right
items first, then the pairs sharing the most attributes. A paired attribute counts like a header
field (equal: true positive; different: false positive, and false negative when the truth has
one); an attribute of an unpaired item is a false positive (extracted) or a false negative (true).
A fact the document does not print (``None`` in the truth) is not expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from usine.domain.claims_evaluation import Counts, comparable_number, comparable_text

ITEM_ATTRIBUTES = ("description", "quantity", "unit_price", "amount")
ITEM_ROWS = ("line_items", *(f"line_items.{name}" for name in ITEM_ATTRIBUTES))
_DESCRIPTION, _AMOUNT = ITEM_ATTRIBUTES.index("description"), ITEM_ATTRIBUTES.index("amount")

Normalised = tuple[str | None, ...]


def _normalised(item: Mapping[str, Any]) -> Normalised:
    values: list[str | None] = []
    for name in ITEM_ATTRIBUTES:
        value = item.get(name)
        if value is None:
            values.append(None)
        else:
            values.append(comparable_text(value) if name == "description" else comparable_number(value))
    return tuple(values)


def _right(got: Normalised, want: Normalised) -> bool:
    return all(got[i] is not None and got[i] == want[i] for i in (_DESCRIPTION, _AMOUNT))


def _agreement(got: Normalised, want: Normalised) -> int:
    return sum(g is not None and g == w for g, w in zip(got, want, strict=True))


def _pairs(got: Sequence[Normalised], want: Sequence[Normalised]) -> list[tuple[int, int]]:
    """One-to-one pairs (extracted index, true index): right items first, then most attributes shared.

    Ties are broken by the values, not by the positions, so the pairs' counts do not depend on
    the order of either list.
    """

    def key(pair: tuple[int, int]) -> tuple[bool, int, tuple[str, ...], tuple[str, ...]]:
        g, w = got[pair[0]], want[pair[1]]
        return (not _right(g, w), -_agreement(g, w), tuple(v or "" for v in g), tuple(v or "" for v in w))

    pairs: list[tuple[int, int]] = []
    used_got: set[int] = set()
    used_want: set[int] = set()
    for i, j in sorted(((i, j) for i in range(len(got)) for j in range(len(want))), key=key):
        if i not in used_got and j not in used_want:
            pairs.append((i, j))
            used_got.add(i)
            used_want.add(j)
    return pairs


@dataclass
class ItemScores:
    """Counts of whole line items and of each of their attributes."""

    rows: dict[str, Counts] = field(default_factory=lambda: {name: Counts() for name in ITEM_ROWS})

    def add(self, predicted: Sequence[Mapping[str, Any]], truth: Sequence[Mapping[str, Any]]) -> None:
        """Score one document's extracted items against its true items (any order)."""
        got = [_normalised(item) for item in predicted]
        want = [_normalised(item) for item in truth]
        pairs = _pairs(got, want)
        right = sum(_right(got[i], want[j]) for i, j in pairs)
        whole = self.rows["line_items"]
        whole.tp += right
        whole.fp += len(got) - right
        whole.fn += len(want) - right
        paired_got = {i for i, _ in pairs}
        paired_want = {j for _, j in pairs}
        for index, name in enumerate(ITEM_ATTRIBUTES):
            counts = self.rows[f"line_items.{name}"]
            for i, j in pairs:
                counts.score(got[i][index], want[j][index])
            for i in set(range(len(got))) - paired_got:
                counts.score(got[i][index], None)
            for j in set(range(len(want))) - paired_want:
                counts.score(None, want[j][index])

    @property
    def items(self) -> Counts:
        """Counts of whole items (description and amount right)."""
        return self.rows["line_items"]

    def metrics(self, prefix: str) -> dict[str, float]:
        """Flat metrics for MLflow: ``<prefix>_line_items_f1``, ``<prefix>_line_items_amount_f1``..."""
        result = self.items.named(f"{prefix}_line_items")
        for name in ITEM_ATTRIBUTES:
            result[f"{prefix}_line_items_{name}_f1"] = self.rows[f"line_items.{name}"].f1
        return result

"""Candidate values for each invoice field, and the features a model scores them by.

The rules find every value that *could* fill a field (every amount could be the total,
every date the invoice date, every address the supplier's) and describe each by its
surroundings: which label words sit to its left on the same row or above it, where it is on
the page, how large it is printed, how it relates to the other values (an amount that is
the sum of two others is likely the total incl. tax). A classifier trained on the generated
corpus turns these features into the probability that a candidate is the field's value;
the rules alone never decide between two candidates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from statistics import median
from typing import Any

from usine.domain.claims_parsing import (
    find_amounts,
    find_dates,
    find_percents,
    find_postcode_cities,
    find_references,
    find_streets,
    fold,
    has_currency_after,
    percent,
)
from usine.domain.claims_text import DocumentText, Line

SCORED_FIELDS = (
    "invoice.number",
    "invoice.date",
    "invoice.total_excl_tax",
    "invoice.vat_amount",
    "invoice.vat_rate",
    "invoice.total_incl_tax",
    "address.name",
    "address.location",
)
"""Fields chosen by the model among candidates; ``address.location`` is street + postcode + city."""
AMOUNT_FIELDS = ("invoice.total_excl_tax", "invoice.vat_amount", "invoice.total_incl_tax")

KEYWORDS = {
    "incl": r"ttc|t\.t\.c|net a payer|montant du|a payer|total du",
    "excl": r"\bht\b|h\.t|hors tax|sous-total",
    "vat": r"tva|t\.v\.a",
    "total": r"total|montant|\bnet\b|somme",
    "number": r"factur|n°|\bno\b|numero|\bref|\bnum\b",
    "date": r"date|\ble\b|emis|factur",
    "due": r"echeance|regler|paiement|avant",
    "service": r"intervention|soins|realise|prestation",
    "customer": r"client|facture a|patient|destinataire",
    "other_id": r"siret|siren|rcs|iban|bic|tel|immatric|commande|dossier|\bcode\b",
    "unit": r"prix|p\.u|unitaire|tarif|qte|quantite|\bnb\b",
    "title": r"facture|note|honoraires",
    "company": (
        r"garage|sarl|\bsas\b|cabinet|clinique|centre|\bdr\b|auto|carrosserie|services|pare-brise|vitrage"
    ),
    "person": r"^(m\.|mme|mr|monsieur|madame)\s",
}
_PATTERNS = {name: re.compile(pattern) for name, pattern in KEYWORDS.items()}
CONTEXTS = ("label", "row", "above")
FEATURE_NAMES = (
    *(f"field={name}" for name in SCORED_FIELDS),
    *(f"{context}_{name}" for context in CONTEXTS for name in KEYWORDS),
    "page",
    "height",
    "upper_share",
    "label_gap",
    "above_gap",
    "rank",
    "is_extreme",
    "occurrences",
    "is_sum",
    "is_addend",
    "is_rate_of",
    "has_rate_of",
    "currency",
    "length",
    "digit_share",
    "has_letter",
    "has_separator",
    "count",
    "street",
    "first",
)


@dataclass
class Candidate:
    """One possible value of one field, where it was found, and its features."""

    field: str
    value: Any
    line: Line
    start: int
    end: int
    features: dict[str, float] = dataclasses.field(default_factory=dict)
    key: str = ""

    def vector(self) -> list[float]:
        """The features in :data:`FEATURE_NAMES` order (the field one-hot encoded)."""
        values = {**self.features, f"field={self.field}": 1.0}
        return [float(values.get(name, 0.0)) for name in FEATURE_NAMES]


@dataclass(frozen=True)
class Location:
    """A postal address: street (when found), postcode and city."""

    street: str | None
    postcode: str
    city: str


class Layout:
    """The lines of a document indexed by page and row, to look left of and above a value."""

    def __init__(self, document: DocumentText) -> None:
        self.lines = document.lines()
        self.rows: dict[tuple[int, int], list[Line]] = defaultdict(list)
        heights: dict[int, list[float]] = defaultdict(list)
        for line in self.lines:
            self.rows[(line.page, line.row)].append(line)
            heights[line.page].extend(w.y1 - w.y0 for w in line.words)
        self.median_height = {page: median(values) for page, values in heights.items()}

    def left_of(self, line: Line, start: int) -> tuple[str, str, float]:
        """The label nearest the value on its left, all the row's text on its left, and the gap.

        The nearest label is the end of the value's own line before it when that has letters,
        else the closest line to its left on the same row when it reads as a label (words, not
        another value); else there is none on the left (the caller then looks above).
        """
        near = _LEADER.sub(" ", line.text[:start])
        x = line.span_box(start, start + 1).x0
        others = sorted(
            (o for o in self.rows[(line.page, line.row)] if o.x1 <= x and o is not line), key=lambda o: o.x1
        )
        row_text = " ".join([*(o.text for o in others), near])
        if any(c.isalpha() for c in near):
            return near[-30:], row_text, 0.0
        if others and _is_label(others[-1].text):
            return others[-1].text[-30:], row_text, x - others[-1].x1
        return "", row_text, 1.0

    def above(self, line: Line, start: int, end: int, reach: int = 3) -> tuple[str, float]:
        """The text right above the value (within ``reach`` rows, overlapping it), and the gap.

        Scraps (fewer than three letters or digits, such as what is left of a table border on
        a scan) are looked through.
        """
        box = line.span_box(start, end)
        for row in range(line.row - 1, max(-1, line.row - 1 - reach), -1):
            for other in self.rows.get((line.page, row), []):
                if sum(c.isalnum() for c in other.text) < 3:
                    continue
                if other.x0 <= box.x1 + 0.02 and other.x1 >= box.x0 - 0.02:
                    return other.text, box.y0 - other.y1
        return "", 1.0

    def rows_above(self, line: Line, count: int) -> str:
        """The text of the ``count`` rows above ``line`` that overlap it horizontally."""
        texts: list[str] = []
        for row in range(line.row - 1, max(-1, line.row - 1 - count), -1):
            texts.extend(
                o.text for o in self.rows.get((line.page, row), []) if o.x0 <= line.x1 and o.x1 >= line.x0
            )
        return " ".join(texts)


_LEADER = re.compile(r"[.\s_…]{3,}")
"""A dotted leader between a label and its value (``TOTAL ........ 12,00``)."""


def _is_label(text: str) -> bool:
    """Whether a piece of text reads as a label: three letters or more, and no date or amount."""
    return sum(c.isalpha() for c in text) >= 3 and not find_dates(text) and not find_amounts(text)


@lru_cache(maxsize=4096)
def _keyword_flags(text: str) -> tuple[float, ...]:
    folded = fold(text)
    return tuple(float(bool(pattern.search(folded))) for pattern in _PATTERNS.values())


def _keywords(prefix: str, text: str) -> dict[str, float]:
    return dict(zip((f"{prefix}_{name}" for name in _PATTERNS), _keyword_flags(text), strict=True))


def _context(layout: Layout, candidate: Candidate) -> None:
    label, row, gap = layout.left_of(candidate.line, candidate.start)
    above, above_gap = layout.above(candidate.line, candidate.start, candidate.end)
    if not label:
        label = above
    box = candidate.line.span_box(candidate.start, candidate.end)
    words = candidate.line.span_words(candidate.start, candidate.end)
    height = max((w.y1 - w.y0 for w in words), default=0.0)
    text = candidate.line.text[candidate.start : candidate.end]
    letters = [c for c in text if c.isalpha()]
    candidate.features.update(
        {
            **_keywords("label", label),
            **_keywords("row", row),
            **_keywords("above", above),
            "x0": box.x0,
            "y0": box.y0,
            "x1": box.x1,
            "page": float(candidate.line.page),
            "height": height / (layout.median_height.get(candidate.line.page) or 1.0),
            "upper_share": sum(c.isupper() for c in letters) / len(letters) if letters else 0.0,
            "label_gap": gap,
            "above_gap": above_gap,
        }
    )


def _amount_candidates(layout: Layout) -> list[Candidate]:
    found = []
    for line in layout.lines:
        for match in find_amounts(line.text):
            currency = (
                has_currency_after(line.text, match.end)
                or "€" in line.text[max(0, match.start - 2) : match.start]
            )
            for name in AMOUNT_FIELDS:
                candidate = Candidate(name, match.value, line, match.start, match.end, key=str(match.value))
                candidate.features["currency"] = float(currency)
                found.append(candidate)
    return found


def _relations(amounts: list[Candidate], rates: list[Decimal]) -> None:
    values = sorted({c.value for c in amounts if c.value > 0}, reverse=True)
    counts: dict[Decimal, int] = defaultdict(int)
    for c in amounts:
        counts[c.value] += 1
    value_set = set(values)
    for c in amounts:
        v = c.value
        others = [o for o in values if o != v]
        c.features["rank"] = values.index(v) / max(1, len(values) - 1) if v in value_set else 1.0
        c.features["is_extreme"] = float(bool(values) and v == values[0])
        c.features["occurrences"] = float(counts[v]) / 3.0
        c.features["count"] = min(len(values), 30) / 30.0
        c.features["is_sum"] = float(any(v - a in value_set and v - a != a for a in others if a < v))
        c.features["is_addend"] = float(any(v + a in value_set for a in others))
        c.features["is_rate_of"] = float(
            any(abs(base * r / 100 - v) <= Decimal("0.011") for base in others for r in rates if r > 0)
        )
        c.features["has_rate_of"] = float(
            any(abs(v * r / 100 - o) <= Decimal("0.011") for o in others for r in rates if r > 0)
        )


def _date_candidates(layout: Layout) -> list[Candidate]:
    found = [
        Candidate("invoice.date", m.value, line, m.start, m.end, key=m.value.isoformat())
        for line in layout.lines
        for m in find_dates(line.text)
    ]
    days = {c.value for c in found}
    for c in found:
        c.features["count"] = len(days) / 5.0
    return found


def _rate_candidates(layout: Layout) -> list[Candidate]:
    return [
        Candidate("invoice.vat_rate", m.value, line, m.start, m.end, key=str(m.value))
        for line in layout.lines
        for m in find_percents(line.text)
    ]


def _reference_candidates(layout: Layout, excluded: set[tuple[int, int, int]]) -> list[Candidate]:
    found = []
    for line in layout.lines:
        for m in find_references(line.text):
            if any(key[0] == id(line) and key[1] < m.end and m.start < key[2] for key in excluded):
                continue
            token = m.value
            c = Candidate("invoice.number", token, line, m.start, m.end, key=token.upper())
            c.features.update(
                {
                    "length": len(token) / 20.0,
                    "digit_share": sum(ch.isdigit() for ch in token) / len(token),
                    "has_letter": float(any(ch.isalpha() for ch in token)),
                    "has_separator": float(any(ch in "-/_." for ch in token)),
                }
            )
            found.append(c)
    return found


def _segments(text: str) -> list[tuple[int, int]]:
    """Pieces of a line separated by `` - ``, `` | `` or ``,`` (start, end)."""
    pieces = []
    start = 0
    for m in re.finditer(r"\s[-|–]\s|,\s", text):
        pieces.append((start, m.start()))
        start = m.end()
    pieces.append((start, len(text)))
    return [(a, b) for a, b in pieces if text[a:b].strip()]


def _name_candidates(layout: Layout) -> list[Candidate]:
    found = []
    first_rows = sorted({line.row for line in layout.lines if line.page == 1})[:1]
    for line in layout.lines:
        if line.page != 1:
            continue
        for start, end in _segments(line.text)[:1]:
            text = line.text[start:end].strip()
            if len(text) < 3 or len(text) > 60 or sum(c.isdigit() for c in text) > 2 or ":" in text:
                continue
            c = Candidate(
                "address.name", text, line, start, start + len(text), key=fold(" ".join(text.split()))
            )
            below = " ".join(
                o.text for row in (line.row + 1, line.row + 2) for o in layout.rows.get((line.page, row), [])
            )
            c.features.update(
                {
                    "length": len(text) / 60.0,
                    "street": float(bool(find_streets(below) or find_streets(line.text[end:]))),
                    "first": float(line.row in first_rows),
                    **_keywords("label", text),
                }
            )
            found.append(c)
    return found


def _location_candidates(layout: Layout) -> list[Candidate]:
    found = []
    seen = 0
    for line in layout.lines:
        for m in find_postcode_cities(line.text):
            postcode, city = m.value
            streets = find_streets(line.text[: m.start])
            street_line, start = line, m.start
            if streets:
                street: str | None = streets[-1].value
                start = streets[-1].start
            else:
                street = None
                for row in (line.row - 1, line.row - 2):
                    for other in layout.rows.get((line.page, row), []):
                        if other.x0 <= line.x1 and other.x1 >= line.x0:
                            above = find_streets(other.text)
                            if above and street is None:
                                street, street_line = above[-1].value, other
            location = Location(street=street, postcode=postcode, city=city)
            c = Candidate("address.location", location, line, start, m.end, key=_location_key(location))
            c.features.update(
                {
                    **_keywords("above", layout.rows_above(street_line, 4)),
                    "street": float(street is not None),
                    "first": float(seen == 0),
                    "rank": min(seen, 5) / 5.0,
                }
            )
            seen += 1
            found.append(c)
    return found


def _location_key(location: Location) -> str:
    return fold(f"{location.street or ''}|{location.postcode}|{location.city}")


def candidates(document: DocumentText) -> list[Candidate]:
    """Every candidate of every scored field in ``document``, with its features."""
    layout = Layout(document)
    amounts = _amount_candidates(layout)
    dates = _date_candidates(layout)
    rates = _rate_candidates(layout)
    _relations(amounts, sorted({c.value for c in rates}))
    taken = {(id(c.line), c.start, c.end) for c in amounts + dates + rates}
    references = _reference_candidates(layout, taken)
    names = _name_candidates(layout)
    locations = _location_candidates(layout)
    everything = amounts + dates + rates + references + names + locations
    for candidate in everything:
        extra = dict(candidate.features)
        _context(layout, candidate)
        candidate.features.update(extra)
    return everything


def truth_key(field_name: str, truth: dict[str, str | None]) -> str | None:
    """The key a candidate of ``field_name`` must have to be the truth (``None`` if no value)."""
    if field_name == "address.location":
        return _location_key(
            Location(
                street=truth.get("address.street"),
                postcode=str(truth.get("address.postcode")),
                city=str(truth.get("address.city")),
            )
        )
    value = truth.get(field_name)
    if value is None:
        return None
    if field_name in AMOUNT_FIELDS:
        return str(Decimal(value))
    if field_name == "invoice.vat_rate":
        return str(percent(value))
    if field_name == "invoice.date":
        return dt.date.fromisoformat(value).isoformat()
    if field_name == "invoice.number":
        return value.upper()
    return fold(" ".join(value.split()))

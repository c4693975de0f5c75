"""Field-level precision, recall and F1 of extractions against ground truth.

Per field and document: a predicted value equal to the truth is a true positive; a value
that differs is a false positive (and a false negative when the truth had a value); no value
where the truth has one is a false negative. Values are compared after normalisation:
amounts and rates as numbers, dates as ISO dates, text case- and accent-insensitively with
spaces collapsed (``AMIENS`` is ``Amiens``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from usine.domain.claims_parsing import fold

EVALUATED_FIELDS = (
    "invoice.number",
    "invoice.date",
    "invoice.currency",
    "invoice.total_excl_tax",
    "invoice.vat_amount",
    "invoice.vat_rate",
    "invoice.total_incl_tax",
    "address.name",
    "address.siret",
    "address.siren",
    "address.vat_number",
    "address.street",
    "address.postcode",
    "address.city",
    "address.country",
    "bank_details.iban",
    "bank_details.bic",
    "bank_details.holder",
)
NUMERIC = ("invoice.total_excl_tax", "invoice.vat_amount", "invoice.vat_rate", "invoice.total_incl_tax")


def comparable_number(value: Any) -> str:
    """An amount, quantity or rate as compared: ``90``, ``90.0`` and ``90.00`` are one value."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{number:.4f}"


def comparable_text(value: Any) -> str:
    """Text as compared: case, accents and runs of spaces aside (``AMIENS`` is ``Amiens``)."""
    return " ".join(fold(str(value)).split())


def comparable(name: str, value: Any) -> str | None:
    """The normalised form two values of field ``name`` are compared in."""
    if value is None:
        return None
    if name in NUMERIC:
        return comparable_number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return comparable_text(value)


@dataclass
class Counts:
    """True positives, false positives and false negatives of one field."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        """Accumulate ``other`` into these counts."""
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def score(self, got: str | None, want: str | None) -> None:
        """Count one predicted value against the true one, both normalised (``None``: no value)."""
        if got is not None and got == want:
            self.tp += 1
            return
        if got is not None:
            self.fp += 1
        if want is not None:
            self.fn += 1

    @property
    def precision(self) -> float:
        """Share of predicted values that are right."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of true values that were found."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def named(self, name: str) -> dict[str, float]:
        """``<name>_f1``, ``<name>_precision`` and ``<name>_recall``, for MLflow."""
        return {f"{name}_f1": self.f1, f"{name}_precision": self.precision, f"{name}_recall": self.recall}


@dataclass
class FieldScores:
    """Counts per field, and over every field."""

    fields: dict[str, Counts] = field(default_factory=lambda: {name: Counts() for name in EVALUATED_FIELDS})
    documents: int = 0

    def add(self, predicted: Mapping[str, Any], truth: Mapping[str, Any]) -> None:
        """Score one document's predicted values against its truth."""
        self.documents += 1
        for name in EVALUATED_FIELDS:
            self.fields[name].score(comparable(name, predicted.get(name)), comparable(name, truth.get(name)))

    @property
    def overall(self) -> Counts:
        """Counts summed over every field (micro average)."""
        total = Counts()
        for counts in self.fields.values():
            total.add(counts)
        return total

    def metrics(self, prefix: str) -> dict[str, float]:
        """Flat metrics for MLflow: ``<prefix>_f1``, ``<prefix>_<field>_f1``..."""
        result = {**self.overall.named(prefix), f"{prefix}_documents": float(self.documents)}
        for name, counts in self.fields.items():
            result[f"{prefix}_{name.replace('.', '_')}_f1"] = counts.f1
        return result


def score_all(pairs: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> FieldScores:
    """Field scores of (predicted, truth) pairs."""
    scores = FieldScores()
    for predicted, truth in pairs:
        scores.add(predicted, truth)
    return scores

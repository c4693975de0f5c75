"""Was the extraction used as is? Field-level acceptance from the claims handlers' saved corrections.

Every saved claim stores, per field, the value the extractor proposed beside the value the
handler saved (:class:`usine.domain.claims_api.FieldCorrection`). Over a window of saved
claims this gives, at no cost to the handler, the live measure of the claims model:

- *accepted*: a value was proposed and saved unchanged;
- *corrected*: a value was proposed and the handler saved another one;
- *emptied*: a value was proposed and the handler removed it (a false positive);
- *filled*: nothing was proposed and the handler typed a value (a miss).

The acceptance rate of a field is accepted / proposed. Acceptance by confidence band says
whether the confidences mean what they claim (a band of 0.9–1.0 should be accepted about
nine times in ten or more); it is the claims model's reliability diagram.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

CONFIDENCE_BANDS = 10
_INDEX = re.compile(r"\.\d+(?=\.|$)")


def field_group(path: str) -> str:
    """The field a correction counts for: line-item indexes folded, ``…line_items.*.amount``."""
    return _INDEX.sub(".*", path)


class FieldAcceptance(BaseModel):
    """How the handlers treated one field's proposals in the window."""

    field: str
    proposed: int = Field(description="Values the extractor proposed.")
    accepted: int = Field(description="Proposed values saved unchanged.")
    corrected: int = Field(description="Proposed values the handler replaced.")
    emptied: int = Field(description="Proposed values the handler removed (false positives).")
    filled: int = Field(description="Values the handler typed where nothing was proposed (misses).")
    acceptance_rate: float | None = Field(description="accepted / proposed; null when nothing was proposed.")


class ConfidenceBand(BaseModel):
    """Proposals whose confidence fell in ``[low, high)`` (the last band includes 1)."""

    low: float
    high: float
    proposed: int
    accepted: int
    acceptance_rate: float | None


class ClaimsAcceptanceReport(BaseModel):
    """Field-level acceptance of the extraction over saved claims of a time window."""

    since: dt.datetime
    until: dt.datetime
    claims: int = Field(description="Claims saved in the window.")
    fields_reviewed: int = Field(description="Field values proposed or saved, over all claims.")
    used_as_is: float | None = Field(
        description="Share of reviewed field values saved exactly as extracted (null: none reviewed)."
    )
    acceptance_rate: float | None = Field(description="Accepted / proposed over every field.")
    fields: list[FieldAcceptance] = Field(description="Least accepted first; fields never proposed last.")
    confidence: list[ConfidenceBand] = Field(description="Acceptance by confidence band, low to high.")


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class _Counts:
    proposed: int = 0
    accepted: int = 0
    corrected: int = 0
    emptied: int = 0
    filled: int = 0


@dataclass
class AcceptanceTally:
    """Counts corrections as they stream from the database; memory grows with fields, not claims."""

    by_field: dict[str, _Counts] = field(default_factory=lambda: defaultdict(_Counts))
    band_proposed: list[int] = field(default_factory=lambda: [0] * CONFIDENCE_BANDS)
    band_accepted: list[int] = field(default_factory=lambda: [0] * CONFIDENCE_BANDS)

    def add(self, path: str, extracted: str | None, saved: str | None, confidence: float | None) -> None:
        """Count one stored correction (a field of a saved claim beside its proposal)."""
        counts = self.by_field[field_group(path)]
        if extracted is None:
            counts.filled += saved is not None
            return
        counts.proposed += 1
        accepted = saved == extracted
        counts.accepted += accepted
        counts.emptied += saved is None
        counts.corrected += saved is not None and not accepted
        if confidence is not None:
            band = min(int(confidence * CONFIDENCE_BANDS), CONFIDENCE_BANDS - 1)
            self.band_proposed[band] += 1
            self.band_accepted[band] += accepted

    def report(self, since: dt.datetime, until: dt.datetime, claims: int) -> ClaimsAcceptanceReport:
        """The window's report from what was counted."""
        fields = [
            FieldAcceptance(
                field=name,
                proposed=c.proposed,
                accepted=c.accepted,
                corrected=c.corrected,
                emptied=c.emptied,
                filled=c.filled,
                acceptance_rate=_rate(c.accepted, c.proposed),
            )
            for name, c in self.by_field.items()
        ]
        fields.sort(key=lambda f: (f.acceptance_rate is None, f.acceptance_rate or 0.0, f.field))
        proposed = sum(f.proposed for f in fields)
        accepted = sum(f.accepted for f in fields)
        reviewed = proposed + sum(f.filled for f in fields)
        return ClaimsAcceptanceReport(
            since=since,
            until=until,
            claims=claims,
            fields_reviewed=reviewed,
            used_as_is=_rate(accepted, reviewed),
            acceptance_rate=_rate(accepted, proposed),
            fields=fields,
            confidence=[
                ConfidenceBand(
                    low=band / CONFIDENCE_BANDS,
                    high=(band + 1) / CONFIDENCE_BANDS,
                    proposed=self.band_proposed[band],
                    accepted=self.band_accepted[band],
                    acceptance_rate=_rate(self.band_accepted[band], self.band_proposed[band]),
                )
                for band in range(CONFIDENCE_BANDS)
            ],
        )

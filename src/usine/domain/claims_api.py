"""Claim data as a handler saves it, and what it says about the extraction it came from.

The extractor proposes values (:mod:`usine.domain.claims`); the claims handler validates or
corrects them and saves plain values (:class:`ClaimValues`). Comparing the two, field by field
(:func:`compare`), is the zero-effort measure of whether the AI's output was used as is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from usine.domain.claims import Extracted, FileExtraction

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=256)]
MAX_AMOUNT = Decimal("1e12")


def _to_micro_units(value: Decimal) -> Decimal:
    """An amount kept to six decimal places (finer digits are rounded half to even)."""
    return value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)


# An amount, a quantity or a rate: a JSON number or a decimal string, at most 12 digits before
# the point; the schema says so, so that every schema-valid value is accepted.
Amount = Annotated[
    Decimal,
    Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT),
    AfterValidator(_to_micro_units),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": -float(MAX_AMOUNT), "maximum": float(MAX_AMOUNT)},
                {"type": "string", "pattern": r"^[+-]?\d{1,12}(\.\d+)?$"},
            ],
            "description": "At most 12 digits before the decimal point; kept to 6 after it.",
        }
    ),
]
EXTRACTION_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class _Values(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineItemValues(_Values):
    """One invoice line as saved."""

    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1024)] | None = None
    quantity: Amount | None = None
    unit_price: Amount | None = None
    amount: Amount | None = None


class InvoiceValues(_Values):
    """The invoice as saved."""

    number: Text | None = None
    date: dt.date | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    total_excl_tax: Amount | None = None
    vat_amount: Amount | None = None
    vat_rate: Amount | None = None
    total_incl_tax: Amount | None = None
    line_items: list[LineItemValues] = Field(default_factory=list, max_length=500)


class AddressValues(_Values):
    """The supplier as saved."""

    name: Text | None = None
    siret: Text | None = None
    siren: Text | None = None
    vat_number: Text | None = None
    street: Text | None = None
    postcode: Text | None = None
    city: Text | None = None
    country: Text | None = None


class BankDetailsValues(_Values):
    """The bank details as saved."""

    iban: Text | None = None
    bic: Text | None = None
    holder: Text | None = None


class ClaimValues(_Values):
    """The claim data a handler validated: plain values, no confidences."""

    invoice: InvoiceValues = Field(default_factory=InvoiceValues)
    address: AddressValues = Field(default_factory=AddressValues)
    bank_details: BankDetailsValues = Field(default_factory=BankDetailsValues)


class ClaimIn(ClaimValues):
    """Body of ``save_extract``: the validated values and the extractions they came from.

    Saving again with the same extraction ids replaces the claim saved from them.
    """

    extraction_ids: list[Annotated[str, Field(pattern=EXTRACTION_ID)]] = Field(
        min_length=1,
        max_length=100,
        description="Ids returned by claim_files_extraction, each named once.",
        json_schema_extra={"uniqueItems": True},
    )

    @field_validator("extraction_ids")
    @classmethod
    def _distinct(cls, ids: list[str]) -> list[str]:
        if len(set(ids)) != len(ids):
            raise ValueError("an extraction id is named twice")
        return ids


@dataclass(frozen=True)
class ContractRef:
    """Where claim data belongs: entity (uom code), customer and contract."""

    uom_code: str
    customer_id: str
    contract_id: str


@dataclass(frozen=True)
class StoredExtraction:
    """One uploaded file's extraction as recorded."""

    id: str
    contract: ContractRef
    file_key: str
    file_name: str
    media_type: str
    pages: int
    extractor_version: str
    result: FileExtraction
    created_at: dt.datetime


@dataclass(frozen=True)
class FieldCorrection:
    """One field of a saved claim beside the value the extractor proposed for it."""

    field: str
    extraction_id: str | None
    extracted: str | None
    saved: str | None
    confidence: float | None

    @property
    def changed(self) -> bool:
        """Whether the handler saved something other than what was extracted."""
        return self.extracted != self.saved


@dataclass(frozen=True)
class SavedClaim:
    """A claim as saved, with its field-by-field comparison to the extraction."""

    id: str
    contract: ContractRef
    saved_at: dt.datetime
    extraction_ids: list[str]
    values: ClaimValues
    corrections: list[FieldCorrection]


class CorrectionOut(BaseModel):
    """One field whose saved value differs from the extracted one."""

    field: str = Field(
        description="Path of the field, e.g. invoice.total_incl_tax or invoice.line_items.0.amount."
    )
    extraction_id: str | None = Field(
        description="Extraction whose value was proposed (None: nothing found)."
    )
    extracted: str | None
    saved: str | None
    confidence: float | None


class CorrectionsSummary(BaseModel):
    """How much of the extraction was used as is."""

    fields: int = Field(description="Fields with a value, extracted or saved.")
    changed: int = Field(description="Of those, fields the handler changed, filled in or emptied.")
    used_as_is: float | None = Field(description="Share of fields saved as extracted (None: no field).")
    changes: list[CorrectionOut]


class ClaimOut(BaseModel):
    """A saved claim."""

    id: str
    uom_code: str
    customer_id: str
    contract_id: str
    saved_at: dt.datetime
    extraction_ids: list[str]
    values: ClaimValues
    corrections: CorrectionsSummary


class ExtractedFileOut(BaseModel):
    """One file read: the id to save it with, and what was extracted."""

    index: int = Field(description="Position of the file in the upload (0-based).")
    file: str
    extraction_id: str
    extraction: FileExtraction


class FileProblemOut(BaseModel):
    """One file that could not be read, as a problem document naming it."""

    index: int
    file: str
    type: str
    title: str
    status: int
    detail: str


class ClaimFilesOut(BaseModel):
    """The answer to claim_files_extraction: each file extracted or refused."""

    uom_code: str
    customer_id: str
    contract_id: str
    extractor_version: str
    extractions: list[ExtractedFileOut]
    problems: list[FileProblemOut]


class ErasureOut(BaseModel):
    """What an erasure removed."""

    claims: int
    extractions: int
    files: int = Field(description="Raw files removed from the object store.")


def canonical(value: object) -> str | None:
    """The text a value is compared and stored as.

    Amounts lose trailing zeros, dates are ISO 8601, text is stripped and empty text is no value.
    """
    if value is None:
        return None
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "0") else text
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip() or None


def extracted_fields(extraction: FileExtraction) -> dict[str, Extracted[Any]]:
    """Every extracted field of a file, by path (``invoice.line_items.0.amount``)."""
    fields: dict[str, Extracted[Any]] = {}
    for name in ("invoice", "address", "bank_details"):
        _walk(name, getattr(extraction, name), lambda path, leaf: fields.__setitem__(path, leaf))
    return fields


def saved_fields(values: ClaimValues) -> dict[str, str | None]:
    """Every saved value, by the same paths as :func:`extracted_fields`, in canonical text."""
    fields: dict[str, str | None] = {}
    for name in ("invoice", "address", "bank_details"):
        _walk(name, getattr(values, name), lambda path, leaf: fields.__setitem__(path, canonical(leaf)))
    return fields


def _walk(prefix: str, node: Any, visit: Any) -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            _walk(f"{prefix}.{index}", item, visit)
    elif isinstance(node, BaseModel) and not isinstance(node, Extracted):
        for name in type(node).model_fields:
            _walk(f"{prefix}.{name}", getattr(node, name), visit)
    else:
        visit(prefix, node)


def compare(extractions: dict[str, FileExtraction], values: ClaimValues) -> list[FieldCorrection]:
    """Each field with a value, extracted or saved, beside its counterpart.

    When several files propose a value for the same field, the most confident one (the first
    on a tie) is the proposal, as the review page shows it. Fields empty on both sides are
    left out: they say nothing about the extraction.

    Args:
        extractions: the extractions the claim came from, by id, in the order they were named.
        values: what the handler saved.

    """
    proposals: dict[str, tuple[str, Extracted[Any]]] = {}
    for extraction_id, extraction in extractions.items():
        for path, field in extracted_fields(extraction).items():
            best = proposals.get(path)
            if field.value is not None and (best is None or field.confidence > best[1].confidence):
                proposals[path] = (extraction_id, field)
    saved = saved_fields(values)
    corrections = []
    in_order = [*saved, *(path for path in proposals if path not in saved)]
    for path in (path for path in in_order if path in proposals or saved.get(path) is not None):
        proposal = proposals.get(path)
        corrections.append(
            FieldCorrection(
                field=path,
                extraction_id=proposal[0] if proposal else None,
                extracted=canonical(proposal[1].value) if proposal else None,
                saved=saved.get(path),
                confidence=proposal[1].confidence if proposal else None,
            )
        )
    return corrections


def summarise(corrections: list[FieldCorrection]) -> CorrectionsSummary:
    """How many fields were saved as extracted, and which were not."""
    changes = [c for c in corrections if c.changed]
    return CorrectionsSummary(
        fields=len(corrections),
        changed=len(changes),
        used_as_is=(len(corrections) - len(changes)) / len(corrections) if corrections else None,
        changes=[
            CorrectionOut(
                field=c.field,
                extraction_id=c.extraction_id,
                extracted=c.extracted,
                saved=c.saved,
                confidence=c.confidence,
            )
            for c in changes
        ],
    )

"""What claim-file extraction returns: the contract shared by the extractor, the API and the UI.

A claims handler uploads the files attached to an insurance claim (invoices and bills, text
PDFs, scans or photos). For each file the extractor returns a :class:`FileExtraction`: its
:class:`Status`, an :class:`Invoice`, the supplier's :class:`Address` and its
:class:`BankDetails`. Every field is an :class:`Extracted` value that carries its confidence,
the page where it was found and the checks it failed, so that a person (or a threshold) can
decide what to trust.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class BoundingBox(BaseModel):
    """Where a value sits on its page, as fractions of the page's width and height (0–1)."""

    x0: float = Field(ge=0.0, le=1.0)
    y0: float = Field(ge=0.0, le=1.0, description="Top edge, measured from the top of the page.")
    x1: float = Field(ge=0.0, le=1.0)
    y1: float = Field(ge=0.0, le=1.0)


class Extracted(BaseModel, Generic[T]):
    """One extracted field: its value (``None`` when not found) and how far to trust it."""

    value: T | None = None
    confidence: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Probability that the value is right; lowered by every failed check.",
    )
    page: int | None = Field(default=None, ge=1, description="1-based page where it was found.")
    bbox: BoundingBox | None = None
    failed_checks: list[str] = Field(
        default_factory=list,
        description="Checks the value failed, e.g. 'iban_checksum', 'totals_do_not_add_up'. "
        "A failed check is reported, never silently fixed.",
    )


class LineItem(BaseModel):
    """One line of an invoice, when the document has a table of lines."""

    description: Extracted[str] = Field(default_factory=Extracted[str])
    quantity: Extracted[Decimal] = Field(default_factory=Extracted[Decimal])
    unit_price: Extracted[Decimal] = Field(default_factory=Extracted[Decimal])
    amount: Extracted[Decimal] = Field(default_factory=Extracted[Decimal])


class Invoice(BaseModel):
    """The invoice or bill itself."""

    number: Extracted[str] = Field(default_factory=Extracted[str])
    date: Extracted[dt.date] = Field(default_factory=Extracted[dt.date])
    currency: Extracted[str] = Field(default_factory=Extracted[str], description="ISO 4217 code, e.g. EUR.")
    total_excl_tax: Extracted[Decimal] = Field(default_factory=Extracted[Decimal])
    vat_amount: Extracted[Decimal] = Field(default_factory=Extracted[Decimal])
    vat_rate: Extracted[Decimal] = Field(
        default_factory=Extracted[Decimal], description="Percent, e.g. 20.0."
    )
    total_incl_tax: Extracted[Decimal] = Field(default_factory=Extracted[Decimal])
    line_items: list[LineItem] = Field(default_factory=list)


class Address(BaseModel):
    """The supplier who issued the document: name, company numbers and postal address."""

    name: Extracted[str] = Field(default_factory=Extracted[str])
    siret: Extracted[str] = Field(default_factory=Extracted[str], description="14 digits.")
    siren: Extracted[str] = Field(default_factory=Extracted[str], description="9 digits.")
    vat_number: Extracted[str] = Field(
        default_factory=Extracted[str], description="Intra-EU VAT number, e.g. FR40303265045."
    )
    street: Extracted[str] = Field(default_factory=Extracted[str])
    postcode: Extracted[str] = Field(default_factory=Extracted[str])
    city: Extracted[str] = Field(default_factory=Extracted[str])
    country: Extracted[str] = Field(
        default_factory=Extracted[str], description="ISO 3166-1 alpha-2 code, e.g. FR."
    )


class BankDetails(BaseModel):
    """Where the supplier asks to be paid."""

    iban: Extracted[str] = Field(default_factory=Extracted[str], description="Compact, no spaces.")
    bic: Extracted[str] = Field(default_factory=Extracted[str])
    holder: Extracted[str] = Field(default_factory=Extracted[str])


class ExtractionState(StrEnum):
    """How far the extraction of one file went."""

    DONE = "done"
    PARTIAL = "partial"
    FAILED = "failed"


class TextSource(StrEnum):
    """Where the words of a document came from."""

    TEXT_LAYER = "text_layer"
    OCR = "ocr"


class Status(BaseModel):
    """State of one file's extraction, with the reasons when it is not ``done``."""

    state: ExtractionState
    reasons: list[str] = Field(default_factory=list)


class FileExtraction(BaseModel):
    """Everything extracted from one file."""

    file_name: str = Field(description="The client's file name, for display only.")
    file_key: str = Field(description="Content-addressed key of the stored raw file (sha256 of its bytes).")
    media_type: str
    pages: int = Field(ge=0)
    text_source: TextSource | None = None
    status: Status
    invoice: Invoice = Field(default_factory=Invoice)
    address: Address = Field(default_factory=Address)
    bank_details: BankDetails = Field(default_factory=BankDetails)

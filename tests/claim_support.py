"""Claim data for the tests: real PDFs made with reportlab, extractions as the engine returns them."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from usine.claims_corpus import TRAINING_LAYOUTS, Document, generate_documents
from usine.domain.claims import (
    Address,
    BankDetails,
    BoundingBox,
    Extracted,
    ExtractionState,
    FileExtraction,
    Invoice,
    Status,
    TextSource,
)
from usine.domain.claims_api import ContractRef, StoredExtraction
from usine.services.claims import ClaimsService

CONTRACT = ContractRef(uom_code="FR01", customer_id="C-1001", contract_id="K-42")
BASE = "/1.0.0/entities/FR01/customers/C-1001/contracts/K-42"


def invoice_pdf(number: str = "F-2026-001", pages: int = 1) -> bytes:
    """A small text PDF invoice."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    for index in range(pages):
        page.drawString(72, 760, f"Garage du Centre - Facture {number} - page {index + 1}")
        page.drawString(72, 700, "Total TTC : 1 234,56 EUR")
        page.showPage()
    page.save()
    return buffer.getvalue()


def extraction(file_key: str, number: str = "F-2026-001", confidence: float = 0.95) -> FileExtraction:
    """What the engine returns for an invoice: a few fields with confidences and boxes."""
    box = BoundingBox(x0=0.1, y0=0.1, x1=0.4, y1=0.13)
    return FileExtraction(
        file_name="facture.pdf",
        file_key=file_key,
        media_type="application/pdf",
        pages=1,
        text_source=TextSource.TEXT_LAYER,
        status=Status(state=ExtractionState.DONE),
        invoice=Invoice(
            number=Extracted[str](value=number, confidence=confidence, page=1, bbox=box),
            currency=Extracted[str](value="EUR", confidence=0.99, page=1),
            total_incl_tax=Extracted[Decimal](value=Decimal("1234.56"), confidence=0.9, page=1, bbox=box),
        ),
        address=Address(city=Extracted[str](value="Lyon", confidence=0.4, page=1)),
        bank_details=BankDetails(
            iban=Extracted[str](
                value="FR7630006000011234567890188", confidence=0.2, page=1, failed_checks=["iban_checksum"]
            )
        ),
    )


def record_extraction(
    service: ClaimsService,
    contract: ContractRef = CONTRACT,
    content: bytes | None = None,
    number: str = "F-2026-001",
) -> StoredExtraction:
    """Store a real PDF and record its extraction, as the upload does once the engine has read it."""
    content = content if content is not None else invoice_pdf(number)
    key, _ = service.objects.put(content)
    stored = StoredExtraction(
        id=str(uuid.uuid4()),
        contract=contract,
        file_key=key,
        file_name="facture.pdf",
        media_type="application/pdf",
        pages=1,
        extractor_version="1",
        result=extraction(key, number),
        created_at=datetime.now(UTC),
    )
    service.store.add_extraction(stored)
    return stored


def saved_body(extraction_ids: list[str], **invoice: Any) -> dict[str, Any]:
    """A save_extract body: the extracted invoice values, with ``invoice`` overriding some."""
    return {
        "extraction_ids": extraction_ids,
        "invoice": {"number": "F-2026-001", "currency": "EUR", "total_incl_tax": "1234.56", **invoice},
        "address": {"city": "Lyon"},
        "bank_details": {"iban": "FR7630006000011234567890188"},
    }


def generated_invoice(seed: int = 7, flawed: bool = False) -> Document:
    """One generated French text-PDF invoice with its ground truth; ``flawed``: with an invalid
    IBAN and totals that do not add up."""
    return next(generate_documents(1, seed, TRAINING_LAYOUTS[:1], error_rate=1.0 if flawed else 0.0))


def encrypted_pdf() -> bytes:
    """A password-protected PDF."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, encrypt="secret")
    page.drawString(72, 760, "Facture confidentielle")
    page.showPage()
    page.save()
    return buffer.getvalue()


def corrupt_pdf() -> bytes:
    """A file that starts like a PDF and is not one."""
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\n" + bytes(range(256)) * 8

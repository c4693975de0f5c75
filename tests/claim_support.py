"""Claim data for the tests: real PDFs made with reportlab, extractions as the engine returns them."""

from __future__ import annotations

import io
import re
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


def pdf_of(objects: list[bytes]) -> bytes:
    """A hand-written PDF: ``objects`` numbered from 1 (the first is the catalog), a classic xref."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


POSTER = b"/MediaBox [0 0 14400 14400]"
"""A 5 m page: rendered at OCR resolution, far more pixels than any limit allows."""


def page_tree_bomb(pages: int, fan: int = 100) -> bytes:
    """A PDF of ``pages`` poster pages in about a kilobyte: every leaf of its page tree is the
    same page object."""
    return pdf_of(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d %s >>" % (b"3 0 R " * (pages // fan), pages, POSTER),
            b"<< /Type /Pages /Parent 2 0 R /Kids [%s] /Count %d >>" % (b"4 0 R " * fan, fan),
            b"<< /Type /Page /Parent 3 0 R >>",
        ]
    )


def many_pages_pdf(pages: int) -> bytes:
    """A PDF of ``pages`` distinct, empty poster pages."""
    kids = b" ".join(b"%d 0 R" % (number + 3) for number in range(pages))
    return pdf_of(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d %s >>" % (kids, pages, POSTER),
            *[b"<< /Type /Page /Parent 2 0 R >>"] * pages,
        ]
    )


def with_javascript(content: bytes, script: str) -> bytes:
    """``content`` (a PDF with a classic xref) with ``script`` run on opening (/OpenAction) and
    listed in the document's JavaScript names, added as an incremental update, as an editor would."""
    root = int(re.findall(rb"/Root (\d+) 0 R", content)[-1])
    size = int(re.findall(rb"/Size (\d+)", content)[-1])
    previous = int(re.findall(rb"startxref\s+(\d+)", content)[-1])
    found = re.search(rb"\n%d 0 obj\s*<<(.*?)>>\s*endobj" % root, content, re.S)
    assert found is not None, "no catalog"
    action, names = size, size + 1
    literal = script.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode()
    objects = {
        root: b"<<%s /OpenAction %d 0 R /Names << /JavaScript %d 0 R >> >>" % (found.group(1), action, names),
        action: b"<< /Type /Action /S /JavaScript /JS (%s) >>" % literal,
        names: b"<< /Names [(run) %d 0 R] >>" % action,
    }
    out = bytearray(content if content.endswith(b"\n") else content + b"\n")
    offsets = {}
    for number, body in objects.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n%d 1\n%010d 00000 n \n" % (root, offsets[root])
    out += b"%d 2\n%010d 00000 n \n%010d 00000 n \n" % (action, offsets[action], offsets[names])
    out += b"trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        names + 1,
        root,
        previous,
        xref,
    )
    return bytes(out)

"""From scored candidates and identifiers to a checked :class:`FileExtraction`.

For each scored field the best candidate wins when the model gives it at least
:data:`MIN_PROBABILITY`; its confidence is that probability, lowered on OCR'd pages by the
words' recognition confidence, then by every failed check. The status is ``done`` when the
essential fields are found and every check passes, ``partial`` otherwise (with the reasons),
and ``failed`` when nothing could be extracted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from usine.domain.claims import (
    Address,
    BankDetails,
    Extracted,
    ExtractionState,
    FileExtraction,
    Invoice,
    Status,
)
from usine.domain.claims_candidates import Candidate, Location
from usine.domain.claims_checks import check_bank_details, check_company_numbers, check_totals
from usine.domain.claims_identifiers import (
    Found,
    find_bic,
    find_holder,
    find_iban,
    find_siren,
    find_siret,
    find_vat_number,
)
from usine.domain.claims_items import find_line_items
from usine.domain.claims_text import DocumentText, Line, merged_rows

MIN_PROBABILITY = 0.2
LABELLED_CONFIDENCE = 0.97
UNLABELLED_CONFIDENCE = 0.75
ESSENTIAL = ("invoice.number", "invoice.date", "invoice.total_incl_tax", "address.name")


def _located(value: Any, line: Line, start: int, end: int, probability: float) -> Extracted[Any]:
    ocr = line.span_confidence(start, end)
    return Extracted(
        value=value,
        confidence=round(probability * (0.5 + 0.5 * ocr), 4),
        page=line.page,
        bbox=line.span_box(start, end),
    )


def _identifier(found: Found | None) -> Extracted[Any]:
    if found is None:
        return Extracted()
    base = LABELLED_CONFIDENCE if found.labelled else UNLABELLED_CONFIDENCE
    return _located(found.value, found.line, found.start, found.end, base)


def best_candidates(
    candidates: Sequence[Candidate], probabilities: Sequence[float]
) -> dict[str, tuple[Candidate, float]]:
    """The most probable candidate of each scored field, when probable enough."""
    best: dict[str, tuple[Candidate, float]] = {}
    for candidate, probability in zip(candidates, probabilities, strict=True):
        current = best.get(candidate.field)
        if probability >= MIN_PROBABILITY and (current is None or probability > current[1]):
            best[candidate.field] = (candidate, float(probability))
    return best


def assemble(
    document: DocumentText,
    candidates: Sequence[Candidate],
    probabilities: Sequence[float],
    file_name: str,
    file_key: str,
) -> FileExtraction:
    """The checked extraction of one document from its scored candidates."""
    lines = document.lines()
    chosen = {
        name: _located(c.value, c.line, c.start, c.end, p)
        for name, (c, p) in best_candidates(candidates, probabilities).items()
    }
    invoice = Invoice(
        number=chosen.get("invoice.number", Extracted()),
        date=chosen.get("invoice.date", Extracted()),
        currency=_currency(lines),
        total_excl_tax=chosen.get("invoice.total_excl_tax", Extracted()),
        vat_amount=chosen.get("invoice.vat_amount", Extracted()),
        vat_rate=chosen.get("invoice.vat_rate", Extracted()),
        total_incl_tax=chosen.get("invoice.total_incl_tax", Extracted()),
        line_items=find_line_items(lines),
    )
    rows = merged_rows(lines)
    address = _address(rows, chosen)
    bank = BankDetails(
        iban=_identifier(find_iban(rows)),
        bic=_identifier(find_bic(rows)),
        holder=_identifier(find_holder(rows)),
    )
    if address.country.value is None and bank.iban.value and address.postcode.value:
        address.country = Extracted(value=bank.iban.value[:2], confidence=0.8)
    check_totals(invoice)
    check_company_numbers(address)
    check_bank_details(bank)
    extraction = FileExtraction(
        file_name=file_name,
        file_key=file_key,
        media_type=document.media_type,
        pages=len(document.pages),
        text_source=document.source,
        status=Status(state=ExtractionState.DONE),
        invoice=invoice,
        address=address,
        bank_details=bank,
    )
    extraction.status = status_of(extraction)
    return extraction


def _currency(lines: list[Line]) -> Extracted[str]:
    for line in lines:
        for sign in ("€", "EUR"):
            index = line.text.find(sign)
            if index >= 0:
                return _located("EUR", line, index, index + len(sign), 0.95)
    return Extracted()


def _address(lines: list[Line], chosen: dict[str, Extracted[Any]]) -> Address:
    address = Address(
        name=chosen.get("address.name", Extracted()),
        siret=_identifier(find_siret(lines)),
        siren=_identifier(find_siren(lines)),
        vat_number=_identifier(find_vat_number(lines)),
    )
    if address.siren.value is None and address.siret.value is not None:
        address.siren = address.siret.model_copy(
            update={"value": address.siret.value[:9], "confidence": round(address.siret.confidence * 0.95, 4)}
        )
    location = chosen.get("address.location")
    if location is not None and isinstance(location.value, Location):
        place: Location = location.value
        common = {"confidence": location.confidence, "page": location.page, "bbox": location.bbox}
        address.street = Extracted(value=place.street, **common) if place.street else Extracted()
        address.postcode = Extracted(value=place.postcode, **common)
        address.city = Extracted(value=place.city, **common)
        if any("france" in line.text.lower() for line in lines) or (
            address.vat_number.value or ""
        ).startswith("FR"):
            address.country = Extracted(value="FR", confidence=round(location.confidence * 0.95, 4))
    return address


def status_of(extraction: FileExtraction) -> Status:
    """``done``, ``partial`` (essential fields missing or checks failed) or ``failed`` (nothing found)."""
    fields = flatten(extraction)
    if all(value.value is None for value in fields.values()):
        return Status(state=ExtractionState.FAILED, reasons=["no field could be extracted"])
    reasons = [f"missing {name}" for name in ESSENTIAL if fields[name].value is None]
    for name, value in fields.items():
        reasons.extend(f"{name}: {check}" for check in value.failed_checks)
    return Status(state=ExtractionState.PARTIAL if reasons else ExtractionState.DONE, reasons=reasons)


def flatten(extraction: FileExtraction) -> dict[str, Extracted[Any]]:
    """Every scalar field of an extraction by its dotted name (``invoice.number``...)."""
    fields: dict[str, Extracted[Any]] = {}
    for group_name, group in (
        ("invoice", extraction.invoice),
        ("address", extraction.address),
        ("bank_details", extraction.bank_details),
    ):
        for name in type(group).model_fields:
            value = getattr(group, name)
            if isinstance(value, Extracted):
                fields[f"{group_name}.{name}"] = value
    return fields

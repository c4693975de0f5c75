"""The field-by-field comparison of extracted and saved claim data."""

from decimal import Decimal

from usine.domain.claims import (
    BankDetails,
    Extracted,
    ExtractionState,
    FileExtraction,
    Invoice,
    LineItem,
    Status,
)
from usine.domain.claims_api import ClaimValues, canonical, compare, summarise


def extraction(**invoice: Extracted) -> FileExtraction:  # type: ignore[type-arg]
    return FileExtraction(
        file_name="facture.pdf",
        file_key="0" * 64,
        media_type="application/pdf",
        pages=1,
        status=Status(state=ExtractionState.DONE),
        invoice=Invoice(**invoice),
    )


def test_values_saved_as_extracted_are_unchanged_whatever_their_spelling() -> None:
    extracted = extraction(
        number=Extracted[str](value="F-2026-001", confidence=0.9, page=1),
        total_incl_tax=Extracted[Decimal](value=Decimal("120.50"), confidence=0.8, page=1),
    )
    saved = ClaimValues.model_validate({"invoice": {"number": " F-2026-001 ", "total_incl_tax": "120.5"}})
    corrections = compare({"e1": extracted}, saved)
    assert [(c.field, c.changed) for c in corrections] == [
        ("invoice.number", False),
        ("invoice.total_incl_tax", False),
    ]
    summary = summarise(corrections)
    assert (summary.fields, summary.changed, summary.used_as_is) == (2, 0, 1.0)


def test_corrected_filled_in_and_emptied_fields_count_as_changed() -> None:
    extracted = extraction(
        number=Extracted[str](value="F-1", confidence=0.4),
        vat_amount=Extracted[Decimal](value=Decimal("20"), confidence=0.9),
        line_items=[LineItem(amount=Extracted[Decimal](value=Decimal("100"), confidence=0.7))],
    )
    saved = ClaimValues.model_validate(
        {
            "invoice": {"number": "F-7", "currency": "EUR", "line_items": [{"amount": "100.00"}]},
        }
    )
    summary = summarise(compare({"e1": extracted}, saved))
    assert {c.field: (c.extracted, c.saved) for c in summary.changes} == {
        "invoice.number": ("F-1", "F-7"),
        "invoice.currency": (None, "EUR"),
        "invoice.vat_amount": ("20", None),
    }
    assert summary.fields == 4
    assert summary.used_as_is == 0.25


def test_the_most_confident_file_is_the_proposal_when_several_found_a_field() -> None:
    invoice = extraction(number=Extracted[str](value="A", confidence=0.3))
    rib = extraction(number=Extracted[str](value="B", confidence=0.6))
    rib.bank_details = BankDetails(iban=Extracted[str](value="FR7630006000011234567890189", confidence=0.9))
    [number, iban] = compare(
        {"inv": invoice, "rib": rib}, ClaimValues.model_validate({"invoice": {"number": "B"}})
    )
    assert (number.field, number.extraction_id, number.changed) == ("invoice.number", "rib", False)
    assert (iban.field, iban.extraction_id, iban.saved, iban.changed) == (
        "bank_details.iban",
        "rib",
        None,
        True,
    )


def test_canonical_text_of_amounts_dates_and_blanks() -> None:
    assert canonical(Decimal("1234.5600")) == "1234.56"
    assert canonical(Decimal("1E+2")) == "100"
    assert canonical(Decimal("-0.00")) == "0"
    assert canonical("   ") is None

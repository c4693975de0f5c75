"""Validation of extracted claim data: failed checks are reported and lower confidence."""

from decimal import Decimal

from usine.domain.claims import Address, BankDetails, Extracted, Invoice
from usine.domain.claims_checks import (
    FAILED_CHECK_FACTOR,
    check_bank_details,
    check_company_numbers,
    check_totals,
)


def sure(value: object) -> Extracted[object]:
    return Extracted(value=value, confidence=0.9)


def invoice(excl: str, vat: str, incl: str, rate: str) -> Invoice:
    return Invoice(
        total_excl_tax=sure(Decimal(excl)),  # type: ignore[arg-type]
        vat_amount=sure(Decimal(vat)),  # type: ignore[arg-type]
        total_incl_tax=sure(Decimal(incl)),  # type: ignore[arg-type]
        vat_rate=sure(Decimal(rate)),  # type: ignore[arg-type]
    )


def test_totals_that_add_up_pass() -> None:
    checked = invoice("100.00", "20.00", "120.00", "20")
    check_totals(checked)
    assert checked.total_incl_tax.failed_checks == []
    assert checked.total_incl_tax.confidence == 0.9


def test_totals_that_do_not_add_up_are_reported_not_fixed() -> None:
    checked = invoice("100.00", "20.00", "130.00", "20")
    check_totals(checked)
    assert checked.total_incl_tax.value == Decimal("130.00")
    assert checked.total_incl_tax.failed_checks == ["totals_do_not_add_up"]
    assert checked.total_excl_tax.failed_checks == ["totals_do_not_add_up"]
    assert checked.total_incl_tax.confidence == round(0.9 * FAILED_CHECK_FACTOR, 4)


def test_a_rate_inconsistent_with_the_vat_amount_is_reported() -> None:
    checked = invoice("100.00", "10.00", "110.00", "20")
    check_totals(checked)
    assert checked.vat_rate.failed_checks == ["vat_rate_inconsistent"]
    assert checked.total_incl_tax.failed_checks == []


def test_a_mistyped_iban_fails_its_checksum() -> None:
    bank = BankDetails(iban=sure("FR7630004001231234567890187"), bic=sure("BNPAFRPP"))  # type: ignore[arg-type]
    check_bank_details(bank)
    assert bank.iban.failed_checks == ["iban_checksum"]
    assert bank.iban.value == "FR7630004001231234567890187"
    assert bank.bic.failed_checks == []


def test_a_valid_iban_and_an_invalid_bic() -> None:
    bank = BankDetails(iban=sure("FR7630004001231234567890186"), bic=sure("BNPAXXPP"))  # type: ignore[arg-type]
    check_bank_details(bank)
    assert bank.iban.failed_checks == []
    assert bank.bic.failed_checks == ["bic_invalid"]


def test_company_numbers_check_digits_and_consistency() -> None:
    good = Address(
        siret=sure("73282932000074"),  # type: ignore[arg-type]
        siren=sure("732829320"),  # type: ignore[arg-type]
        vat_number=sure("FR44732829320"),  # type: ignore[arg-type]
    )
    check_company_numbers(good)
    assert (good.siret.failed_checks, good.siren.failed_checks, good.vat_number.failed_checks) == ([], [], [])
    bad = Address(
        siret=sure("73282932000075"),  # type: ignore[arg-type]
        siren=sure("552100554"),  # type: ignore[arg-type]
        vat_number=sure("FR45732829320"),  # type: ignore[arg-type]
    )
    check_company_numbers(bad)
    assert bad.siret.failed_checks == ["siret_checksum"]
    assert bad.siren.failed_checks == ["siren_differs_from_siret"]
    assert "vat_number_checksum" in bad.vat_number.failed_checks

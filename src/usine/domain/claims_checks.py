"""Validation of extracted claim data: check digits and arithmetic.

IBAN and BIC are checked with schwifty, SIRET, SIREN and VAT numbers with python-stdnum, and
the totals must add up (excl. tax + VAT = incl. tax, VAT = excl. tax × rate). A failed check
is appended to the field's ``failed_checks`` and multiplies its confidence by
:data:`FAILED_CHECK_FACTOR`; the value itself is never changed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.eu import vat as eu_vat
from stdnum.fr import siren as siren_number
from stdnum.fr import siret as siret_number

from usine.domain.claims import Address, BankDetails, Extracted, Invoice

FAILED_CHECK_FACTOR = 0.3
CENT_TOLERANCE = Decimal("0.011")


def fail(field: Extracted[Any], check: str) -> None:
    """Record a failed ``check`` on ``field`` and lower its confidence."""
    if check not in field.failed_checks:
        field.failed_checks.append(check)
        field.confidence = round(field.confidence * FAILED_CHECK_FACTOR, 4)


def _valid(kind: type[IBAN] | type[BIC], value: str) -> bool:
    """Whether schwifty accepts ``value`` as an IBAN or a BIC (format, country, checksum)."""
    try:
        kind(value)
    except (SchwiftyException, ValueError):
        return False
    return True


def check_bank_details(bank: BankDetails) -> None:
    """IBAN checksum and format (schwifty), BIC format and country (schwifty)."""
    if bank.iban.value is not None and not _valid(IBAN, bank.iban.value):
        fail(bank.iban, "iban_checksum")
    if bank.bic.value is not None and not _valid(BIC, bank.bic.value):
        fail(bank.bic, "bic_invalid")


def check_company_numbers(address: Address) -> None:
    """SIRET, SIREN and VAT check digits (python-stdnum), and that the three name one company."""
    siret, siren, vat = address.siret.value, address.siren.value, address.vat_number.value
    if siret is not None and not siret_number.is_valid(siret):
        fail(address.siret, "siret_checksum")
    if siren is not None and not siren_number.is_valid(siren):
        fail(address.siren, "siren_checksum")
    if vat is not None and not eu_vat.is_valid(vat):
        fail(address.vat_number, "vat_number_checksum")
    if siret is not None and siren is not None and not siret.startswith(siren):
        fail(address.siren, "siren_differs_from_siret")
    if vat is not None and siren is not None and vat[-9:] != siren:
        fail(address.vat_number, "vat_number_differs_from_siren")


def check_totals(invoice: Invoice) -> None:
    """Excl. tax + VAT = incl. tax, and VAT = excl. tax × rate, to the cent."""
    excl, vat, incl, rate = (
        invoice.total_excl_tax.value,
        invoice.vat_amount.value,
        invoice.total_incl_tax.value,
        invoice.vat_rate.value,
    )
    if excl is not None and vat is not None and incl is not None and abs(excl + vat - incl) > CENT_TOLERANCE:
        for field in (invoice.total_excl_tax, invoice.vat_amount, invoice.total_incl_tax):
            fail(field, "totals_do_not_add_up")
    if (
        excl is not None
        and vat is not None
        and rate is not None
        and abs(excl * rate / 100 - vat) > CENT_TOLERANCE
    ):
        for field in (invoice.vat_amount, invoice.vat_rate):
            fail(field, "vat_rate_inconsistent")

"""Recognising French invoice values: amounts, dates, percentages, IBAN, BIC, company numbers."""

import datetime as dt
from decimal import Decimal

import pytest

from usine.domain.claims_parsing import (
    find_amounts,
    find_bics,
    find_company_numbers,
    find_dates,
    find_ibans,
    find_percents,
    find_postcode_cities,
    find_references,
    find_streets,
    find_vat_numbers,
    parse_amount,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 234,56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1234,56", "1234.56"),
        ("1234.56", "1234.56"),
        ("12 345 678,00", "12345678.00"),
        ("0,99", "0.99"),
    ],
)
def test_amounts_in_french_formats_parse_to_the_same_decimal(text: str, value: str) -> None:
    assert parse_amount(text) == Decimal(value)


@pytest.mark.parametrize("text", ["1 234", "12,5", "abc", "1,234,56", "2026"])
def test_things_that_are_not_money_are_not_amounts(text: str) -> None:
    assert parse_amount(text) is None


def test_amounts_are_found_with_their_position_and_currency() -> None:
    line = "Total TTC : 1 234,56 € (dont TVA 205,76 EUR)"
    found = find_amounts(line)
    assert [m.value for m in found] == [Decimal("1234.56"), Decimal("205.76")]
    assert line[found[0].start : found[0].end] == "1 234,56"


def test_a_percentage_or_a_date_is_not_an_amount() -> None:
    assert find_amounts("TVA 20,00% le 03.11.2026") == []


@pytest.mark.parametrize(
    "text",
    ["le 03/11/2026", "3 novembre 2026", "2026-11-03", "03.11.2026", "03-11-2026", "3 Novembre 2026"],
)
def test_dates_in_several_formats_mean_the_same_day(text: str) -> None:
    assert [m.value for m in find_dates(text)] == [dt.date(2026, 11, 3)]


def test_an_impossible_date_is_not_a_date() -> None:
    assert find_dates("31/02/2026 et 2026-13-01") == []


def test_dates_without_accents_as_ocr_reads_them() -> None:
    assert [m.value for m in find_dates("1er fevrier 2026, 15 aout 2026")] == [
        dt.date(2026, 2, 1),
        dt.date(2026, 8, 15),
    ]


def test_vat_rates_with_or_without_decimals() -> None:
    assert [str(m.value) for m in find_percents("TVA 20 % ; TVA à 5,5% ; 20,0 %")] == ["20", "5.5", "20"]


def test_an_iban_printed_in_groups_is_compacted_to_its_country_length() -> None:
    found = find_ibans("IBAN : FR76 3000 4001 2312 3456 7890 186 - BIC BNPAFRPP")
    assert [m.value for m in found] == ["FR7630004001231234567890186"]


def test_a_bic_needs_a_country_code_in_fifth_and_sixth_place() -> None:
    assert [m.value for m in find_bics("BIC : BNPAFRPPXXX CARROSSERIE")] == ["BNPAFRPPXXX"]


def test_siret_and_siren_with_or_without_spaces() -> None:
    found = find_company_numbers("SIRET 732 829 320 00074 - RCS Lyon 732829320")
    assert [m.value for m in found] == ["73282932000074", "732829320"]


def test_vat_numbers_are_compacted() -> None:
    assert [m.value for m in find_vat_numbers("N° TVA : FR 44 732 829 320")] == ["FR44732829320"]


def test_postcode_and_city_stop_at_a_separator() -> None:
    found = find_postcode_cities("7 avenue Jean Jaurès - 63000 Clermont-Ferrand - France")
    assert [m.value for m in found] == [("63000", "Clermont-Ferrand")]


def test_streets_keep_their_accents() -> None:
    assert [m.value for m in find_streets("171 allée des Écoles")] == ["171 allée des Écoles"]


def test_references_need_digits() -> None:
    assert [m.value for m in find_references("Facture n° FA-2026-00123 du garage")] == ["FA-2026-00123"]

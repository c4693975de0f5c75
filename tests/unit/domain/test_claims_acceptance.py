"""Field-level acceptance counted from stored corrections."""

import datetime as dt

import pytest

from usine.domain.claims_acceptance import AcceptanceTally, field_group

SINCE = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
UNTIL = dt.datetime(2026, 11, 8, tzinfo=dt.UTC)


def test_line_item_indexes_are_folded_into_one_field() -> None:
    assert field_group("invoice.line_items.12.amount") == "invoice.line_items.*.amount"
    assert field_group("invoice.total_incl_tax") == "invoice.total_incl_tax"


def test_each_correction_counts_as_accepted_corrected_emptied_or_filled() -> None:
    tally = AcceptanceTally()
    tally.add("invoice.number", "F-1", "F-1", 0.95)  # accepted
    tally.add("invoice.number", "F-2", "F-20", 0.55)  # corrected
    tally.add("invoice.number", "F-3", None, 0.15)  # emptied: a false positive
    tally.add("invoice.number", None, "F-4", None)  # filled: a miss
    tally.add("bank_details.iban", "FR76", "FR76", 1.0)
    report = tally.report(SINCE, UNTIL, claims=4)

    number, iban = report.fields
    assert number.field == "invoice.number"
    counts = (number.proposed, number.accepted, number.corrected, number.emptied, number.filled)
    assert counts == (3, 1, 1, 1, 1)
    assert number.acceptance_rate == pytest.approx(1 / 3)
    assert (iban.field, iban.acceptance_rate) == ("bank_details.iban", 1.0)
    assert report.fields_reviewed == 5
    assert report.used_as_is == pytest.approx(2 / 5)
    assert report.acceptance_rate == pytest.approx(2 / 4)
    bands = {(band.low, band.proposed, band.accepted) for band in report.confidence if band.proposed}
    assert bands == {(0.1, 1, 0), (0.5, 1, 0), (0.9, 2, 2)}  # confidence 1.0 falls in the last band


def test_a_field_never_proposed_sorts_last_with_no_rate() -> None:
    tally = AcceptanceTally()
    tally.add("address.siret", None, "73282932000074", None)
    tally.add("invoice.date", "2026-11-03", "2026-11-04", 0.8)
    report = tally.report(SINCE, UNTIL, claims=1)
    assert [(f.field, f.acceptance_rate) for f in report.fields] == [
        ("invoice.date", 0.0),
        ("address.siret", None),
    ]


def test_an_empty_window_reports_nothing_rather_than_a_ratio() -> None:
    report = AcceptanceTally().report(SINCE, UNTIL, claims=0)
    assert (report.claims, report.fields_reviewed, report.used_as_is, report.acceptance_rate) == (
        0,
        0,
        None,
        None,
    )
    assert all(band.acceptance_rate is None for band in report.confidence)

"""The review page speaks French or English, as the link or the browser asks."""

import pytest

from usine.ui.labels import FIELDS, TEXT, pick_language


@pytest.mark.parametrize(
    ("query", "header", "expected"),
    [
        ("en", "fr-FR,fr;q=0.9", "en"),
        (None, "en-GB,en;q=0.9,fr;q=0.8", "en"),
        (None, "de-DE,fr;q=0.5,en;q=0.7", "en"),
        (None, "en;q=0,fr;q=0.1", "fr"),
        (None, "de", "fr"),
        ("xx", None, "fr"),
        (None, "en;q=bogus,fr", "fr"),
    ],
)
def test_the_language_comes_from_the_link_then_the_browser_then_french(
    query: str | None, header: str | None, expected: str
) -> None:
    assert pick_language(query, header) == expected


def test_both_languages_label_every_field_and_every_text() -> None:
    assert FIELDS["fr"].keys() == FIELDS["en"].keys()
    assert TEXT["fr"].keys() == TEXT["en"].keys()
    assert FIELDS["fr"]["invoice.total_incl_tax"] == "Total TTC"

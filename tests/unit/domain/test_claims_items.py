"""Invoice lines read from the generated layouts: every billed line, and nothing else."""

from decimal import Decimal

import pytest

from usine.adapters.documents import ReadLimits, read_document
from usine.claims_corpus import ALL_LAYOUTS, generate_documents
from usine.domain.claims_items import find_line_items

LIMITS = ReadLimits(max_pages=20, max_pixels=40_000_000, ocr_dpi=300, min_text_chars=20, ocr_timeout_s=30)


@pytest.mark.parametrize("layout", ALL_LAYOUTS)
def test_the_billed_lines_of_a_text_pdf_are_read_and_no_other_row(layout: str) -> None:
    for document in generate_documents(4, 4, (layout,)):
        (page,) = read_document(document.content, LIMITS).pages
        items = find_line_items(list(page.lines))
        assert [(i.description.value, i.amount.value) for i in items] == [
            (item["description"], Decimal(item["amount"] or "0")) for item in document.items
        ]


def test_a_grid_of_labels_over_values_is_not_a_table_of_lines() -> None:
    # vitrage prints "N° facture | Date | Date de prestation | Total TTC" over one row of values:
    # "prestation" and "total" are table words, but no column heading opens with a description word
    document = next(generate_documents(1, 4, ("vitrage",)))  # its service date is a "Date de prestation"
    (page,) = read_document(document.content, LIMITS).pages
    descriptions = [i.description.value for i in find_line_items(list(page.lines))]
    assert document.truth["invoice.number"] not in descriptions

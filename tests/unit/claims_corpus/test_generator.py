"""The claims corpus generator: seeded, valid where meant to be, wrong where meant to be."""

import json
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
from schwifty import IBAN
from stdnum.fr import siren, siret, tva

from usine.claims_corpus import (
    ALL_LAYOUTS,
    HELD_OUT_LAYOUTS,
    TRAINING_LAYOUTS,
    generate_documents,
    write_corpus,
)


def pdf_text(content: bytes) -> str:
    document = pdfium.PdfDocument(content)
    try:
        return str(document[0].get_textpage().get_text_range())
    finally:
        document.close()


def test_the_same_seed_gives_the_same_bytes_and_labels() -> None:
    first = list(generate_documents(6, seed=5))
    second = list(generate_documents(6, seed=5))
    assert [d.content for d in first] == [d.content for d in second]
    assert [d.truth for d in first] == [d.truth for d in second]
    assert [d.content for d in generate_documents(6, seed=6)] != [d.content for d in first]


def test_scans_are_seeded_too() -> None:
    assert [d.content for d in generate_documents(2, 3, scanned=True)] == [
        d.content for d in generate_documents(2, 3, scanned=True)
    ]


def test_six_layout_families_two_held_out_of_training() -> None:
    assert len(ALL_LAYOUTS) >= 6
    assert set(HELD_OUT_LAYOUTS).isdisjoint(TRAINING_LAYOUTS)
    assert {d.layout for d in generate_documents(12, 1)} == set(ALL_LAYOUTS)


def test_company_numbers_are_valid_and_totals_add_up_unless_meant_not_to() -> None:
    documents = list(generate_documents(80, 11, error_rate=0.2))
    for document in documents:
        truth = document.truth
        assert siret.is_valid(truth["address.siret"])
        assert siren.is_valid(truth["address.siren"])
        assert tva.is_valid(truth["address.vat_number"])
        assert IBAN(truth["bank_details.iban"], allow_invalid=True).is_valid == document.checks["iban_valid"]
        total = float(truth["invoice.total_excl_tax"]) + float(truth["invoice.vat_amount"])
        adds_up = abs(total - float(truth["invoice.total_incl_tax"])) < 0.005
        assert adds_up == document.checks["totals_add_up"]
    assert any(not d.checks["iban_valid"] for d in documents)
    assert any(not d.checks["totals_add_up"] for d in documents)


def test_a_written_corpus_has_a_label_beside_each_file(tmp_path: Path) -> None:
    files = write_corpus(tmp_path, generate_documents(3, 2))
    assert [f.suffix for f in files] == [".pdf"] * 3
    for file in files:
        assert file.read_bytes().startswith(b"%PDF-")
        label = json.loads(file.with_suffix(".json").read_text(encoding="utf-8"))
        assert label["fields"]["invoice.currency"] == "EUR"
        assert label["layout"] in ALL_LAYOUTS
        (first_item, *_) = label["line_items"]
        assert set(first_item) == {"description", "quantity", "unit_price", "amount"}


def test_line_items_are_labelled_as_printed_and_add_up_to_the_total_excl_tax() -> None:
    for document in generate_documents(12, 4):
        assert 1 <= len(document.items) <= 6
        assert sum(Decimal(item["amount"] or "0") for item in document.items) == Decimal(
            document.truth["invoice.total_excl_tax"] or "0"
        )
        printed = pdf_text(document.content)
        for item in document.items:
            assert item["description"] in printed
        # the ticket writes "2 x Description ... amount": no unit price to find
        assert all((item["unit_price"] is None) == (document.layout == "ticket") for item in document.items)

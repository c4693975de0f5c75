"""Claim extraction end to end on generated documents, with a model trained and registered in MLflow."""

import dataclasses
import io
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image
from reportlab.pdfgen.canvas import Canvas

from usine.claims_corpus import HELD_OUT_LAYOUTS, generate_documents
from usine.domain.claims import ExtractionState, TextSource
from usine.domain.errors import (
    DocumentTooLarge,
    ModelNotReady,
    UnreadableDocument,
    UnsupportedDocument,
)
from usine.services.claims_evaluation import evaluate
from usine.services.claims_extraction import ClaimExtractor, limits_from, load_claim_extractor
from usine.services.claims_training import ClaimsTrainingResult
from usine.services.models import open_registry
from usine.settings import Settings


@pytest.fixture(scope="module")
def extractor(claims_home: tuple[Path, ClaimsTrainingResult]) -> ClaimExtractor:
    return load_claim_extractor(Settings(home=claims_home[0]))


def pdf(pages: int = 1, size: tuple[float, float] = (595, 842), **options: object) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=size, **options)
    for page in range(pages):
        canvas.drawString(50, 700, f"Facture page {page + 1} : texte assez long pour une page")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def test_training_logs_the_held_out_evaluation_and_promotes_the_version(
    claims_home: tuple[Path, ClaimsTrainingResult],
) -> None:
    home, result = claims_home
    assert result.promoted
    registry = open_registry(Settings(home=home))
    assert registry.version_for_alias("claims", "champion") == result.version
    run = registry.client.get_run(result.run_id)
    assert run.data.metrics["heldout_text_f1"] == pytest.approx(result.metrics["heldout_text_f1"])
    assert run.data.params["held_out_layouts"] == ",".join(HELD_OUT_LAYOUTS)


def test_text_pdfs_of_unseen_layouts_are_extracted_from_the_text_layer(extractor: ClaimExtractor) -> None:
    documents = list(generate_documents(6, 424242, HELD_OUT_LAYOUTS, error_rate=0.0))
    result = evaluate(extractor.extract, documents)
    assert result.scores.overall.f1 >= 0.9
    assert result.items.items.recall >= 0.9  # the invoice lines are read too, and scored apart
    first = extractor.extract(documents[0].content, "a.pdf", "k")
    assert first.text_source is TextSource.TEXT_LAYER
    assert first.invoice.total_incl_tax.page == 1
    assert first.invoice.total_incl_tax.bbox is not None
    assert str(first.invoice.number.value) == documents[0].truth["invoice.number"]


def test_a_scan_is_read_by_ocr_whatever_its_name_says(extractor: ClaimExtractor) -> None:
    photo, scanned_pdf = list(generate_documents(2, 77, HELD_OUT_LAYOUTS, scanned=True, error_rate=0.0))[::-1]
    assert photo.content.startswith(b"\xff\xd8")
    result = evaluate(
        lambda content, name, key: extractor.extract(content, "scan.pdf", key), [photo, scanned_pdf]
    )
    assert result.scores.overall.f1 >= 0.75
    extraction = extractor.extract(photo.content, "scan.pdf", "k")
    assert (extraction.media_type, extraction.text_source) == ("image/jpeg", TextSource.OCR)


def test_failed_checks_are_reported_and_lower_confidence_never_fixed(extractor: ClaimExtractor) -> None:
    document = next(
        d
        for d in generate_documents(20, 5, ("atelier",), error_rate=1.0)
        if Decimal(d.truth["invoice.total_incl_tax"]) > Decimal(d.truth["invoice.total_excl_tax"])
    )
    extraction = extractor.extract(document.content, "bad.pdf", "k")
    iban = extraction.bank_details.iban
    assert iban.value == document.truth["bank_details.iban"]
    assert iban.failed_checks == ["iban_checksum"]
    assert iban.confidence < 0.5
    total = extraction.invoice.total_incl_tax
    assert str(total.value) == document.truth["invoice.total_incl_tax"]
    assert "totals_do_not_add_up" in total.failed_checks
    assert extraction.status.state is ExtractionState.PARTIAL
    assert "bank_details.iban: iban_checksum" in extraction.status.reasons


def test_not_a_document_is_unsupported_whatever_its_extension(extractor: ClaimExtractor) -> None:
    with pytest.raises(UnsupportedDocument):
        extractor.extract(b"<html>not an invoice</html>", "invoice.pdf", "k")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"%PDF-1.7\n1 0 obj garbage", "corrupt"),
        (pdf(encrypt="secret"), "password"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "corrupt"),
    ],
    ids=["corrupt-pdf", "encrypted-pdf", "corrupt-png"],
)
def test_unreadable_documents_say_why(extractor: ClaimExtractor, content: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocument, match=reason):
        extractor.extract(content, "x", "k")


def test_a_pdf_without_pages_is_unreadable(extractor: ClaimExtractor) -> None:
    empty = pdfium.PdfDocument.new()
    buffer = io.BytesIO()
    empty.save(buffer)
    with pytest.raises(UnreadableDocument, match="no pages"):
        extractor.extract(buffer.getvalue(), "empty.pdf", "k")


def test_too_many_pages_are_refused(extractor: ClaimExtractor, tmp_path: Path) -> None:
    limited = dataclasses.replace(extractor, limits=limits_from(Settings(home=tmp_path, claims_max_pages=2)))
    assert limited.extract(pdf(pages=2), "two.pdf", "k").pages == 2
    with pytest.raises(DocumentTooLarge, match="3 pages"):
        limited.extract(pdf(pages=3), "three.pdf", "k")


def test_a_page_of_absurd_size_is_refused_before_rendering(extractor: ClaimExtractor) -> None:
    with pytest.raises(DocumentTooLarge, match="pixels"):
        extractor.extract(pdf(size=(14400, 14400)), "poster.pdf", "k")


def test_an_image_decompression_bomb_is_refused_before_decoding(
    extractor: ClaimExtractor, tmp_path: Path
) -> None:
    buffer = io.BytesIO()
    Image.new("1", (8000, 8000), 1).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 100_000  # 64 million pixels in a few kilobytes
    limited = dataclasses.replace(
        extractor, limits=limits_from(Settings(home=tmp_path, claims_max_pixels=10_000_000))
    )
    with pytest.raises(DocumentTooLarge, match="pixels"):
        limited.extract(buffer.getvalue(), "bomb.png", "k")


def test_no_champion_means_the_model_is_not_ready(tmp_path: Path) -> None:
    with pytest.raises(ModelNotReady, match="usine train claims"):
        load_claim_extractor(Settings(home=tmp_path))

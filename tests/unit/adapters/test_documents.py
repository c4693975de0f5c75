"""Reading hostile PDFs: JavaScript is never run, a page count over the limit is refused before
any page is opened, and the review page's renderer opens only the page it shows."""

import dataclasses
import io

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image

from claim_support import generated_invoice, invoice_pdf, page_tree_bomb, with_javascript
from usine.adapters.documents import ReadLimits, read_document, render_pdf_page
from usine.domain.claims import TextSource
from usine.domain.errors import DocumentTooLarge, UnreadableDocument

LIMITS = ReadLimits(max_pages=20, max_pixels=40_000_000, ocr_dpi=300, min_text_chars=20, ocr_timeout_s=30)


def test_pdfium_is_built_without_a_javascript_engine() -> None:
    assert "V8" not in pdfium.PDFIUM_INFO.flags
    assert "XFA" not in pdfium.PDFIUM_INFO.flags


def test_a_pdf_with_javascript_is_read_like_any_other_and_its_script_left_alone() -> None:
    invoice = generated_invoice(seed=11)
    scripted = with_javascript(invoice.content, "app.alert('pwned'); this.submitForm('http://127.0.0.1:9/');")
    document = pdfium.PdfDocument(scripted)
    assert pdfium_c.FPDFDoc_GetJavaScriptActionCount(document.raw) == 1  # the script is really there
    document.close()
    read = read_document(scripted, LIMITS)
    assert read.pages == read_document(invoice.content, LIMITS).pages
    assert read.pages[0].source is TextSource.TEXT_LAYER


def test_thousands_of_pages_are_refused_on_the_count_before_any_page_is_opened() -> None:
    bomb = page_tree_bomb(5_000)
    assert len(bomb) < 2_000
    with pytest.raises(DocumentTooLarge, match="5000 pages, more than 20"):
        read_document(bomb, LIMITS)
    # allowed that many pages, the reader opens page 1 and refuses its pixels: the count above
    # was the only thing read
    with pytest.raises(DocumentTooLarge, match="page 1 is 14400x14400 pt"):
        read_document(bomb, dataclasses.replace(LIMITS, max_pages=10_000))


def test_one_page_is_rendered_at_the_asked_size_and_a_missing_page_is_unreadable() -> None:
    image = render_pdf_page(invoice_pdf(pages=2), 2, max_side=400)
    assert max(image.size) == 400
    with pytest.raises(UnreadableDocument, match="2 page"):
        render_pdf_page(invoice_pdf(pages=2), 3, max_side=400)


@pytest.mark.parametrize(
    ("mode", "size"),
    [("L", (1, 1)), ("RGB", (3, 2)), ("1", (40, 1)), ("L", (100, 100)), ("L", (300, 60))],
)
def test_an_image_too_small_to_hold_text_is_read_as_a_page_without_words(
    mode: str, size: tuple[int, int]
) -> None:
    buffer = io.BytesIO()
    Image.new(mode, size, 255).save(buffer, "PNG")
    (page,) = read_document(buffer.getvalue(), LIMITS).pages
    assert (page.source, page.words) == (TextSource.OCR, ())

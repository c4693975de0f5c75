"""Read a claim file's words: PDF text layer (pypdfium2), or OCR for scans and photos.

The type is judged from the first bytes, never from the file name. Every limit (pages,
pixels) is checked before anything large is decoded or rendered, so a decompression bomb
costs a header read, not the machine's memory.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image, ImageSequence, UnidentifiedImageError

from usine.adapters import ocr
from usine.domain.claims import TextSource
from usine.domain.claims_text import DocumentText, Page, Word, group_lines
from usine.domain.errors import DocumentTooLarge, UnreadableDocument, UnsupportedDocument

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
IMAGE_FORMATS = {"PNG": PNG, "JPEG": JPEG, "TIFF": TIFF}
POINTS_PER_INCH = 72.0

# PDFium is not thread-safe: one document at a time per process. Text extraction takes
# milliseconds, and OCR (the slow part) runs outside the lock.
_PDFIUM_LOCK = threading.Lock()


@dataclass(frozen=True)
class ReadLimits:
    """How much of a file the reader may decode."""

    max_pages: int
    max_pixels: int
    ocr_dpi: int
    min_text_chars: int
    ocr_timeout_s: float


def sniff_media_type(content: bytes) -> str:
    """The media type given by the file's magic bytes.

    Raises:
        UnsupportedDocument: not a PDF, PNG, JPEG or TIFF.

    """
    if b"%PDF-" in content[:1024]:
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    raise UnsupportedDocument("not a PDF, PNG, JPEG or TIFF file")


def read_document(content: bytes, limits: ReadLimits) -> DocumentText:
    """Every page's words, from the text layer where there is one, else by OCR.

    Raises:
        UnsupportedDocument: the bytes are not a supported type.
        UnreadableDocument: corrupt, empty, encrypted, or OCR failed.
        DocumentTooLarge: more pages or pixels than ``limits`` allow.

    """
    media_type = sniff_media_type(content)
    pages = _read_pdf(content, limits) if media_type == PDF else _read_image(content, limits)
    return DocumentText(media_type=media_type, pages=tuple(pages))


def _page(number: int, source: TextSource, words: list[Word], aspect: float) -> Page:
    return Page(number=number, source=source, words=tuple(words), lines=group_lines(number, words, aspect))


@contextmanager
def _open_pdf(content: bytes) -> Iterator[pdfium.PdfDocument]:
    """The PDF, opened under the process-wide PDFium lock and closed on leaving.

    Raises:
        UnreadableDocument: encrypted, corrupt, or PDFium fails while the document is used.

    """
    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(content)
        except pdfium.PdfiumError as exc:
            # PDFium reports a page-less document as a password error: only an /Encrypt
            # dictionary makes a PDF password protected.
            encrypted = b"/Encrypt" in content
            reason = "encrypted (password protected)" if encrypted else "corrupt or has no pages"
            raise UnreadableDocument(f"PDF is {reason}: {exc}") from None
        try:
            yield document
        except pdfium.PdfiumError as exc:
            raise UnreadableDocument(f"PDF is corrupt: {exc}") from None
        finally:
            document.close()


def render_pdf_page(content: bytes, page: int, max_side: int) -> Image.Image:
    """Page ``page`` (1-based) of a PDF, rendered so that its longer side is ``max_side`` pixels.

    Only that page is opened and rendered, under the lock every PDFium call of usine takes
    (PDFium is not thread-safe).

    Raises:
        UnreadableDocument: the PDF cannot be opened, or has no such page.

    """
    with _open_pdf(content) as document:
        if not 1 <= page <= len(document):
            raise UnreadableDocument(f"the file has {len(document)} page(s), not a page {page}")
        pdf_page = document[page - 1]
        width, height = pdf_page.get_size()
        image: Image.Image = pdf_page.render(scale=max_side / max(width, height, 1.0)).to_pil()
        return image


def _read_pdf(content: bytes, limits: ReadLimits) -> list[Page]:
    pages: list[Page] = []
    scans: list[tuple[int, Image.Image, float]] = []
    with _open_pdf(content) as document:
        count = len(document)  # read from the page tree: no page is opened before the limit
        if count == 0:
            raise UnreadableDocument("PDF has no pages")
        if count > limits.max_pages:
            raise DocumentTooLarge(f"PDF has {count} pages, more than {limits.max_pages}")
        scale = limits.ocr_dpi / POINTS_PER_INCH
        for index in range(count):
            page = document[index]
            width, height = page.get_size()
            if width <= 0 or height <= 0:
                raise UnreadableDocument(f"page {index + 1} has no area")
            pixels = width * scale * height * scale
            if pixels > limits.max_pixels:
                raise DocumentTooLarge(
                    f"page {index + 1} is {width:.0f}x{height:.0f} pt: {pixels:,.0f} pixels at "
                    f"{limits.ocr_dpi} dpi, more than {limits.max_pixels:,}"
                )
            words = _text_layer_words(page, width, height)
            if sum(len(w.text) for w in words) >= limits.min_text_chars:
                pages.append(_page(index + 1, TextSource.TEXT_LAYER, words, height / width))
            else:
                image = page.render(scale=scale, grayscale=True).to_pil()
                scans.append((index + 1, image, height / width))
    for number, image, aspect in scans:
        pages.append(_page(number, TextSource.OCR, ocr.recognise(image, limits.ocr_timeout_s), aspect))
    return sorted(pages, key=lambda p: p.number)


def _text_layer_words(page: pdfium.PdfPage, width: float, height: float) -> list[Word]:
    """Words of the text layer, with boxes from PDFium's character boxes."""
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        if count <= 0:
            return []
        text = textpage.get_text_range(0, count)
        words: list[Word] = []
        current: list[str] = []
        box = [0.0, 0.0, 0.0, 0.0]
        for index, char in enumerate(text[:count]):
            if char.isspace() or char == "\x00":
                if current:
                    words.append(_word(current, box, width, height))
                    current = []
                continue
            left, bottom, right, top = textpage.get_charbox(index)
            if current:
                box = [min(box[0], left), min(box[1], bottom), max(box[2], right), max(box[3], top)]
            else:
                box = [left, bottom, right, top]
            current.append(char)
        if current:
            words.append(_word(current, box, width, height))
        return words
    finally:
        textpage.close()


def _word(chars: list[str], box: list[float], width: float, height: float) -> Word:
    left, bottom, right, top = box
    return Word(
        text="".join(chars),
        x0=max(0.0, left / width),
        y0=max(0.0, 1.0 - top / height),
        x1=min(1.0, right / width),
        y1=min(1.0, 1.0 - bottom / height),
    )


def _read_image(content: bytes, limits: ReadLimits) -> list[Page]:
    try:
        image = Image.open(io.BytesIO(content))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UnreadableDocument(f"image is corrupt: {exc}") from None
    except Image.DecompressionBombError as exc:
        raise DocumentTooLarge(f"image is a decompression bomb: {exc}") from None
    with image:
        frames = getattr(image, "n_frames", 1)
        if frames > limits.max_pages:
            raise DocumentTooLarge(f"image has {frames} frames, more than {limits.max_pages}")
        pages = []
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            width, height = frame.size
            if width * height > limits.max_pixels:
                raise DocumentTooLarge(
                    f"image page {number} is {width}x{height}: more than {limits.max_pixels:,} pixels"
                )
            try:
                frame.load()
                loaded = frame.convert("L")
            except (OSError, ValueError, SyntaxError) as exc:
                raise UnreadableDocument(f"image is corrupt: {exc}") from None
            words = ocr.recognise(loaded, limits.ocr_timeout_s)
            pages.append(_page(number, TextSource.OCR, words, height / width))
    return pages

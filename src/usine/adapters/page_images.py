"""One page of a stored claim file as a PNG a browser shows beside the extracted fields."""

from __future__ import annotations

import io

from PIL import Image, ImageSequence, UnidentifiedImageError

from usine.adapters.documents import PDF, render_pdf_page, sniff_media_type
from usine.domain.errors import StoredFileNotFound, UnreadableDocument, UnsupportedDocument


def render_page(content: bytes, page: int, max_side: int, max_pixels: int) -> bytes:
    """Page ``page`` (1-based) of a PDF or image, scaled so its longer side is ``max_side`` pixels.

    Args:
        content: the stored file's bytes (PDF, PNG, JPEG or TIFF).
        page: 1-based page (PDF) or frame (TIFF) number.
        max_side: longest side of the PNG, in pixels.
        max_pixels: an image larger than this is not decoded (decompression bombs).

    Raises:
        StoredFileNotFound: the file has no such page, or cannot be rendered.

    """
    try:
        media_type = sniff_media_type(content)
    except UnsupportedDocument:
        raise StoredFileNotFound("the stored file is not a document that can be rendered") from None
    if media_type == PDF:
        image = _pdf_page(content, page, max_side)
    else:
        image = _image_frame(content, page, max_pixels)
    image.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _pdf_page(content: bytes, page: int, max_side: int) -> Image.Image:
    try:
        return render_pdf_page(content, page, max_side)
    except UnreadableDocument as exc:
        raise StoredFileNotFound(f"the stored file cannot be rendered: {exc}") from None


def _image_frame(content: bytes, page: int, max_pixels: int) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(content))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise StoredFileNotFound(f"the stored file cannot be rendered: {exc}") from None
    for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
        if number == page:
            if frame.size[0] * frame.size[1] > max_pixels:
                raise StoredFileNotFound(f"page {page} is larger than {max_pixels:,} pixels")
            return frame.copy()
    raise StoredFileNotFound(f"the file has no page {page}")

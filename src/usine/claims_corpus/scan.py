"""Turn a text PDF into what a scanner or a phone makes of it: a tilted, blurred, noisy image."""

from __future__ import annotations

import io
import random

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageFilter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

SCAN_DPI = 200


def degrade(pdf: bytes, rng: random.Random, dpi: int = SCAN_DPI) -> Image.Image:
    """The first page of ``pdf`` as a degraded grey scan (rotation, blur, noise), by seed."""
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    angle = rng.uniform(-3.0, 3.0)
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    image = image.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.3, 1.0)))
    noise = np.random.default_rng(rng.randrange(2**32)).normal(
        0, rng.uniform(4, 14), (image.height, image.width)
    )
    pixels = np.asarray(image, dtype=np.float64) * rng.uniform(0.9, 1.0) + noise + rng.uniform(-8, 8)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def as_jpeg(image: Image.Image, rng: random.Random) -> bytes:
    """The image as a JPEG with visible compression artefacts (a phone photo)."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=rng.randint(45, 80))
    return buffer.getvalue()


def as_scanned_pdf(image: Image.Image, rng: random.Random) -> bytes:
    """The image, JPEG-compressed, as the only content of a one-page A4 PDF (a scanner's output)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.drawImage(ImageReader(io.BytesIO(as_jpeg(image, rng))), 0, 0, width=A4[0], height=A4[1])
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()

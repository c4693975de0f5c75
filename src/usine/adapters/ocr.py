"""Tesseract 5 on one page image, after deskew and Otsu binarisation.

Only this module talks to Tesseract (through pytesseract, which calls Debian's
``tesseract`` binary with the ``fra`` language data).
"""

from __future__ import annotations

import numpy as np
import pytesseract
from PIL import Image

from usine.domain.claims_text import Word
from usine.domain.errors import UnreadableDocument

DESKEW_WIDTH = 600
"""Width (pixels) of the thumbnail on which the skew angle is searched."""
MAX_SKEW_DEGREES = 6.0
RULE_LENGTH = 80
"""Shortest horizontal run of ink (pixels) erased as a table rule before OCR (half for vertical)."""
DEBRIS_CONFIDENCE = 60.0
"""One- or two-character words below this confidence (0–100) are debris of table borders."""
MIN_SIDE = 8
"""An image narrower or lower than this (pixels) holds no readable word; Tesseract is not run
(Leptonica also refuses a file under 12 bytes, which a one-bit image that small can be)."""
MIN_WORD_CONFIDENCE = 10.0
"""Tesseract words below this confidence (0–100) are noise (specks, table rules)."""


def otsu_threshold(gray: np.ndarray) -> int:
    """The grey level that best separates ink from paper (Otsu's method)."""
    histogram = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    total = histogram.sum()
    levels = np.arange(256, dtype=np.float64)
    weight_dark = np.cumsum(histogram)
    mean_dark = np.cumsum(histogram * levels)
    weight_light = total - weight_dark
    overall = mean_dark[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (overall * weight_dark / total - mean_dark) ** 2 / (weight_dark * weight_light)
    between = np.nan_to_num(between)
    return int(np.argmax(between))


def _profile_score(ink: Image.Image, angle: float) -> float:
    rotated = np.asarray(ink.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=0))
    rows = rotated.sum(axis=1, dtype=np.float64)
    return float(np.square(np.diff(rows)).sum())


def skew_angle(gray: Image.Image) -> float:
    """The rotation (degrees, counter-clockwise) that makes the text lines horizontal.

    Text lines make the horizontal ink profile sharpest when they are level: the angle that
    maximises the squared differences between successive rows wins, searched coarsely then
    finely on a thumbnail.
    """
    scale = DESKEW_WIDTH / gray.width
    small = gray.resize((DESKEW_WIDTH, max(1, round(gray.height * scale))), Image.Resampling.BILINEAR)
    pixels = np.asarray(small)
    ink = Image.fromarray(((pixels < otsu_threshold(pixels)) * 255).astype(np.uint8))
    best = 0.0
    for step, span in ((1.0, MAX_SKEW_DEGREES), (0.25, 0.75)):
        centre = best
        candidates = np.arange(centre - span, centre + span + step / 2, step)
        best = float(max(candidates, key=lambda a: _profile_score(ink, float(a))))
    return best


def prepare(image: Image.Image) -> Image.Image:
    """Grey scale, level the text lines, binarise (Otsu) and erase table rules: a one-bit image."""
    gray = image.convert("L")
    angle = skew_angle(gray)
    if abs(angle) >= 0.1:
        gray = gray.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    pixels = np.asarray(gray)
    ink = pixels <= otsu_threshold(pixels)
    ink &= ~(_rules(ink, axis=1) | _rules(ink, axis=0))
    return Image.fromarray(~ink)  # one bit per pixel, ink black


def _rules(ink: np.ndarray, axis: int) -> np.ndarray:
    """Pixels of straight ink runs longer than :data:`RULE_LENGTH` along ``axis`` (table borders).

    Tesseract often drops text framed by boxes; erasing the frame (not the text) keeps it.
    Runs are found from where ink starts and stops along each line of pixels, so the cost is
    one pass over the page plus the pixels of the long runs.
    """
    length = (
        max(RULE_LENGTH, ink.shape[axis] // 12) if axis == 1 else max(RULE_LENGTH // 2, ink.shape[axis] // 60)
    )
    lines = ink if axis == 1 else ink.T
    height, width = lines.shape
    mask = np.zeros((height, width), dtype=bool)
    if width >= length:  # else an image too small to hold a rule (a thumbnail, a 1-pixel file)
        edges = np.zeros((height, width + 2), dtype=np.int8)
        edges[:, 1:-1] = lines
        rows, columns = np.nonzero(np.diff(edges, axis=1))  # per line: start, end, start, end...
        rows, starts, ends = rows[0::2], columns[0::2], columns[1::2]
        long = ends - starts >= length
        rows, starts, lengths = rows[long], starts[long], (ends - starts)[long]
        first_index = np.cumsum(lengths) - lengths  # where each run's pixels begin in the flat list
        columns = np.arange(lengths.sum()) + np.repeat(starts - first_index, lengths)
        mask[np.repeat(rows, lengths), columns] = True
    return mask if axis == 1 else mask.T


def recognise(image: Image.Image, timeout_s: float, language: str = "fra") -> list[Word]:
    """The words Tesseract reads on a page image, positioned as fractions of the page.

    Raises:
        UnreadableDocument: Tesseract failed or ran out of time on this page.

    """
    if min(image.size) < MIN_SIDE:
        return []
    page = prepare(image)
    # pytesseract writes the image in its ``format``: a one-bit PBM is quick to write and read,
    # and Tesseract skips its own thresholding (PNG grey cost ~0.1 s per page more, same words).
    page.format = "PPM"
    try:
        data = pytesseract.image_to_data(
            page,
            lang=language,
            config="--psm 3 --oem 1 -c tessedit_do_invert=0",
            output_type=pytesseract.Output.DICT,
            timeout=timeout_s,
        )
    except (RuntimeError, pytesseract.TesseractError) as exc:
        raise UnreadableDocument(f"OCR failed: {exc}") from None
    width, height = page.size
    words = []
    for text, conf, left, top, w, h in zip(
        data["text"], data["conf"], data["left"], data["top"], data["width"], data["height"], strict=True
    ):
        text = str(text).strip().strip("|")
        confidence = float(conf)
        if confidence < MIN_WORD_CONFIDENCE or not any(c.isalnum() or c in "€%$." for c in text):
            continue
        if len(text) <= 2 and confidence < DEBRIS_CONFIDENCE:
            continue  # bits of an erased table border, not a word
        words.append(
            Word(
                text=text,
                x0=left / width,
                y0=top / height,
                x1=(left + w) / width,
                y1=(top + h) / height,
                confidence=confidence / 100.0,
            )
        )
    return words

"""The words of a claim document with their positions, and the lines they form.

Whatever the source (a PDF's text layer or Tesseract on a scan), a document becomes a list of
:class:`Page` of :class:`Word`; positions are fractions of the page (0–1, ``y`` from the top),
so that the extraction rules and the model see text PDFs and scans alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from statistics import median

from usine.domain.claims import BoundingBox, TextSource


@dataclass(frozen=True)
class Word:
    """One word and its box on the page (fractions of the page, ``y`` from the top)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    confidence: float = 1.0

    @property
    def y_center(self) -> float:
        """Vertical middle of the word."""
        return (self.y0 + self.y1) / 2


@dataclass(frozen=True)
class Line:
    """Words sharing a baseline, left to right, with the characters each starts at in ``text``."""

    page: int
    row: int
    words: tuple[Word, ...]
    text: str
    starts: tuple[int, ...]

    @property
    def x0(self) -> float:
        """Left edge of the line."""
        return self.words[0].x0

    @property
    def x1(self) -> float:
        """Right edge of the line."""
        return self.words[-1].x1

    @property
    def y0(self) -> float:
        """Top edge of the line."""
        return min(w.y0 for w in self.words)

    @property
    def y1(self) -> float:
        """Bottom edge of the line."""
        return max(w.y1 for w in self.words)

    def span_words(self, start: int, end: int) -> tuple[Word, ...]:
        """The words that overlap the characters ``start:end`` of :attr:`text`."""
        chosen = []
        for word, begin in zip(self.words, self.starts, strict=True):
            if begin < end and begin + len(word.text) > start:
                chosen.append(word)
        return tuple(chosen)

    def span_box(self, start: int, end: int) -> BoundingBox:
        """The box around the characters ``start:end`` of :attr:`text` (whole words)."""
        words = self.span_words(start, end) or self.words
        return BoundingBox(
            x0=_unit(min(w.x0 for w in words)),
            y0=_unit(min(w.y0 for w in words)),
            x1=_unit(max(w.x1 for w in words)),
            y1=_unit(max(w.y1 for w in words)),
        )

    def span_confidence(self, start: int, end: int) -> float:
        """The lowest word confidence over the characters ``start:end``."""
        words = self.span_words(start, end) or self.words
        return min(w.confidence for w in words)


@dataclass(frozen=True)
class Page:
    """The words of one page and where they came from."""

    number: int
    source: TextSource
    words: tuple[Word, ...]
    lines: tuple[Line, ...] = field(default=())


@dataclass(frozen=True)
class DocumentText:
    """Every page of a document, read."""

    media_type: str
    pages: tuple[Page, ...]

    @property
    def source(self) -> TextSource | None:
        """OCR when any page needed it, else the text layer; ``None`` for an empty document."""
        if not self.pages:
            return None
        if any(p.source is TextSource.OCR for p in self.pages):
            return TextSource.OCR
        return TextSource.TEXT_LAYER

    def lines(self) -> list[Line]:
        """All lines of the document, page by page, top to bottom."""
        return [line for page in self.pages for line in page.lines]


COLUMN_GAP = 2.0
"""Horizontal gap (in word heights) beyond which two words on one row belong to two columns."""


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))


def group_lines(page: int, words: list[Word], aspect: float = 1.414) -> tuple[Line, ...]:
    """Group words into lines: a word joins a row when its middle is within half its height of the row's.

    Words farther apart than :data:`COLUMN_GAP` times their height (``aspect`` is the page's
    height over its width, to compare both in one unit) become separate lines that share their
    ``row`` number: two columns side by side are two lines, and a label can still be
    found to the left of a right-aligned value on the same row.
    """
    rows: list[list[Word]] = []
    centres: list[float] = []
    heights: list[float] = []
    for word in sorted(words, key=lambda w: (w.y_center, w.x0)):
        height = word.y1 - word.y0
        for index in range(len(rows) - 1, max(-1, len(rows) - 4), -1):
            if abs(word.y_center - centres[index]) <= 0.5 * max(height, heights[index]):
                rows[index].append(word)
                centres[index] = median(w.y_center for w in rows[index])
                heights[index] = median(w.y1 - w.y0 for w in rows[index])
                break
        else:
            rows.append([word])
            centres.append(word.y_center)
            heights.append(height)
    rows.sort(key=lambda row: min(w.y0 for w in row))
    lines: list[Line] = []
    for number, row in enumerate(rows):
        row.sort(key=lambda w: w.x0)
        lines.extend(_line(page, number, chunk) for chunk in _split_columns(row, aspect))
    return tuple(lines)


def _split_columns(row: list[Word], aspect: float) -> list[list[Word]]:
    """Split a row where the gap between two words is much wider than a space."""
    chunks = [[row[0]]]
    height = median(w.y1 - w.y0 for w in row) * aspect
    for previous, word in pairwise(row):
        if word.x0 - previous.x1 > COLUMN_GAP * height:
            chunks.append([word])
        else:
            chunks[-1].append(word)
    return chunks


def _line(page: int, row: int, words: list[Word]) -> Line:
    starts = []
    position = 0
    for word in words:
        starts.append(position)
        position += len(word.text) + 1
    return Line(
        page=page, row=row, words=tuple(words), text=" ".join(w.text for w in words), starts=tuple(starts)
    )


def merged_rows(lines: list[Line]) -> list[Line]:
    """One line per row, its columns joined left to right (a label and a value far apart meet)."""
    rows: dict[tuple[int, int], list[Line]] = {}
    for line in lines:
        rows.setdefault((line.page, line.row), []).append(line)
    merged = []
    for (page, row), parts in sorted(rows.items()):
        words = [word for part in sorted(parts, key=lambda p: p.x0) for word in part.words]
        merged.append(_line(page, row, words))
    return merged

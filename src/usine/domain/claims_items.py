"""The lines of an invoice's table: description, quantity, unit price, amount.

Rows are read between a header row (a column headed by a description word, and a quantity or
price column) and the first totals row; a row ``2 x Description ... 90,00`` counts without a
header. The description word must open its column's heading: a grid of labels such as
``N° facture | Date de prestation | Total TTC`` over one row of values is not a table of lines.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from usine.domain.claims import Extracted, LineItem
from usine.domain.claims_parsing import find_amounts, fold
from usine.domain.claims_text import Line

ITEM_CONFIDENCE = 0.8
_HEADER_DESCRIPTION = re.compile(r"designation|description|prestation|acte\b|article|libelle")
_HEADER_NUMBERS = re.compile(r"qte|quantite|\bnb\b|prix|tarif|montant|total|\bpu\b|p\.u")
_TOTALS = re.compile(r"total|montant|net a payer|tva|t\.v\.a|\bht\b")
_TIMES = re.compile(r"^(\d{1,3})\s*x\s+(\D.*)$", re.IGNORECASE)


def _rows(lines: list[Line]) -> list[list[Line]]:
    rows: dict[tuple[int, int], list[Line]] = defaultdict(list)
    for line in lines:
        rows[(line.page, line.row)].append(line)
    return [sorted(rows[key], key=lambda line: line.x0) for key in sorted(rows)]


def _value(value: object, line: Line, start: int, end: int) -> Extracted[object]:
    return Extracted(
        value=value,
        confidence=round(ITEM_CONFIDENCE * line.span_confidence(start, end), 4),
        page=line.page,
        bbox=line.span_box(start, end),
    )


def _item(row: list[Line], with_header: bool) -> LineItem | None:
    first = row[0]
    times = _TIMES.match(first.text)
    if times is None and not with_header:
        return None
    amounts = [(line, m) for line in row for m in find_amounts(line.text)]
    if not amounts:
        return None
    item = LineItem()
    if times is not None:
        item.quantity = _value(Decimal(times.group(1)), first, 0, len(times.group(1)))  # type: ignore[assignment]
        start = times.start(2)
        item.description = _value(times.group(2).strip(), first, start, len(first.text))  # type: ignore[assignment]
    else:
        if find_amounts(first.text):
            return None
        item.description = _value(first.text, first, 0, len(first.text))  # type: ignore[assignment]
        for line in row[1:]:
            try:
                quantity = Decimal(line.text.replace(",", "."))
            except InvalidOperation:
                continue
            item.quantity = _value(quantity, line, 0, len(line.text))  # type: ignore[assignment]
            break
    line, match = amounts[-1]
    item.amount = _value(match.value, line, match.start, match.end)  # type: ignore[assignment]
    if len(amounts) >= 2:
        line, match = amounts[-2]
        item.unit_price = _value(match.value, line, match.start, match.end)  # type: ignore[assignment]
    return item


def find_line_items(lines: list[Line]) -> list[LineItem]:
    """The invoice lines, top to bottom; empty when the document has no recognisable table."""
    items: list[LineItem] = []
    in_table = False
    for row in _rows(lines):
        text = fold(" ".join(line.text for line in row))
        described = any(_HEADER_DESCRIPTION.match(fold(line.text)) for line in row)
        if described and _HEADER_NUMBERS.search(text) and not find_amounts(text):
            in_table = True
            continue
        if _TOTALS.search(text) and find_amounts(text):
            in_table = False
            continue
        item = _item(row, in_table)
        if item is not None:
            items.append(item)
    return items

"""Six layout families of French claim documents, drawn with reportlab.

Families differ in where each block sits and in how a label relates to its value (same
line, right-aligned in a totals box, below it in a grid, after a dotted leader), so that
evaluation can hold whole families out of training and measure what the extractor learnt
rather than what it memorised.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from usine.claims_corpus.truth import Claim
from usine.claims_corpus.wording import Wording

WIDTH, HEIGHT = A4
MARGIN = 50.0

TITLES = {
    "garage": ("FACTURE", "Facture de réparation", "FACTURE ATELIER"),
    "windscreen": ("FACTURE", "Facture vitrage", "FACTURE PARE-BRISE"),
    "medical": ("Note d'honoraires", "FACTURE", "Facture de soins"),
    "veterinary": ("FACTURE", "Facture vétérinaire", "Note d'honoraires vétérinaires"),
}


class Page:
    """A reportlab canvas addressed from the top of the page, with the document's fonts."""

    def __init__(self, canvas: Canvas, wording: Wording, rng: random.Random) -> None:
        self.canvas = canvas
        self.w = wording
        self.rng = rng
        self.show_due = rng.random() < 0.7
        self.show_service = rng.random() < 0.7

    def optional(self, shown: bool, x: float, y: float, value: str) -> None:
        """Write ``value`` only when this document prints that fact (not every invoice does)."""
        if shown:
            self.text(x, y, value)

    def text(
        self, x: float, y: float, value: str, size: float = 9.5, bold: bool = False, align: str = "l"
    ) -> None:
        """Write ``value`` with its baseline ``y`` points below the top edge."""
        self.canvas.setFont(self.w.bold if bold else self.w.font, size)
        top = HEIGHT - y
        if align == "r":
            self.canvas.drawRightString(x, top, value)
        elif align == "c":
            self.canvas.drawCentredString(x, top, value)
        else:
            self.canvas.drawString(x, top, value)

    def rule(self, x0: float, y: float, x1: float) -> None:
        """A horizontal line."""
        self.canvas.line(x0, HEIGHT - y, x1, HEIGHT - y)

    def box(self, x: float, y: float, width: float, height: float) -> None:
        """A rectangle whose top-left corner is at (x, y)."""
        self.canvas.rect(x, HEIGHT - y - height, width, height)

    def lines(self, x: float, y: float, rows: list[str], size: float = 9.5, leading: float = 12.5) -> float:
        """Write rows one under the other; returns the ``y`` after the last."""
        for row in rows:
            self.text(x, y, row, size=size)
            y += leading
        return y

    def items(
        self, y: float, claim: Claim, columns: tuple[float, float, float, float], header: tuple[str, ...]
    ) -> float:
        """The table of billed lines; returns the ``y`` below it."""
        desc_x, qty_x, unit_x, amount_x = columns
        self.text(desc_x, y, header[0], bold=True)
        self.text(qty_x, y, header[1], bold=True, align="r")
        self.text(unit_x, y, header[2], bold=True, align="r")
        self.text(amount_x, y, header[3], bold=True, align="r")
        self.rule(desc_x, y + 4, amount_x)
        y += 17
        for item in claim.items:
            self.text(desc_x, y, item.description)
            self.text(qty_x, y, str(item.quantity), align="r")
            self.text(unit_x, y, self.w.amount(item.unit_price, currency=False), align="r")
            self.text(amount_x, y, self.w.amount(item.amount, currency=False), align="r")
            y += 14
        self.rule(desc_x, y - 8, amount_x)
        return y + 8

    def address(self, x: float, y: float, party_lines: list[str], size: float = 9.5) -> float:
        """An address block; returns the ``y`` after it."""
        return self.lines(x, y, party_lines, size=size)


def _supplier_lines(claim: Claim) -> list[str]:
    s = claim.supplier
    return [s.street, f"{s.postcode} {s.city}"]


def _customer_lines(claim: Claim) -> list[str]:
    c = claim.customer
    return [c.name, c.street, f"{c.postcode} {c.city}"]


def _vat_label(w: Wording, claim: Claim) -> str:
    return w.vat.format(rate=w.rate(claim.vat_rate))


def _totals_right(p: Page, y: float, claim: Claim, label_x: float, value_x: float) -> float:
    w = p.w
    rows = (
        (w.excl, claim.total_excl_tax, False),
        (_vat_label(w, claim), claim.vat_amount, False),
        (w.incl, claim.total_incl_tax, True),
    )
    for label, value, bold in rows:
        p.text(label_x, y, label, bold=bold)
        p.text(value_x, y, w.amount(value), bold=bold, align="r")
        y += 15
    return y


def _bank_block(p: Page, x: float, y: float, claim: Claim) -> float:
    w = p.w
    return p.lines(
        x,
        y,
        [
            f"{w.iban} {w.iban_text(claim.iban)}",
            f"{w.bic} {claim.bic}",
            f"{w.holder} {claim.holder}",
        ],
    )


def _legal(claim: Claim, rng: random.Random) -> list[str]:
    siret = rng.choice((f"SIRET : {claim.siret}", f"SIRET {claim.siret}", f"N° SIRET : {claim.siret}"))
    siren = rng.choice((f"SIREN : {claim.siren}", f"RCS {claim.supplier.city} {claim.siren}"))
    vat = rng.choice((f"TVA intracommunautaire : {claim.vat_number}", f"N° TVA : {claim.vat_number}"))
    return [siret, siren, vat]


def atelier(p: Page, claim: Claim) -> None:
    """Classic workshop invoice: supplier top left, customer top right, totals bottom right."""
    w, rng = p.w, p.rng
    p.text(MARGIN, 60, claim.supplier.name, size=14, bold=True)
    y = p.address(MARGIN, 78, _supplier_lines(claim))
    phone = " ".join(str(rng.randint(10, 99)) for _ in range(4))
    p.text(MARGIN, y, f"Tél. 0{rng.randint(1, 5)} {phone}")
    p.address(340, 130, _customer_lines(claim))
    title = rng.choice(TITLES[claim.kind])
    if rng.random() < 0.4:
        p.text(WIDTH - MARGIN, 60, title, size=16, bold=True, align="r")
    else:
        p.text(MARGIN, 200, title, size=16, bold=True)
    p.text(MARGIN, 225, f"{w.number} {claim.number}")
    p.text(MARGIN, 240, f"{w.date} {w.day(claim.date)}")
    p.optional(p.show_service, 300, 225, f"{w.service} {w.day(claim.service_date)}")
    if claim.kind == "garage":
        p.text(
            300,
            240,
            f"Immatriculation : {rng.choice('ABCDEFGH')}{rng.choice('KLMNPR')}-{rng.randint(100, 999)}-"
            f"{rng.choice('STUVWX')}{rng.choice('ABCDEF')}",
        )
    y = p.items(
        280, claim, (MARGIN, 360, 450, WIDTH - MARGIN), ("Désignation", "Qté", "P.U. HT", "Montant HT")
    )
    y = _totals_right(p, y + 10, claim, 360, WIDTH - MARGIN)
    p.optional(p.show_due, MARGIN, y + 15, f"{w.due} {w.day(claim.due_date)}")
    y = _bank_block(p, MARGIN, y + 45, claim)
    legal = _legal(claim, rng)
    p.text(WIDTH / 2, HEIGHT - 40, f"{claim.supplier.name} - {legal[0]} - {legal[2]}", size=7.5, align="c")


def bandeau(p: Page, claim: Claim) -> None:
    """Header band: name centred, address on one line, invoice facts in a box on the right."""
    w, rng = p.w, p.rng
    p.text(WIDTH / 2, 55, claim.supplier.name.upper(), size=17, bold=True, align="c")
    s = claim.supplier
    p.text(WIDTH / 2, 72, f"{s.street} - {s.postcode} {s.city}", align="c")
    legal = _legal(claim, rng)
    p.text(WIDTH / 2, 85, f"{legal[0]}  |  {legal[2]}", size=8, align="c")
    p.rule(MARGIN, 95, WIDTH - MARGIN)
    p.text(MARGIN, 125, "Facturé à :", bold=True)
    p.address(MARGIN, 140, _customer_lines(claim))
    p.box(320, 112, WIDTH - MARGIN - 320, 58)
    p.text(330, 128, f"{w.number} {claim.number}")
    p.text(330, 143, f"{w.date} {w.day(claim.date)}")
    p.optional(p.show_due, 330, 158, f"{w.due} {w.day(claim.due_date)}")
    p.text(MARGIN, 205, rng.choice(TITLES[claim.kind]), size=13, bold=True)
    y = p.items(
        235, claim, (MARGIN, 350, 440, WIDTH - MARGIN), ("Prestation", "Quantité", "Prix unitaire", "Total")
    )
    y = _totals_right(p, y + 5, claim, 330, WIDTH - MARGIN)
    p.text(MARGIN, y + 20, "Coordonnées bancaires", bold=True)
    _bank_block(p, MARGIN, y + 35, claim)


def honoraires(p: Page, claim: Claim) -> None:
    """Practitioner's note: one column, every fact as ``label : value`` on its own line."""
    w, rng = p.w, p.rng
    title_on_top = rng.random() < 0.4
    if title_on_top:
        p.text(WIDTH / 2, 40, rng.choice(TITLES[claim.kind]), size=15, bold=True, align="c")
    p.text(MARGIN, 60, claim.supplier.name, size=13, bold=True)
    y = p.address(MARGIN, 76, _supplier_lines(claim))
    legal = _legal(claim, rng)
    y = p.lines(MARGIN, y, [legal[0], legal[1]], size=8.5)
    if not title_on_top:
        p.text(WIDTH / 2, y + 30, rng.choice(TITLES[claim.kind]), size=15, bold=True, align="c")
    y = p.lines(
        MARGIN,
        y + 60,
        [
            f"{w.number} {claim.number}",
            f"{w.date} {w.day(claim.date)}",
            *([f"{w.service} {w.day(claim.service_date)}"] if p.show_service else []),
        ],
    )
    c = claim.customer
    p.text(MARGIN, y + 10, f"Patient / client : {c.name}, {c.street}, {c.postcode} {c.city}")
    y = p.items(y + 45, claim, (MARGIN, 380, 460, WIDTH - MARGIN), ("Acte", "Nb", "Tarif", "Montant"))
    y = p.lines(
        MARGIN,
        y + 10,
        [
            f"{w.excl} : {w.amount(claim.total_excl_tax)}",
            f"{_vat_label(w, claim)} : {w.amount(claim.vat_amount)}",
            f"{w.incl} : {w.amount(claim.total_incl_tax)}",
        ],
        leading=15,
    )
    p.text(MARGIN, y + 10, legal[2], size=8.5)
    _bank_block(p, MARGIN, y + 40, claim)


def clinique(p: Page, claim: Claim) -> None:
    """Two columns; invoice facts and totals in cells, each label printed above its value."""
    w, rng = p.w, p.rng
    p.text(MARGIN, 55, claim.supplier.name, size=15, bold=True)
    p.address(MARGIN, 72, _supplier_lines(claim))
    p.text(MARGIN, 110, rng.choice(TITLES[claim.kind]), size=12, bold=True)
    cells = [(w.number.rstrip(" :"), claim.number), (w.date.rstrip(" :"), w.day(claim.date))]
    if p.show_due:
        cells.insert(rng.randrange(3), (w.due.rstrip(" :"), w.day(claim.due_date)))
    if p.show_service:
        cells.insert(rng.randrange(len(cells) + 1), (w.service.rstrip(" :"), w.day(claim.service_date)))
    for index, (label, value) in enumerate(cells):
        x = MARGIN + index * 120.0
        p.box(x, 125, 115, 40)
        p.text(x + 6, 140, label, size=8)
        p.text(x + 6, 157, value, bold=True)
    p.address(330, 55, _customer_lines(claim))
    y = p.items(200, claim, (MARGIN, 360, 450, WIDTH - MARGIN), ("Description", "Qté", "Prix", "Montant"))
    totals = (
        (w.excl, claim.total_excl_tax),
        (_vat_label(w, claim), claim.vat_amount),
        (w.incl, claim.total_incl_tax),
    )
    for index, (total_label, amount) in enumerate(totals):
        x = MARGIN + index * 170.0
        p.box(x, y + 10, 160, 42)
        p.text(x + 6, y + 25, total_label, size=8)
        p.text(x + 154, y + 44, w.amount(amount), bold=index == 2, align="r")
    y += 85
    y = _bank_block(p, MARGIN, y + 25, claim)
    p.lines(MARGIN, y + 15, _legal(claim, rng), size=8)


def vitrage(p: Page, claim: Claim) -> None:
    """Grid: a header row of labels over a row of values; footer with legal and bank on one line."""
    w, rng = p.w, p.rng
    p.text(WIDTH - MARGIN, 55, claim.supplier.name, size=14, bold=True, align="r")
    s = claim.supplier
    p.text(WIDTH - MARGIN, 70, s.street, align="r")
    p.text(WIDTH - MARGIN, 83, f"{s.postcode} {s.city}", align="r")
    p.text(MARGIN, 55, rng.choice(TITLES[claim.kind]), size=18, bold=True)
    p.text(MARGIN, 110, "Client", bold=True)
    p.address(MARGIN, 124, _customer_lines(claim))
    headers = (w.number.rstrip(" :"), w.date.rstrip(" :"), w.service.rstrip(" :"), w.incl)
    values = (claim.number, w.day(claim.date), w.day(claim.service_date), w.amount(claim.total_incl_tax))
    for index, (label, value) in enumerate(zip(headers, values, strict=True)):
        x = MARGIN + index * 125.0
        p.box(x, 180, 122, 36)
        p.text(x + 5, 193, label, size=8)
        p.text(x + 5, 209, value, size=9.5)
    y = p.items(250, claim, (MARGIN, 340, 430, WIDTH - MARGIN), ("Article", "Qté", "PU HT", "Total HT"))
    rows = (
        (w.excl, claim.total_excl_tax),
        (_vat_label(w, claim), claim.vat_amount),
        (w.incl, claim.total_incl_tax),
    )
    for total_label, amount in rows:
        p.box(330, y, WIDTH - MARGIN - 330, 18)
        p.text(336, y + 13, total_label)
        p.text(WIDTH - MARGIN - 6, y + 13, w.amount(amount), align="r")
        y += 18
    legal = _legal(claim, rng)
    p.text(MARGIN, HEIGHT - 70, f"{claim.supplier.name} - {s.street} - {s.postcode} {s.city}", size=7.5)
    p.text(MARGIN, HEIGHT - 58, f"{legal[0]} - {legal[1]} - {legal[2]}", size=7.5)
    p.text(
        MARGIN,
        HEIGHT - 46,
        f"{w.iban} {w.iban_text(claim.iban)} - {w.bic} {claim.bic} - {w.holder} {claim.holder}",
        size=7.5,
    )


def ticket(p: Page, claim: Claim) -> None:
    """Typewriter note: Courier, upper-case labels, dotted leaders between label and value."""
    w, rng = p.w, p.rng
    s = claim.supplier
    y = p.lines(
        MARGIN,
        60,
        [claim.supplier.name.upper(), s.street, f"{s.postcode} {s.city.upper()}", "FRANCE"],
        size=10,
    )
    legal = _legal(claim, rng)
    y = p.lines(MARGIN, y + 5, [legal[0].upper(), legal[2].upper()], size=9)

    def leader(label: str, value: str, y: float) -> float:
        dots = "." * max(3, 34 - len(label))
        p.text(MARGIN, y, f"{label.upper()} {dots} {value}", size=10)
        return y + 14

    y = leader(w.number.rstrip(" :"), claim.number, y + 25)
    y = leader(w.date.rstrip(" :"), w.day(claim.date), y)
    if p.show_due:
        y = leader(w.due.rstrip(" :"), w.day(claim.due_date), y)
    c = claim.customer
    y = p.lines(
        MARGIN, y + 15, ["CLIENT:", c.name.upper(), c.street, f"{c.postcode} {c.city.upper()}"], size=10
    )
    y += 15
    for item in claim.items:
        p.text(MARGIN, y, f"{item.quantity} x {item.description}", size=10)
        p.text(WIDTH - MARGIN, y, w.amount(item.amount, currency=False), size=10, align="r")
        y += 13
    y += 10
    y = leader(w.excl, w.amount(claim.total_excl_tax), y)
    y = leader(_vat_label(w, claim), w.amount(claim.vat_amount), y)
    y = leader(w.incl, w.amount(claim.total_incl_tax), y)
    y = leader(w.iban.rstrip(" :"), w.iban_text(claim.iban), y + 15)
    y = leader(w.bic.rstrip(" :"), claim.bic, y)
    leader(w.holder.rstrip(" :"), claim.holder, y)


LAYOUTS: dict[str, Callable[[Page, Claim], None]] = {
    "atelier": atelier,
    "bandeau": bandeau,
    "honoraires": honoraires,
    "clinique": clinique,
    "vitrage": vitrage,
    "ticket": ticket,
}
FORCED_FONTS = {"ticket": "Courier"}
ITEM_FACTS = ("description", "quantity", "unit_price", "amount")
"""What a layout prints of each billed line, unless :data:`ITEM_FACTS_PRINTED` says less."""
ITEM_FACTS_PRINTED = {"ticket": ("description", "quantity", "amount")}
"""Layouts printing only part of each line: the ticket writes ``2 x Description ... amount``."""


def render_pdf(claim: Claim, layout: str, wording: Wording, rng: random.Random) -> bytes:
    """The claim drawn in ``layout`` as a one-page text PDF."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
    canvas.setTitle(f"Facture {claim.number}")
    LAYOUTS[layout](Page(canvas, wording, rng), claim)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()

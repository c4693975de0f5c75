"""How a document words and formats what it prints: labels, amounts, dates.

Each document draws one :class:`Wording`, so that a layout is seen with many label
wordings, fonts and number formats, and the extractor cannot learn one spelling by heart.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
FONTS = ("Helvetica", "Times-Roman", "Courier")
BOLD = {"Helvetica": "Helvetica-Bold", "Times-Roman": "Times-Bold", "Courier": "Courier-Bold"}

INCL_LABELS = ("Total TTC", "Net à payer", "Montant dû", "Total à payer", "Montant TTC", "Total T.T.C.")
EXCL_LABELS = ("Total HT", "Montant HT", "Sous-total HT", "Total hors taxes", "Total H.T.")
VAT_LABELS = ("TVA {rate} %", "TVA ({rate} %)", "Montant TVA {rate}%", "T.V.A. {rate} %", "TVA à {rate} %")
NUMBER_LABELS = (
    "Facture n°",
    "Facture N°",
    "N° de facture",
    "Numéro de facture",
    "Réf. facture",
    "Facture No",
)
DATE_LABELS = ("Date :", "Date de facture :", "Date d'émission :", "Émise le", "Facturé le", "Date facture :")
DUE_LABELS = ("Échéance :", "Date d'échéance :", "À régler avant le", "Paiement au")
SERVICE_LABELS = ("Date d'intervention :", "Date des soins :", "Réalisé le", "Date de prestation :")
IBAN_LABELS = ("IBAN :", "IBAN", "Code IBAN :")
BIC_LABELS = ("BIC :", "BIC", "Code BIC :", "SWIFT/BIC :")
HOLDER_LABELS = ("Titulaire :", "Titulaire du compte :", "Bénéficiaire :")


@dataclass(frozen=True)
class Wording:
    """One document's choice of labels and formats."""

    font: str
    incl: str
    excl: str
    vat: str
    number: str
    date: str
    due: str
    service: str
    iban: str
    bic: str
    holder: str
    amount_style: int
    date_style: int
    currency_style: int
    group_iban: bool

    @property
    def bold(self) -> str:
        """The bold face of :attr:`font`."""
        return BOLD[self.font]

    def amount(self, value: Decimal, currency: bool = True) -> str:
        """``value`` as this document prints money, e.g. ``1 234,56 €``."""
        sign = "-" if value < 0 else ""
        units, cents = f"{abs(value):.2f}".split(".")
        if self.amount_style == 0:
            grouped = f"{int(units):,}".replace(",", " ")
        elif self.amount_style == 1:
            grouped = f"{int(units):,}".replace(",", ".")
        else:
            grouped = units
        text = f"{sign}{grouped},{cents}"
        if not currency:
            return text
        return f"{text} €" if self.currency_style == 0 else f"{text} EUR"

    def rate(self, value: Decimal) -> str:
        """A VAT rate as printed: ``20``, ``5,5`` or ``20,0``."""
        if value == value.to_integral_value():
            return str(int(value)) if self.amount_style != 2 else f"{int(value)},0"
        return f"{value}".replace(".", ",")

    def day(self, value: dt.date) -> str:
        """A date as this document prints it."""
        if self.date_style == 0:
            return value.strftime("%d/%m/%Y")
        if self.date_style == 1:
            return f"{value.day} {MONTHS[value.month - 1]} {value.year}"
        if self.date_style == 2:
            return value.isoformat()
        return value.strftime("%d.%m.%Y")

    def iban_text(self, iban: str) -> str:
        """An IBAN in groups of four (as printed on a RIB) or compact."""
        if not self.group_iban:
            return iban
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def draw_wording(rng: random.Random, font: str | None = None) -> Wording:
    """A random wording; ``font`` forces the typeface (a layout that always uses one)."""
    return Wording(
        font=font or rng.choice(FONTS),
        incl=rng.choice(INCL_LABELS),
        excl=rng.choice(EXCL_LABELS),
        vat=rng.choice(VAT_LABELS),
        number=rng.choice(NUMBER_LABELS),
        date=rng.choice(DATE_LABELS),
        due=rng.choice(DUE_LABELS),
        service=rng.choice(SERVICE_LABELS),
        iban=rng.choice(IBAN_LABELS),
        bic=rng.choice(BIC_LABELS),
        holder=rng.choice(HOLDER_LABELS),
        amount_style=rng.randrange(3),
        date_style=rng.randrange(4),
        currency_style=rng.randrange(2),
        group_iban=rng.random() < 0.7,
    )

"""Recognise and normalise the values printed on French invoices: amounts, dates, numbers.

Each ``find_*`` function returns the matches in one line of text as :class:`Match` (value,
start, end), so that the caller can locate them on the page. Patterns tolerate what OCR does
to them (a decimal point for a comma, spaces inside groups, a missing accent).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Generic, TypeVar

V = TypeVar("V")

MONTHS = {
    "janvier": 1,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "decembre": 12,
}


@dataclass(frozen=True)
class Match(Generic[V]):
    """A value recognised in a line, and the characters it spans."""

    value: V
    start: int
    end: int


@lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """Lower case without accents: ``Échéance`` → ``echeance``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


_AMOUNT = re.compile(
    r"(?<![\w,.])(?:€\s?)?(-?(?:\d{1,3}(?:[ .\u202f\u00a0]\d{3})+|\d+)[,.]\d{2})(?![\d%]|[.,/-]\d)"
    r"(\s?(?:€|EUR|euros?))?",
    re.IGNORECASE,
)


def parse_amount(text: str) -> Decimal | None:
    """``1 234,56``, ``1.234,56``, ``1234.56`` → ``Decimal('1234.56')``; ``None`` if not money."""
    cleaned = re.sub(r"[ \u202f\u00a0]", "", text.strip())
    if not re.fullmatch(r"-?(?:\d{1,3}(?:\.\d{3})+|\d+)[,.]\d{2}", cleaned):
        return None
    units, cents = cleaned[:-3], cleaned[-2:]
    try:
        return Decimal(f"{units.replace('.', '')}.{cents}")
    except InvalidOperation:
        return None


def find_amounts(line: str) -> list[Match[Decimal]]:
    """Every amount of money in ``line`` (with or without a currency sign)."""
    found = []
    for match in _AMOUNT.finditer(line):
        value = parse_amount(match.group(1))
        if value is not None:
            found.append(Match(value, match.start(1), match.end(1)))
    return found


def has_currency_after(line: str, end: int) -> bool:
    """Whether a currency sign follows the character ``end`` of ``line``."""
    return bool(re.match(r"\s?(€|eur)", line[end : end + 5], re.IGNORECASE))


_PERCENT = re.compile(r"(?<![\d,.])(\d{1,2}(?:[,.]\d{1,2})?)\s?[%$]")
"""A percentage; ``$`` too, which is how Tesseract often reads ``%`` in Courier."""


def find_percents(line: str) -> list[Match[Decimal]]:
    """Every percentage in ``line``: ``20 %``, ``5,5%``."""
    return [Match(percent(m.group(1)), m.start(1), m.end(1)) for m in _PERCENT.finditer(line)]


def percent(text: str) -> Decimal:
    """``20``, ``20,0`` → ``Decimal('20')``; ``5,5`` → ``Decimal('5.5')`` (no exponent, no trailing 0)."""
    value = Decimal(text.replace(",", "."))
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?!\d)")
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_WORD_DATE = re.compile(r"(?<!\d)(\d{1,2})(?:er)?\s+([a-zéèûô]+)\s+(\d{4})(?!\d)", re.IGNORECASE)


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def find_dates(line: str) -> list[Match[dt.date]]:
    """Every date in ``line``: ``03/11/2026``, ``3 novembre 2026``, ``2026-11-03``, ``03.11.2026``."""
    found: list[Match[dt.date]] = []
    for m in _ISO_DATE.finditer(line):
        date = _date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if date:
            found.append(Match(date, m.start(), m.end()))
    for m in _NUMERIC_DATE.finditer(line):
        date = _date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if date:
            found.append(Match(date, m.start(), m.end()))
    for m in _WORD_DATE.finditer(line):
        month = MONTHS.get(fold(m.group(2)))
        date = _date(int(m.group(3)), month, int(m.group(1))) if month else None
        if date:
            found.append(Match(date, m.start(), m.end()))
    return sorted(found, key=lambda f: f.start)


_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?:\s?[A-Z0-9]){11,30})\b")
IBAN_LENGTHS = {"FR": 27, "MC": 27, "DE": 22, "BE": 16, "ES": 24, "IT": 27, "LU": 20, "NL": 18, "CH": 21}


def find_ibans(line: str) -> list[Match[str]]:
    """IBANs in ``line``, compacted (no spaces), cut to their country's length."""
    found = []
    for m in _IBAN.finditer(line.upper()):
        compact = re.sub(r"\s", "", m.group(1))
        length = IBAN_LENGTHS.get(compact[:2])
        if length is not None:
            if len(compact) < length:
                continue
            compact = compact[:length]
        found.append(Match(compact, m.start(1), m.end(1)))
    return found


BIC_COUNTRIES = frozenset(("FR", "MC", "DE", "BE", "ES", "IT", "LU", "NL", "CH", "GB", "PT", "AT", "IE"))
_BIC = re.compile(r"\b([A-Z]{4}([A-Z]{2})[A-Z0-9]{2}(?:[A-Z0-9]{3})?)\b")


def find_bics(line: str) -> list[Match[str]]:
    """Words shaped like a BIC (bank, country, location, optional branch) in ``line``."""
    return [
        Match(m.group(1), m.start(1), m.end(1)) for m in _BIC.finditer(line) if m.group(2) in BIC_COUNTRIES
    ]


_DIGIT_GROUPS = re.compile(r"(?<![\dA-Z])(\d[\d ]{7,18}\d)(?!\d)")


def find_company_numbers(line: str) -> list[Match[str]]:
    """Runs of 9 digits (SIREN) or 14 digits (SIRET), spaces removed."""
    found = []
    for m in _DIGIT_GROUPS.finditer(line):
        digits = m.group(1).replace(" ", "")
        if len(digits) in (9, 14):
            found.append(Match(digits, m.start(1), m.end(1)))
    return found


_VAT_NUMBER = re.compile(r"\b(FR\s?[0-9A-Z]{2}\s?\d{3}\s?\d{3}\s?\d{3})\b")


def find_vat_numbers(line: str) -> list[Match[str]]:
    """French intra-EU VAT numbers (``FR`` + 2 key characters + SIREN), compacted."""
    return [
        Match(m.group(1).replace(" ", ""), m.start(1), m.end(1)) for m in _VAT_NUMBER.finditer(line.upper())
    ]


_POSTCODE_CITY = re.compile(
    r"(?<!\d)(\d{5})\s+([A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'\-]*(?:[ \-][A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'\-]*){0,3})"
)
STREET_WORDS = (
    "rue|avenue|av\\.|boulevard|bd|chemin|allee|place|impasse|route|quai|cours|square|"
    "passage|zone|za|zi|lieu-dit|lotissement|residence|voie"
)
_STREET = re.compile(
    rf"(?<!\d)(\d{{1,4}}(?:\s?(?:bis|ter))?,?\s+(?:{STREET_WORDS})\b[^,]*?)(?=\s+-\s+|,|$)", re.IGNORECASE
)


def find_postcode_cities(line: str) -> list[Match[tuple[str, str]]]:
    """``75011 Paris`` → ``("75011", "Paris")``, the city cut before a separator."""
    found = []
    for m in _POSTCODE_CITY.finditer(line):
        city = re.split(r"\s[-|]\s|\s{2,}", m.group(2))[0].strip(" -")
        found.append(Match((m.group(1), city), m.start(), m.start(2) + len(city)))
    return found


def find_streets(line: str) -> list[Match[str]]:
    """``12 rue des Lilas`` (a number, a kind of way, a name) in ``line``."""
    found = []
    for m in _STREET.finditer(fold_keep(line)):
        street = line[m.start(1) : m.end(1)].strip()
        found.append(Match(street, m.start(1), m.start(1) + len(street)))
    return found


def fold_keep(text: str) -> str:
    """``text`` with accents folded for matching but the same length (one character per character)."""
    return "".join(fold(c)[:1] or c for c in text)


_REFERENCE = re.compile(r"(?<![\w/-])([A-Z0-9][A-Z0-9/\-_.]{2,20}[A-Z0-9])(?![\w/-])", re.IGNORECASE)


def find_references(line: str) -> list[Match[str]]:
    """Words that may be a document number: letters, digits, ``-`` or ``/``, with a digit."""
    found = []
    for m in _REFERENCE.finditer(line):
        token = m.group(1)
        digits = sum(c.isdigit() for c in token)
        if digits >= 2 and digits >= len(token) / 3:
            found.append(Match(token, m.start(1), m.end(1)))
    return found

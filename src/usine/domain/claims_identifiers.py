"""Identifiers found by their shape and label: IBAN, BIC, SIRET, SIREN, VAT number, account holder.

These values have strict formats (and check digits, verified in :mod:`claims_checks`), so a
pattern next to its label finds them without a model. Each ``find`` returns one
:class:`Found` (or ``None``), the first printed occurrence preferred when a label names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from usine.domain.claims_parsing import (
    find_bics,
    find_company_numbers,
    find_ibans,
    find_vat_numbers,
    fold_keep,
)
from usine.domain.claims_text import Line


@dataclass(frozen=True)
class Found:
    """A value, the line it was read from and its characters there."""

    value: str
    line: Line
    start: int
    end: int
    labelled: bool


_CONFUSED = str.maketrans("OoQDIlSZB", "000011528")
_NEXT_TO_DIGIT = re.compile(r"(?<=\d)[OoQDIlSZB]|[OoQDIlSZB](?=\d)")


def digits_as_read(text: str) -> str:
    """``text`` with letters OCR confuses with digits (O, I, S...) read as digits next to a digit.

    Identifiers are digits where OCR often reads ``0`` as ``O`` (``FRO8…``); the length is kept,
    so positions in the line still hold.
    """
    return _NEXT_TO_DIGIT.sub(lambda m: m.group().translate(_CONFUSED), text)


def _labelled(line: Line, start: int, label: str) -> bool:
    return bool(re.search(label, fold_keep(line.text[:start]).lower()))


def _first(found: list[Found]) -> Found | None:
    labelled = [f for f in found if f.labelled]
    chosen = labelled or found
    return chosen[0] if chosen else None


def find_iban(lines: list[Line]) -> Found | None:
    """The IBAN, preferring one printed after an ``IBAN`` label."""
    return _first(
        [
            Found(m.value, line, m.start, m.end, _labelled(line, m.start, r"iban"))
            for line in lines
            for m in find_ibans(digits_as_read(line.text))
        ]
    )


def find_bic(lines: list[Line]) -> Found | None:
    """The BIC: only a word printed after a ``BIC``/``SWIFT`` label (a bare word is too ambiguous)."""
    found = [
        Found(m.value, line, m.start, m.end, True)
        for line in lines
        for m in find_bics(line.text)
        if _labelled(line, m.start, r"bic|swift")
    ]
    return _first(found)


def find_siret(lines: list[Line]) -> Found | None:
    """A 14-digit SIRET, preferring one after a ``SIRET`` label."""
    return _first(
        [
            Found(m.value, line, m.start, m.end, _labelled(line, m.start, r"siret"))
            for line in lines
            for m in find_company_numbers(digits_as_read(line.text))
            if len(m.value) == 14
        ]
    )


def find_siren(lines: list[Line]) -> Found | None:
    """A 9-digit SIREN printed after a ``SIREN`` or ``RCS`` label."""
    return _first(
        [
            Found(m.value, line, m.start, m.end, True)
            for line in lines
            for m in find_company_numbers(digits_as_read(line.text))
            if len(m.value) == 9 and _labelled(line, m.start, r"siren|rcs")
        ]
    )


def find_vat_number(lines: list[Line]) -> Found | None:
    """The French intra-EU VAT number (``FR`` + key + SIREN)."""
    return _first(
        [
            Found(m.value, line, m.start, m.end, _labelled(line, m.start, r"tva|vat|intra"))
            for line in lines
            for m in find_vat_numbers(digits_as_read(line.text))
        ]
    )


_HOLDER = re.compile(r"(titulaire(?: du compte)?|beneficiaire)\s*[:.]*\s*(?:\.{2,}\s*)?", re.IGNORECASE)


_PUNCTUATION = re.compile(r"[\s.,:;_…'-]*")


def find_holder(lines: list[Line]) -> Found | None:
    """The account holder: what follows a ``Titulaire`` or ``Bénéficiaire`` label, to the next separator."""
    for line in lines:
        folded = fold_keep(line.text).lower()
        m = _HOLDER.search(folded)
        if not m:
            continue
        start = m.end() + len(_PUNCTUATION.match(line.text, m.end()).group())  # type: ignore[union-attr]
        rest = line.text[start:]
        cut = re.search(r"\s[-|]\s", rest)
        value = re.sub(r"^[^A-Za-zÀ-ÿ]+", "", rest[: cut.start()] if cut else rest).strip(" :.")
        if value:
            begin = line.text.index(value, start)
            return Found(value, line, begin, begin + len(value), True)
    return None

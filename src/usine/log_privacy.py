"""Personal data never reaches the logs in clear: a filter that masks IBANs, names and addresses.

:func:`install` puts :class:`MaskingFilter` on every handler of the root logger and of
uvicorn's loggers, so that whatever logs a message (usine, a library, the access log of a
path holding an IBAN) goes through it. The message and each string argument are masked
(arguments stay arguments: uvicorn's access formatter reads them by position).

What is masked:

* IBANs (two letters, two check digits, 11 to 30 alphanumerics, spaced or not): the country
  and check digits stay, the rest becomes ``*``;
* e-mail addresses;
* names after a civility (``M.``, ``Mme``, ``Mr``, ``Mrs``, ``Ms``, ``Monsieur``, ``Madame``);
* the value of fields that hold a name, an address or bank details (``holder=…``,
  ``"street": "…"``...);
* street addresses (a number, a street type such as *rue* or *avenue*, and what follows up to
  the end of the clause) and a French postcode followed by a city.
"""

from __future__ import annotations

import logging
import re

MASK = "***"
IBAN = re.compile(r"\b([A-Z]{2}\d{2})((?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)\b")
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
CIVILITY = re.compile(
    r"\b(M\.|Mme|Mlle|Mr\.?|Mrs\.?|Ms\.?|Monsieur|Madame|Mademoiselle)\s+[A-ZÀ-Þ][\w'-]+(?:\s+[A-ZÀ-Þ][\w'-]+)*"
)
PERSONAL_FIELDS = (
    "holder|account_holder|customer_name|first_name|last_name|full_name|nom|prenom|prénom|titulaire|"
    "street|address|adresse|city|ville|postcode|postal_code|code_postal|iban|bic|email|phone"
)
FIELD_VALUE = re.compile(
    rf"""(?ix)(["']?\b(?:{PERSONAL_FIELDS})\b["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^,;\n}}\]]+)"""
)
STREET = re.compile(
    r"(?i)\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|av\.|boulevard|bd|chemin|place|allée|allee|"
    r"impasse|route|quai|cours|square|street|st\.|road|rd\.)\b[^,;\n\"']*"
)
POSTCODE_CITY = re.compile(r"\b\d{5}\s+[A-ZÀ-Þ][A-Za-zÀ-ÿ'-]+(?:[ -][A-ZÀ-Þ][A-Za-zÀ-ÿ'-]+)*")


def mask(text: str) -> str:
    """``text`` with IBANs, e-mails, names and addresses masked."""
    text = FIELD_VALUE.sub(lambda m: m.group(1) + MASK, text)
    text = IBAN.sub(lambda m: m.group(1) + "*" * len(m.group(2).replace(" ", "")), text)
    text = EMAIL.sub(MASK, text)
    text = CIVILITY.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = STREET.sub(MASK, text)
    return POSTCODE_CITY.sub(MASK, text)


def _masked(value: object) -> object:
    """A log argument masked: numbers as they are, anything else masked as its text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask(value if isinstance(value, str) else str(value))


class MaskingFilter(logging.Filter):
    """Masks personal data in a record's message and string arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place."""
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(arg) for arg in record.args)
        elif isinstance(record.args, dict):  # one mapping argument: "%(key)s" or "%s" of the mapping
            if "%(" in str(record.msg):
                record.args = {key: _masked(value) for key, value in record.args.items()}
            else:
                record.args = (mask(str(record.args)),)
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        return True


LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")


def install() -> None:
    """Put the masking filter on every handler of the root and uvicorn loggers (once each)."""
    for name in LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, MaskingFilter) for f in handler.filters):
                handler.addFilter(MaskingFilter())

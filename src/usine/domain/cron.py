"""Cron expressions as Kubernetes CronJobs and crontab read them: five fields or a macro."""

from __future__ import annotations

import re

from usine.domain.errors import InvalidSchedule

MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, lowest, highest, names of values from lowest on)
FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),
)
ITEM = re.compile(r"^(?P<range>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?$")


def check_cron(expression: str) -> str:
    """Check a cron expression and return it normalised (single spaces, lower case).

    Raises:
        InvalidSchedule: the expression is not five valid fields or a known macro.

    """
    normalised = " ".join(expression.lower().split())
    if normalised in MACROS:
        return normalised
    fields = normalised.split(" ")
    if len(fields) != len(FIELDS):
        raise InvalidSchedule(f"{expression!r}: a cron expression has 5 fields, not {len(fields)}")
    for text, (name, lowest, highest, names) in zip(fields, FIELDS, strict=True):
        for item in text.split(","):
            _check_item(item, name, lowest, highest, names)
    return normalised


def _check_item(item: str, name: str, lowest: int, highest: int, names: tuple[str, ...]) -> None:
    matched = ITEM.match(item)
    if matched is None or (matched["step"] is not None and int(matched["step"]) == 0):
        raise InvalidSchedule(f"{name} field: {item!r} is not a value, a range or a step")
    if matched["range"] == "*":
        return
    values = [_value(part, name, lowest, highest, names) for part in matched["range"].split("-")]
    if values != sorted(values):
        raise InvalidSchedule(f"{name} field: the range {matched['range']!r} runs backwards")


def _value(text: str, name: str, lowest: int, highest: int, names: tuple[str, ...]) -> int:
    if text in names:
        return lowest + names.index(text)
    if not text.isdigit() or not lowest <= int(text) <= highest:
        raise InvalidSchedule(f"{name} field: {text!r} is not between {lowest} and {highest}")
    return int(text)

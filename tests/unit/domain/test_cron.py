"""Cron expressions: what Kubernetes and crontab accept is accepted, the rest named precisely."""

import pytest

from usine.domain.cron import check_cron
from usine.domain.errors import InvalidSchedule


@pytest.mark.parametrize(
    ("expression", "normalised"),
    [
        ("0 2 * * 1", "0 2 * * 1"),
        ("*/15  0-6,22,23 * JAN-jun mon-fri", "*/15 0-6,22,23 * jan-jun mon-fri"),
        ("@Daily", "@daily"),
        ("59 23 31 12 7", "59 23 31 12 7"),
    ],
)
def test_valid_expressions_are_normalised(expression: str, normalised: str) -> None:
    assert check_cron(expression) == normalised


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 2 * *", "5 fields, not 4"),
        ("60 * * * *", "minute field: '60' is not between 0 and 59"),
        ("0 24 * * *", "hour field: '24'"),
        ("0 0 0 * *", "day of month field: '0'"),
        ("0 0 * 13 *", "month field: '13'"),
        ("0 0 * * 8", "day of week field: '8'"),
        ("0 0 * * fri-mon", "runs backwards"),
        ("*/0 * * * *", "not a value, a range or a step"),
        ("@sometimes", "5 fields, not 1"),
    ],
)
def test_invalid_expressions_say_which_field_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(InvalidSchedule, match=message):
        check_cron(expression)

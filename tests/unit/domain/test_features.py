from typing import Any

import pytest

from usine.domain.errors import InvalidInput, MalformedRequest
from usine.domain.features import FeatureKind, FeatureSpec, InputSchema

SCHEMA = InputSchema(
    "loan",
    [
        FeatureSpec(name="age", kind=FeatureKind.INTEGER, minimum=18, maximum=120),
        FeatureSpec(name="amount", kind=FeatureKind.NUMBER, minimum=1),
        FeatureSpec(name="housing", kind=FeatureKind.CATEGORY, categories=("own", "rent")),
    ],
)
VALID = {"age": 40, "amount": 1500.5, "housing": "own"}


def broken_fields(payload: Any) -> list[tuple[int | None, str]]:
    with pytest.raises(InvalidInput) as caught:
        SCHEMA.validate(payload)
    return [(error.index, error.field) for error in caught.value.errors]


def test_one_record_is_accepted_as_such() -> None:
    records, single = SCHEMA.validate(dict(VALID))
    assert single
    assert records == [VALID]


def test_a_list_keeps_its_order_and_integer_amounts_become_numbers() -> None:
    second = {**VALID, "age": 18, "amount": 2}
    records, single = SCHEMA.validate([VALID, second])
    assert not single
    assert records == [VALID, second]
    assert isinstance(records[1]["amount"], float)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"age": "forty"}, "age"),
        ({"age": 40.5}, "age"),
        ({"age": True}, "age"),
        ({"age": 17}, "age"),
        ({"amount": float("nan")}, "amount"),
        ({"amount": float("inf")}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": "1500"}, "amount"),
        ({"housing": "castle"}, "housing"),
        ({"housing": 1}, "housing"),
        ({"agee": 40}, "agee"),
    ],
)
def test_each_broken_field_is_named(change: dict[str, Any], field: str) -> None:
    assert broken_fields({**VALID, **change}) == [(None, field)]


def test_errors_in_a_list_carry_the_record_index() -> None:
    missing_age = {key: value for key, value in VALID.items() if key != "age"}
    assert broken_fields([VALID, missing_age, {**VALID, "housing": "boat"}]) == [(1, "age"), (2, "housing")]


def test_the_message_lists_the_allowed_categories() -> None:
    with pytest.raises(InvalidInput) as caught:
        SCHEMA.validate({**VALID, "housing": "castle"})
    assert "'own' or 'rent'" in caught.value.errors[0].message


@pytest.mark.parametrize("payload", ["a record", 42, None, []])
def test_a_body_that_is_neither_record_nor_list_is_malformed(payload: Any) -> None:
    with pytest.raises(MalformedRequest):
        SCHEMA.validate(payload)


def test_json_schema_publishes_types_and_domains() -> None:
    schema = SCHEMA.json_schema()
    assert schema["title"] == "LoanRecord"
    assert set(schema["required"]) == {"age", "amount", "housing"}
    assert schema["additionalProperties"] is False
    assert schema["properties"]["age"] == {"type": "integer", "minimum": 18, "maximum": 120, "title": "Age"}
    assert schema["properties"]["housing"]["enum"] == ["own", "rent"]

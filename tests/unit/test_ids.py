"""Prediction and request ids are time-ordered version 7 UUIDs, as clients and the database expect."""

import time
import uuid

from usine.domain.ids import uuid7_texts


def test_ids_are_canonical_random_version_7_uuids_and_never_repeat() -> None:
    texts = uuid7_texts(2000)
    parsed = [uuid.UUID(text) for text in texts]
    assert all(str(value) == text for value, text in zip(parsed, texts, strict=True))
    assert {value.version for value in parsed} == {7}
    assert {value.variant for value in parsed} == {uuid.RFC_4122}
    assert len(set(texts)) == 2000
    # Every random digit takes many values (the variant digit its four): nothing is stuck.
    random_positions = [*range(15, 18), *range(20, 23), *range(24, 36)]
    assert all(len({text[i] for text in texts}) > 8 for i in random_positions)
    assert {text[19] for text in texts} == set("89ab")


def test_ids_carry_the_time_they_were_made_so_later_ones_sort_after() -> None:
    before = time.time_ns() // 1_000_000
    (first,) = uuid7_texts(1)
    after = time.time_ns() // 1_000_000
    assert before <= uuid.UUID(first).int >> 80 <= after
    while time.time_ns() // 1_000_000 == after:  # the next millisecond
        time.sleep(0.0005)
    assert all(later > first for later in uuid7_texts(50))

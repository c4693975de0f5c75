"""Prediction and request ids are random version 4 UUIDs, as clients and the database expect."""

import uuid

from usine.domain.ids import uuid4_texts


def test_ids_are_canonical_random_uuids_and_never_repeat() -> None:
    texts = uuid4_texts(2000)
    parsed = [uuid.UUID(text) for text in texts]
    assert all(str(value) == text for value, text in zip(parsed, texts, strict=True))
    assert {value.version for value in parsed} == {4}
    assert {value.variant for value in parsed} == {uuid.RFC_4122}
    assert len(set(texts)) == 2000
    # Every random digit takes many values (the variant digit its four): nothing is stuck.
    random_positions = [i for i in range(36) if i not in (8, 13, 14, 18, 19, 23)]
    assert all(len({text[i] for text in texts}) > 8 for i in random_positions)
    assert {text[19] for text in texts} == set("89ab")

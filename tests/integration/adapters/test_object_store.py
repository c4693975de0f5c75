"""Raw claim files by content key: a local folder and an fsspec URL behave alike."""

import hashlib
import uuid
from pathlib import Path

import pytest

from usine.adapters.object_store import ObjectStore
from usine.domain.errors import StoredFileNotFound


@pytest.fixture(params=["folder", "file-url", "memory-url"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "folder":
        return ObjectStore(str(tmp_path / "objects"))
    if request.param == "file-url":
        return ObjectStore((tmp_path / "objects").as_uri())
    return ObjectStore(f"memory://claims-api-{uuid.uuid4().hex}")


def test_a_file_is_stored_under_the_sha256_of_its_bytes_and_read_back(store: ObjectStore) -> None:
    content = b"%PDF-1.7 invoice 1234,56 EUR"
    key, created = store.put(content)
    assert key == hashlib.sha256(content).hexdigest()
    assert created
    assert store.exists(key)
    assert store.get(key) == content


def test_the_same_bytes_are_stored_once(store: ObjectStore) -> None:
    first = store.put(b"same bytes")
    second = store.put(b"same bytes")
    assert first[0] == second[0]
    assert (first[1], second[1]) == (True, False)


def test_a_deleted_file_is_gone(store: ObjectStore) -> None:
    key, _ = store.put(b"erase me")
    assert store.delete(key)
    assert not store.exists(key)
    with pytest.raises(StoredFileNotFound):
        store.get(key)
    assert not store.delete(key)


@pytest.mark.parametrize("key", ["../../etc/passwd", "A" * 64, "ab", "0" * 63 + "/"])
def test_anything_but_a_content_key_is_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(StoredFileNotFound, match="not a content key"):
        store.get(key)


def test_a_folder_store_keeps_only_whole_files_under_sharded_keys(tmp_path: Path) -> None:
    store = ObjectStore(str(tmp_path / "objects"))
    key, _ = store.put(b"x" * 100_000)
    files = [p for p in (tmp_path / "objects").rglob("*") if p.is_file()]
    assert files == [tmp_path / "objects" / key[:2] / key]
    assert files[0].stat().st_size == 100_000

"""Raw claim files, kept under content-addressed keys in a folder or any fsspec store.

A file's key is the SHA-256 of its bytes, never the name a client gave it: the same bytes are
stored once, a key cannot reach outside the store, and a client's name (``../../etc``) is
never a path. The default is a local folder; an ``s3://bucket/prefix`` URL (with the ``s3``
extra installed) or any other fsspec URL puts the same files in an object store.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from usine.domain.errors import StoredFileNotFound

_KEY = re.compile(r"^[0-9a-f]{64}$")


def content_key(content: bytes) -> str:
    """The key ``content`` is stored under: the hex SHA-256 of its bytes."""
    return hashlib.sha256(content).hexdigest()


class ObjectStore:
    """Put, get, check and delete raw files by content key.

    Args:
        url: a folder path or an fsspec URL (``s3://bucket/prefix``, ``memory://name``...).

    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._fs, self._root = fsspec.core.url_to_fs(url)
        self._local = isinstance(self._fs, LocalFileSystem)

    def put(self, content: bytes) -> tuple[str, bool]:
        """Store ``content`` under its key, unless the same bytes are already stored.

        The write is atomic: a reader sees the whole file or no file (a temporary file
        renamed in place on a folder; one PUT on an object store).

        Returns:
            The key, and whether this call created the object (``False``: already stored).

        """
        key = content_key(content)
        if self.exists(key):
            return key, False
        path = self._path(key)
        if self._local:
            _write_atomically(Path(path), content)
        else:
            self._fs.pipe_file(path, content)
        return key, True

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``.

        Raises:
            StoredFileNotFound: nothing is stored under this key (or it is not a key).

        """
        try:
            content: bytes = self._fs.cat_file(self._path(key))
        except FileNotFoundError:
            raise StoredFileNotFound(f"no stored file {key!r}") from None
        return content

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        return bool(self._fs.exists(self._path(key)))

    def delete(self, key: str) -> bool:
        """Erase the object stored under ``key``; ``False`` when there was none."""
        path = self._path(key)
        try:
            self._fs.rm_file(path)
        except FileNotFoundError:
            return False
        return True

    def _path(self, key: str) -> str:
        if not _KEY.match(key):
            raise StoredFileNotFound(f"{key!r} is not a content key (64 hex digits)")
        return f"{self._root.rstrip('/')}/{key[:2]}/{key}"


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

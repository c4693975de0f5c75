"""Multipart uploads read within bounds: bytes counted while they stream in, files counted."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import PurePosixPath

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from usine.domain.errors import MalformedRequest, PayloadTooLarge, UnsupportedMediaType

FIELD = "files"
MAX_NAME = 255


async def read_files(request: Request, max_files: int, max_request_bytes: int) -> list[UploadFile]:
    """The files of the multipart field ``files``, spooled to disk beyond 1 MB each.

    The body is counted while it streams in: a request over ``max_request_bytes`` is refused
    as soon as it passes the limit, before it is all read.

    Raises:
        UnsupportedMediaType: the body is not multipart/form-data.
        PayloadTooLarge: more bytes or more files than allowed.
        MalformedRequest: the multipart body cannot be parsed, or holds no file.

    """
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise UnsupportedMediaType(f"send the files as multipart/form-data in the field {FIELD!r}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_request_bytes:
        raise PayloadTooLarge(f"request of {declared} bytes, at most {max_request_bytes} accepted")
    parser = MultiPartParser(
        request.headers,
        _bounded(request.stream(), max_request_bytes),
        max_files=max_files,
        max_fields=16,
        max_part_size=64 * 1024,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        if exc.message.startswith("Too many files"):
            raise PayloadTooLarge(f"more than {max_files} files in one request") from None
        raise MalformedRequest(f"the multipart body cannot be read: {exc.message}") from None
    files = [value for key, value in form.multi_items() if key == FIELD and isinstance(value, UploadFile)]
    if not files:
        await form.close()
        raise MalformedRequest(f"no file: send one or more files in the multipart field {FIELD!r}")
    return files


async def _bounded(chunks: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise PayloadTooLarge(f"request over {limit} bytes")
        yield chunk


def display_name(name: str | None, index: int) -> str:
    """The client's file name, safe to show and store: its last path part, printable, bounded."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    printable = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C")
    return printable.strip()[:MAX_NAME] or f"file-{index + 1}"

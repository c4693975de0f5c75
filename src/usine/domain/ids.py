"""Random identifiers for the serving path, made without building ``uuid.UUID`` objects."""

from __future__ import annotations

import os

# The variant digit of an RFC 4122 UUID is 8, 9, a or b: two of its four bits are random.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def uuid4_texts(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs, written as ``str(uuid.uuid4())`` writes them.

    One read of the operating system's random source serves them all, written out in hex
    once, the version and variant digits then set: under half the cost of ``uuid.uuid4()``,
    which the serving path would otherwise pay once per record and once per request.
    """
    digits = os.urandom(16 * count).hex()
    texts = []
    for start in range(0, 32 * count, 32):
        d = digits[start : start + 32]
        texts.append(f"{d[:8]}-{d[8:12]}-4{d[13:16]}-{_VARIANT[d[16]]}{d[17:20]}-{d[20:]}")
    return texts

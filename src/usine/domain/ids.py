"""Random identifiers for the serving path, made without building ``uuid.UUID`` objects."""

from __future__ import annotations

import os

# Version 4 and the RFC 4122 variant: bits 76-79 hold 0100, bits 62-63 hold 10.
_CLEARED = ~((0xF << 76) | (0x3 << 62))
_SET = (0x4 << 76) | (0x2 << 62)


def uuid4_texts(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs, written as ``str(uuid.uuid4())`` writes them.

    One read of the operating system's random source serves them all, and each is formatted
    from an integer: about half the cost of ``uuid.uuid4()``, which the serving path would
    otherwise pay once per record and once per request.
    """
    block = os.urandom(16 * count)
    texts = []
    for start in range(0, 16 * count, 16):
        digits = f"{int.from_bytes(block[start : start + 16]) & _CLEARED | _SET:032x}"
        texts.append(f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}")
    return texts

"""Who calls the API and what they may do: API keys, their scopes and the caller they name.

A key is a high-entropy random token shown once at creation; only its SHA-256 digest is
stored, with a short prefix of the token so that a person can tell keys apart. Scopes say
which operations a key may call; ``admin`` may call every operation.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# A marker that makes a leaked key greppable (secret scanners, logs), not a secret:
TOKEN_PREFIX = "usk_"  # noqa: S105  # nosec B105
SHOWN_PREFIX_CHARS = 12
ANONYMOUS = "anonymous"
UNAUTHENTICATED = "unauthenticated"


class Scope(StrEnum):
    """What an API key may call."""

    PREDICT = "predict"
    FEEDBACK = "feedback"
    CLAIMS = "claims"
    ADMIN = "admin"


@dataclass(frozen=True)
class ApiKey:
    """A stored API key: never the token itself, only its digest and prefix."""

    id: str
    name: str
    prefix: str
    digest: str
    scopes: frozenset[Scope]
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the key is still accepted."""
        return self.revoked_at is None


@dataclass(frozen=True)
class Caller:
    """Who made a request: an API key (its id and name) or nobody (dev without a key)."""

    name: str
    key_id: str | None
    scopes: frozenset[Scope]

    def may(self, allowed: tuple[Scope, ...]) -> bool:
        """Whether the caller holds one of ``allowed`` (``admin`` holds them all; none: any caller)."""
        return not allowed or Scope.ADMIN in self.scopes or bool(self.scopes.intersection(allowed))


ANONYMOUS_CALLER = Caller(name=ANONYMOUS, key_id=None, scopes=frozenset(Scope))


def token_digest(token: str) -> str:
    """The SHA-256 hex digest of a token, as stored (the token has ~256 bits of entropy: no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def matches(key: ApiKey, digest: str) -> bool:
    """Constant-time comparison of a stored digest with the digest of a presented token."""
    return hmac.compare_digest(key.digest, digest)


def parse_scopes(names: list[str]) -> frozenset[Scope]:
    """Scopes from their names; raises ``ValueError`` naming an unknown one."""
    known = {scope.value for scope in Scope}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}: choose among {', '.join(sorted(known))}")
    return frozenset(Scope(name) for name in names)

"""API keys: create, list, revoke, and authenticate a presented token (with a bounded cache).

Authentication costs no database round trip for a token seen within ``cache_ttl_s``: the
answer (the key, or "unknown") is kept in a bounded LRU cache. A revocation therefore takes
effect in every worker within ``cache_ttl_s`` (``USINE_API_KEY_CACHE_TTL_S``, 0 disables the
cache). While the database is unreachable, a token seen before is judged by its last answer
(predictions keep being served through an outage); an unseen one gets a 503.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime

from usine.adapters.db.api_keys import SqlApiKeyStore
from usine.adapters.db.engine import make_engine
from usine.adapters.db.migrate import upgrade
from usine.domain.access import (
    SHOWN_PREFIX_CHARS,
    TOKEN_PREFIX,
    ApiKey,
    Caller,
    Scope,
    matches,
    token_digest,
)
from usine.domain.errors import Forbidden, StartupCheckFailed, StorageUnavailable, Unauthenticated
from usine.settings import Profile, Settings

logger = logging.getLogger(__name__)

TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 256


def create_key(store: SqlApiKeyStore, name: str, scopes: frozenset[Scope]) -> tuple[ApiKey, str]:
    """Make and store a new key; returns it with its token (shown once, never stored).

    Raises:
        ValueError: no scope, or an empty name.

    """
    if not scopes:
        raise ValueError("a key needs at least one scope")
    if not name.strip():
        raise ValueError("a key needs a name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    key = ApiKey(
        id=uuid.uuid4().hex,
        name=name.strip(),
        prefix=token[:SHOWN_PREFIX_CHARS],
        digest=token_digest(token),
        scopes=scopes,
        created_at=datetime.now(UTC),
    )
    store.add(key)
    return key, token


def revoke_key(store: SqlApiKeyStore, key_id: str) -> None:
    """Revoke a key (``ApiKeyNotFound`` if no key has this id); kept so that logs still name it."""
    store.revoke(key_id, datetime.now(UTC))


class Authenticator:
    """Turns a presented token into a :class:`Caller`, with a bounded, short-lived cache.

    Args:
        store: where keys are kept.
        cache_ttl_s: how long an answer is reused; 0 asks the database every time.
        cache_entries: most tokens remembered (least recently used forgotten first).

    """

    def __init__(self, store: SqlApiKeyStore, cache_ttl_s: float, cache_entries: int = 1024) -> None:
        self.store = store
        self.cache_ttl_s = cache_ttl_s
        self.cache_entries = cache_entries
        self._cache: OrderedDict[str, tuple[float, ApiKey | None]] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, token: str) -> tuple[bool, ApiKey | None]:
        """``(True, key or None)`` if the answer for ``token`` is cached and fresh, else ``(False, None)``."""
        digest = token_digest(token)
        with self._lock:
            entry = self._cache.get(digest)
            if entry is None or entry[0] < time.monotonic():
                return False, None
            self._cache.move_to_end(digest)
            return True, entry[1]

    def lookup(self, token: str) -> ApiKey | None:
        """The key of ``token`` from the database (revoked keys included), remembered for the TTL."""
        digest = token_digest(token)
        try:
            key = self.store.by_digest(digest) if len(token) <= MAX_TOKEN_CHARS else None
        except Exception:  # any driver error: the database is unreachable
            return self._stale(digest)
        if key is not None and not matches(key, digest):
            key = None
        if self.cache_ttl_s > 0:
            with self._lock:
                self._cache[digest] = (time.monotonic() + self.cache_ttl_s, key)
                self._cache.move_to_end(digest)
                while len(self._cache) > self.cache_entries:
                    self._cache.popitem(last=False)
        return key

    def _stale(self, digest: str) -> ApiKey | None:
        """While the database is down, the last answer for a token, however old (else 503)."""
        with self._lock:
            entry = self._cache.get(digest)
        if entry is None:
            raise StorageUnavailable("cannot check the API key now: the database is unreachable, retry later")
        return entry[1]


def authorise(key: ApiKey | None, allowed: tuple[Scope, ...]) -> Caller:
    """The caller a key names, if it may call an operation open to ``allowed`` scopes.

    Raises:
        Unauthenticated: no such key, or it was revoked.
        Forbidden: the key holds none of ``allowed`` (nor ``admin``).

    """
    if key is None:
        raise Unauthenticated("unknown API key")
    if not key.active:
        raise Unauthenticated(f"API key {key.prefix}… was revoked")
    caller = Caller(name=key.name, key_id=key.id, scopes=key.scopes)
    if not caller.may(allowed):
        needed = " or ".join(sorted(allowed))
        raise Forbidden(f"API key {key.prefix}… ({key.name}) lacks the scope this needs: {needed}")
    return caller


def check_keys_defined(settings: Settings, store: SqlApiKeyStore) -> None:
    """Refuse to serve in ``prod`` without an active API key; warn loudly in ``dev``.

    Raises:
        StartupCheckFailed: profile ``prod`` and no active key.

    """
    if settings.profile is Profile.PROD and store.count_active() == 0:
        raise StartupCheckFailed("profile prod needs an API key: create one with `usine keys create`")
    if not settings.requires_api_keys:
        logger.warning(AUTH_OFF_WARNING)


AUTH_OFF_WARNING = (
    "AUTHENTICATION IS OFF (profile dev): requests without an API key are served as 'anonymous'; "
    "set USINE_PROFILE=staging or prod to require keys"
)


def open_key_store(settings: Settings) -> SqlApiKeyStore:
    """The API keys of the configured database, its schema upgraded first (``USINE_AUTO_MIGRATE``)."""
    engine = make_engine(settings.database_url, settings.database_timeout_s)
    if settings.auto_migrate:
        upgrade(engine)
    return SqlApiKeyStore(engine)

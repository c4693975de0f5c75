"""API keys in the database (SQLite or PostgreSQL): digests and scopes, never tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, insert, inspect, select, update
from sqlalchemy.orm import Session

from usine.adapters.db.tables import ApiKeyRow
from usine.domain.access import ApiKey, Scope
from usine.domain.errors import ApiKeyNotFound


class SqlApiKeyStore:
    """Stores and finds API keys in the database behind ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, key: ApiKey) -> None:
        """Store a new key."""
        with self.engine.begin() as connection:
            connection.execute(
                insert(ApiKeyRow).values(
                    id=key.id,
                    name=key.name,
                    prefix=key.prefix,
                    digest=key.digest,
                    scopes=" ".join(sorted(key.scopes)),
                    created_at=key.created_at,
                    revoked_at=key.revoked_at,
                )
            )

    def by_digest(self, digest: str) -> ApiKey | None:
        """The key whose token has this digest (revoked or not), if any."""
        with Session(self.engine) as session:
            row = session.scalars(select(ApiKeyRow).where(ApiKeyRow.digest == digest)).one_or_none()
            return _key(row) if row is not None else None

    def all(self) -> list[ApiKey]:
        """Every key, oldest first."""
        with Session(self.engine) as session:
            return [_key(row) for row in session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at))]

    def count_active(self) -> int:
        """Keys not revoked (none before the table exists)."""
        if not inspect(self.engine).has_table(ApiKeyRow.__tablename__):
            return 0
        with self.engine.connect() as connection:
            count = connection.execute(
                select(func.count()).select_from(ApiKeyRow).where(ApiKeyRow.revoked_at.is_(None))
            ).scalar_one()
        return int(count)

    def revoke(self, key_id: str, at: datetime) -> None:
        """Mark a key revoked (kept, so that logs still name it); raises ``ApiKeyNotFound``."""
        with self.engine.begin() as connection:
            done = connection.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            if done.rowcount == 0:  # already revoked, or no such key
                exists = connection.execute(select(ApiKeyRow.id).where(ApiKeyRow.id == key_id)).first()
                if exists is None:
                    raise ApiKeyNotFound(f"no API key {key_id!r}")


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        digest=row.digest,
        scopes=frozenset(Scope(name) for name in row.scopes.split()),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )

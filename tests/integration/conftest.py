"""Fixtures shared by the integration tests."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from usine.adapters.db.engine import make_engine
from usine.adapters.db.migrate import upgrade


@pytest.fixture
def migrated_engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database (SQLite, then PostgreSQL) with the schema migrated."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()

"""Fixtures shared by the integration tests."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from support import migrated


@pytest.fixture
def migrated_engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database (SQLite, then PostgreSQL) with the schema migrated."""
    with migrated(database_url) as engine:
        yield engine


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """An engine on an empty PostgreSQL database with the schema migrated."""
    with migrated(postgres_url) as engine:
        yield engine

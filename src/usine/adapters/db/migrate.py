"""Schema migrations of the prediction log, run with Alembic from inside the package."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from usine.adapters.db.engine import make_engine

SCRIPT_LOCATION = "usine.adapters.db:migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to ``engine`` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` (the latest by default)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` before the first migration."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_database(url: str, timeout_s: float = 30.0, revision: str = "head") -> str | None:
    """Bring the database at ``url`` to ``revision`` with an engine of its own; the revision reached."""
    engine = make_engine(url, timeout_s)
    try:
        upgrade(engine, revision)
        return current_revision(engine)
    finally:
        engine.dispose()

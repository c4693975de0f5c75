"""Checks run before a server starts, so that an orchestrator sees why it cannot.

In ``dev`` a server starts whatever happens and readiness explains what is missing. In
``staging`` and ``prod`` a server that could never become ready stops at once with one
line, so that a restart loop is visible and explained rather than silent.
"""

from __future__ import annotations

from usine.adapters.db.api_keys import SqlApiKeyStore
from usine.adapters.db.engine import make_engine
from usine.adapters.db.repository import SqlPredictionLog
from usine.domain.errors import StartupCheckFailed
from usine.services.access import check_keys_defined
from usine.services.models import open_registry
from usine.settings import Profile, Settings


def check_can_serve(settings: Settings) -> None:
    """Verify that the database answers, holds an API key (``prod``) and every served model has a version.

    Args:
        settings: the server's settings; nothing is checked in the ``dev`` profile.

    Raises:
        StartupCheckFailed: the database is unreachable, holds no active API key (``prod``),
            or a model has no version under the serving alias.
    """
    if settings.profile is Profile.DEV:
        return
    engine = make_engine(settings.database_url)
    try:
        SqlPredictionLog(engine).ping()
    except Exception as exc:  # any driver error: the message says which
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StartupCheckFailed(
            f"database unreachable ({engine.url.render_as_string()}): {first_line}"
        ) from None
    else:
        check_keys_defined(settings, SqlApiKeyStore(engine))
    finally:
        engine.dispose()
    registry = open_registry(settings)
    missing = [
        name
        for name in settings.served_models
        if registry.version_for_alias(name, settings.serving_alias) is None
    ]
    if missing:
        raise StartupCheckFailed(
            f"no version to serve: {', '.join(missing)} has no "
            f"{settings.serving_alias!r} alias in the registry"
        )

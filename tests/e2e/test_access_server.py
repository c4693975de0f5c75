"""API keys through the real command and a real uvicorn server (profile staging)."""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from e2e.test_cli_and_server import run, serving
from usine.services.training import TrainingResult

PREDICT = "/1.0.0/models/credit/predictions"
STAGING = {"USINE_PROFILE": "staging", "USINE_API_KEY_CACHE_TTL_S": "0"}


@pytest.fixture(scope="module")
def home(trained_home: tuple[Path, TrainingResult]) -> Path:
    return trained_home[0]


def create(home: Path, database_url: str, name: str, *scopes: str) -> tuple[str, str]:
    """``usine keys create``: the key's id and the token it printed once."""
    args = [arg for scope in scopes for arg in ("--scope", scope)]
    created = run(
        home, "keys", "create", "--name", name, *args, extra_env={"USINE_DATABASE_URL": database_url}
    )
    assert created.returncode == 0, created.stderr
    key_id = re.search(r"created key ([0-9a-f]{32})", created.stdout)
    token = re.search(r"^(usk_\S+)$", created.stdout, re.MULTILINE)
    assert key_id, created.stdout
    assert token, created.stdout
    return key_id.group(1), token.group(1)


def test_missing_wrong_revoked_and_under_scoped_keys_through_a_real_server(
    home: Path, database_url: str, credit_record: dict[str, Any]
) -> None:
    env = {"USINE_DATABASE_URL": database_url, "COLUMNS": "200"}
    predict_id, predict = create(home, database_url, "web-frontend", "predict")
    _, feedback = create(home, database_url, "back-office", "feedback")
    listed = run(home, "keys", "list", extra_env=env)
    assert "web-frontend" in listed.stdout
    assert predict[:12] in listed.stdout
    assert predict not in listed.stdout
    with (
        serving(home, database_url, extra_env=STAGING) as server,
        httpx.Client(base_url=server.base, timeout=60) as api,
    ):
        assert api.get("/1.0.0/readiness").status_code == 200
        assert api.get("/metrics").status_code == 200
        for headers, status in (
            ({}, 401),
            ({"X-API-Key": "usk_wrong"}, 401),
            ({"X-API-Key": feedback}, 403),
            ({"X-API-Key": predict}, 200),
            ({"Authorization": f"Bearer {predict}"}, 200),
        ):
            response = api.post(PREDICT, json=credit_record, headers=headers)
            assert response.status_code == status, (headers, response.text)
            if status != 200:
                assert response.headers["content-type"] == "application/problem+json"
        revoked = run(home, "keys", "revoke", predict_id, extra_env=env)
        assert revoked.returncode == 0, revoked.stderr
        after = api.post(PREDICT, json=credit_record, headers={"X-API-Key": predict})
        assert after.status_code == 401
        assert "revoked" in after.json()["detail"]
        assert predict not in server.output()
    listed_after = run(home, "keys", "list", extra_env=env).stdout
    assert re.search(r"web-frontend.*\d{4}-\d\d-\d\d \d\d:\d\d.*\d{4}-\d\d-\d\d \d\d:\d\d", listed_after)


def test_revoking_an_unknown_key_and_an_unknown_scope_are_clear_errors(home: Path, tmp_path: Path) -> None:
    env = {"USINE_DATABASE_URL": f"sqlite:///{tmp_path / 'keys.db'}"}
    unknown = run(home, "keys", "revoke", "0" * 32, extra_env=env)
    assert unknown.returncode == 1
    assert "no API key" in unknown.stderr
    bad_scope = run(home, "keys", "create", "--name", "x", "--scope", "root", extra_env=env)
    assert bad_scope.returncode != 0
    assert "unknown scope 'root'" in bad_scope.stderr


@pytest.mark.postgres
def test_prod_refuses_to_serve_without_a_key(home: Path, postgres_url: str, tmp_path: Path) -> None:
    refused = run(
        home,
        "serve",
        "--port",
        "1",
        extra_env={
            "USINE_PROFILE": "prod",
            "USINE_DATABASE_URL": postgres_url,
            "USINE_MLFLOW_TRACKING_URI": (tmp_path / "mlruns").as_uri(),
        },
    )
    assert refused.returncode == 4, refused.stderr
    assert "needs an API key" in refused.stderr

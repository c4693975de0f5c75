"""Shadow mode on a real `usine serve`: the challenger reaches `usine monitor`, never the caller."""

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from e2e.test_cli_and_server import run, serving
from support import credit_rows, register_copy_of_version_1
from usine.services.models import open_registry
from usine.services.training import TrainingResult
from usine.settings import Settings

# A server and a CLI run as subprocesses (40 s or more on shared cores): make test-nightly runs it.
pytestmark = pytest.mark.nightly


def test_a_shadowed_server_answers_with_the_champion_and_monitor_compares_the_challenger(
    trained_home: tuple[Path, TrainingResult], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(trained_home[0] / "mlflow.db", home / "mlflow.db")
    registry = open_registry(Settings(home=home))
    registry.set_alias("credit", "challenger", register_copy_of_version_1(registry))
    database_url = f"sqlite:///{tmp_path / 'log.db'}"
    with serving(home, database_url, extra_env={"USINE_SHADOW": "true"}) as server:
        answers: list[dict[str, Any]] = [
            httpx.post(f"{server.base}/1.0.0/models/credit/predictions", json=record, timeout=60).json()
            for record in credit_rows(4)
        ]
        assert httpx.get(f"{server.base}/1.0.0/models", timeout=60).json()[0]["challenger"] == "2"
    # The server has stopped: its writer stored every prediction and every challenger score.
    assert {answer["version"] for answer in answers} == {"1"}
    assert all(set(answer) == {"model", "request_id", "version", "predictions"} for answer in answers)
    monitored = run(
        home, "monitor", "credit", "--since", "1h", "--json", extra_env={"USINE_DATABASE_URL": database_url}
    )
    assert monitored.returncode in (0, 10), monitored.stderr
    report = json.loads(monitored.stdout)
    assert [(u["version"], u["predictions"]) for u in report["usage"]] == [("1", 4)]
    (pair,) = report["challengers"]
    assert (pair["challenger_version"], pair["requests"], pair["predictions"]) == ("2", 4, 4)

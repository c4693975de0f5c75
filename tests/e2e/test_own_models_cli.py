"""Your own model as a user runs it: a scaffold that trains as generated, a notebook model served."""

import json
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from e2e.test_cli_and_server import run, serving
from own_models import log_own_model
from usine.services.models import open_registry, promote
from usine.settings import Settings


def test_init_scaffolds_a_project_that_trains_to_a_champion_and_whose_tests_pass(tmp_path: Path) -> None:
    project, home = tmp_path / "churn", tmp_path / "home"
    created = run(home, "init", "churn", "--directory", str(project))
    assert created.returncode == 0, created.stderr
    assert {p.name for p in project.iterdir()} == {"pipeline.yaml", "data", "README.md", "Makefile", "tests"}
    trained = run(home, "train", "churn", "--pipeline-file", str(project / "pipeline.yaml"))
    assert trained.returncode == 0, trained.stderr + trained.stdout
    assert "quality gate passed: version 1 is now 'champion'" in trained.stdout
    assert open_registry(Settings(home=home)).version_for_alias("churn", "champion") == "1"


@pytest.mark.nightly
def test_a_registered_notebook_model_is_promoted_and_served(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    own = log_own_model(settings)
    registered = run(
        tmp_path, "models", "register", "--run", own.run_id, "--name", "churn", "--positive-class", "left"
    )
    assert registered.returncode == 0, registered.stderr
    assert "version 1 registered" in registered.stdout
    assert "reference statistics from reference.csv (300 rows)" in registered.stdout
    promote(open_registry(settings), "churn", None, "champion")
    record = {"tenure_months": 3, "monthly_charges": 99.5, "contract": "monthly"}
    left = list(own.model.classes_).index("left")
    expected = own.model.predict_proba(pd.DataFrame([record]))[0, left]
    database = f"sqlite:///{tmp_path / 'usine.db'}"
    with serving(tmp_path, database, extra_env={"USINE_SERVED_MODELS": '["churn"]'}) as server:
        request = urllib.request.Request(
            f"{server.base}/1.0.0/models/churn/predictions",
            data=json.dumps(record).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            body = json.load(answer)
    assert body["version"] == "1"
    assert body["predictions"][0]["score"] == pytest.approx(expected, abs=1e-9)

"""``usine init`` and ``usine models register`` in process: files, messages and exit codes."""

import importlib.util
from pathlib import Path

import pytest

from integration.cli.test_train_cli import run_usine
from own_models import log_own_model
from usine.services.models import open_registry
from usine.settings import Settings


def test_the_scaffold_holds_a_project_whose_own_tests_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "churn"
    code, output = run_usine(monkeypatch, capsys, "init", "churn", "--directory", str(project))
    assert code == 0, output
    assert sorted(str(path.relative_to(project)) for path in project.rglob("*") if path.is_file()) == [
        "Makefile",
        "README.md",
        "data/sample.csv",
        "pipeline.yaml",
        "tests/test_pipeline.py",
    ]
    assert "usine train churn --pipeline-file pipeline.yaml" in (project / "Makefile").read_text()
    spec = importlib.util.spec_from_file_location("scaffolded_test", project / "tests" / "test_pipeline.py")
    assert spec is not None
    assert spec.loader is not None
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    tests = [getattr(generated, name) for name in dir(generated) if name.startswith("test_")]
    assert len(tests) == 2
    for test in tests:
        test()
    code, output = run_usine(monkeypatch, capsys, "init", "churn", "--directory", str(project))
    assert code == 1
    assert "not an empty folder" in output
    code, output = run_usine(monkeypatch, capsys, "init", "Churn Model")
    assert code == 1
    assert "lower case letters" in output


def test_train_refuses_an_unknown_pipeline_and_a_wrong_model_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("USINE_HOME", str(tmp_path / "home"))
    code, output = run_usine(monkeypatch, capsys, "train", "churn")
    assert code == 1
    assert "usine init churn" in output
    declared = tmp_path / "pipeline.yaml"
    declared.write_text("pipeline: churn\nmodel: {classes: [a, b]}\nblocks: [validate]\n")
    code, output = run_usine(monkeypatch, capsys, "train", "--pipeline-file", str(declared))
    assert code == 1
    assert "model section: target: Field required" in output
    declared.write_text("pipeline: credit\nblocks: [validate]\n")
    code, output = run_usine(monkeypatch, capsys, "train", "fraud", "--pipeline-file", str(declared))
    assert code == 1
    assert "declares pipeline 'credit', not 'fraud'" in output
    assert open_registry(Settings(home=tmp_path / "home")).list_versions() == []


def test_register_refuses_a_model_without_signature_and_an_unknown_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("USINE_HOME", str(tmp_path))
    settings = Settings(home=tmp_path)
    unsigned = log_own_model(settings, signature=False, reference=False)
    code, output = run_usine(
        monkeypatch, capsys, "models", "register", "--run", unsigned.run_id, "--name", "churn"
    )
    assert code == 1
    assert "has no signature" in output
    assert "infer_signature" in output
    code, output = run_usine(monkeypatch, capsys, "models", "register", "--run", "0" * 32, "--name", "churn")
    assert code == 1
    assert "no MLflow run" in output
    assert open_registry(settings).list_versions() == []
    code, output = run_usine(monkeypatch, capsys, "models", "register", "--name", "churn")
    assert code == 2
    assert "exactly one of --run RUN_ID and --model-dir FOLDER" in output
    code, output = run_usine(
        monkeypatch, capsys, "models", "register", "--name", "churn", "--model-dir", "nope"
    )
    assert code == 1
    assert "no MLmodel file" in output

"""``usine train`` refusals and ``usine models card`` in process: messages, files and exit codes."""

import sys
from pathlib import Path

import pandas as pd
import pytest

from usine.cli import main
from usine.datasets import dataset_path
from usine.services.training import TrainingResult


def run_usine(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["usine", *args])
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out + err


def test_the_model_card_is_written_as_a_page_or_as_markdown(
    trained_home: tuple[Path, TrainingResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("USINE_HOME", str(trained_home[0]))
    for name in ("card.html", "card.md"):
        code, output = run_usine(
            monkeypatch, capsys, "models", "card", "credit", "--version", "1", "--out", str(tmp_path / name)
        )
        assert code == 0, output
    assert (tmp_path / "card.html").read_text().count("<svg") == 6
    assert "## Fairness" in (tmp_path / "card.md").read_text()
    code, output = run_usine(
        monkeypatch, capsys, "models", "card", "credit", "--version", "99", "--out", str(tmp_path / "x.md")
    )
    assert code == 1
    assert "no version 99" in output
    assert not (tmp_path / "x.md").exists()


def test_duplicated_rows_stop_the_run_naming_them_and_nothing_is_registered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("USINE_HOME", str(tmp_path / "home"))
    frame = pd.read_csv(dataset_path("german_credit.csv"))
    pd.concat([frame, frame.iloc[[3, 7]]]).to_csv(tmp_path / "twice.csv", index=False)
    code, output = run_usine(monkeypatch, capsys, "train", "credit", "--data", str(tmp_path / "twice.csv"))
    assert code == 1
    assert "(row): duplicate of an earlier row (rows 1000, 1001)" in output
    code, output = run_usine(monkeypatch, capsys, "models", "list")
    assert "no registered model yet" in output


def test_a_pipeline_file_naming_an_unknown_block_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("USINE_HOME", str(tmp_path / "home"))
    (tmp_path / "pipeline.yaml").write_text("pipeline: credit\nblocks: [load_csv, shuffle, fit]\n")
    code, output = run_usine(
        monkeypatch, capsys, "train", "credit", "--pipeline-file", str(tmp_path / "pipeline.yaml")
    )
    assert code == 1
    assert "unknown block 'shuffle'" in output

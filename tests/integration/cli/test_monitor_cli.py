"""``usine monitor`` and ``usine simulate traffic`` in process: output, JSON and exit codes."""

import json
import sys
from pathlib import Path

import pytest

from usine.cli import main
from usine.services.training import TrainingResult


@pytest.fixture
def home(trained_home: tuple[Path, TrainingResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("USINE_HOME", str(trained_home[0]))
    monkeypatch.setenv("USINE_DATABASE_URL", f"sqlite:///{tmp_path / 'log.db'}")
    monkeypatch.setenv("COLUMNS", "200")
    return trained_home[0]


def usine(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["usine", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_traffic_like_training_exits_0_and_json_tells_the_same(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = usine(monkeypatch, capsys, "simulate", "traffic", "credit", "--rows", "300", "--days", "1")
    assert code == 0
    assert "300 predictions of credit version 1 logged" in out
    code, out, _ = usine(monkeypatch, capsys, "monitor", "credit", "--since", "2d")
    assert code == 0
    assert "credit: no drift" in out
    assert "estimated (CBPE, not measured)" in out
    code, out, _ = usine(monkeypatch, capsys, "monitor", "credit", "--since", "2d", "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["rows"], report["drift_detected"]) == (300, False)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("monitor", "credit", "--since", "yesterday"), 2, "neither a duration"),
        (("monitor", "credit", "--since", "1d", "--until", "2d"), 2, "not after"),
        (("monitor", "credit", "--since", "1h"), 5, "no prediction of 'credit'"),
        (("simulate", "traffic", "credit", "--drift", "salary*2"), 2, "the model has no feature 'salary'"),
        (("simulate", "traffic", "credit", "--drift", "purpose=castle"), 2, "purpose takes feature=category"),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    code: int,
    message: str,
) -> None:
    exit_code, _, err = usine(monkeypatch, capsys, *args)
    assert exit_code == code
    assert message in err
    assert len(err.strip().splitlines()) == 1

"""The drift benchmark runs end to end on a small size (usine's side only: no Evidently install)."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "drift.py"


def test_a_small_run_finds_every_shifted_column_and_no_other() -> None:
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", "5000", "--skip-evidently"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "all 3 shifted, no other" in completed.stdout

"""The ``usine`` command starts without the heavy libraries only some commands need."""

import os
import subprocess
import sys

HEAVY = ("sklearn", "mlflow", "pandas", "scipy", "matplotlib", "pyspark", "skops", "sqlalchemy", "uvicorn")


def test_importing_the_command_line_loads_none_of_the_heavy_libraries() -> None:
    # A fresh interpreter: this test process has imported them all already.
    probe = f"import sys, usine.cli; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == [], f"usine.cli imports {loaded.stdout.strip()} at start"


def test_help_lists_every_command_without_running_any() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "usine", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    for command in (
        "quickstart",
        "train",
        "serve",
        "batch",
        "package",
        "schedule",
        "models",
        "keys",
        "monitor",
    ):
        assert command in shown, command

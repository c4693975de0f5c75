"""The serving benchmark's comparison with an earlier revision (the load itself is not run here)."""

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[3]


def benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("serving_benchmark", ROOT / "benchmarks" / "serving.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def worktrees() -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout


def test_a_revision_is_checked_out_for_the_run_and_removed_after() -> None:
    serving = benchmark()
    with serving.checked_out("HEAD") as source:
        assert (source / "usine" / "__init__.py").is_file()
        assert str(source.parent) in worktrees()
        servers = serving.against(
            [serving.Server("usine, log to PostgreSQL", ["usine"], {"A": "1"}, "/p", {})], source, "HEAD"
        )
    assert not source.exists()
    assert str(source.parent) not in worktrees()
    assert [(s.name, s.env) for s in servers] == [
        ("usine, log to PostgreSQL @ HEAD", {"A": "1", "PYTHONPATH": str(source)})
    ]
    with serving.checked_out(None) as nothing:
        assert nothing is None


def test_each_revision_s_logging_cost_is_printed_beside_this_checkout_s() -> None:
    serving = benchmark()
    logged, earlier = "usine, log to PostgreSQL", "usine, log to PostgreSQL @ abc123"
    rates = {serving.OFF_ROW: (1000, 1000), logged: (900, 900), earlier: (800, 800)}
    runs = [
        serving.Cell(name, 1, 16, rate, 2.0, 4.0, 0, round_, "16")
        for name, per_round in rates.items()
        for round_, rate in enumerate(per_round)
    ]
    with serving.console.capture() as printed:
        serving.compare_revisions(serving.medians(runs), runs)
    text = " ".join(printed.get().split())
    assert f"{earlier}: logging costs 20% against logging off in the same rounds (this checkout: 10%)" in text

"""Data drift on 1,000,000 rows × 20 features: usine against Evidently's DataDriftPreset, side by side.

    .venv/bin/python benchmarks/drift.py            # 1M reference rows, 1M current rows
    .venv/bin/python benchmarks/drift.py --rows 100000

15 numeric and 5 categorical features; 3 are shifted in the current data (a numeric mean
shift, a numeric scale change, a categorical mix change). Each side runs in its own child
process on the same data files, one after the other, and reports its wall time and peak
resident memory (``ru_maxrss`` of that process: numpy's buffers count, which tracemalloc
would miss) and the columns it flagged.

usine runs as it does in production, in two children: at training, reference statistics
of the reference data (stored as JSON); at monitoring, drift of the current data against
those statistics, without the reference data. Evidently needs the raw reference data at
every run, so its one child holds both frames.

Evidently is not a usine dependency: it is installed on first use into
``benchmarks/.venv-evidently`` (git-ignored) from the pinned ``requirements-evidently.txt``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
EVIDENTLY_VENV = HERE / ".venv-evidently"
EVIDENTLY_PYTHON = EVIDENTLY_VENV / "bin" / "python"
REQUIREMENTS = HERE / "requirements-evidently.txt"
DATA_DIR = HERE / ".data"
NUMERIC = [f"n{i:02d}" for i in range(15)]
CATEGORICAL = [f"c{i}" for i in range(5)]
SHIFTED = {"n03", "n09", "c2"}


def make_data(rows: int, path: Path, seed: int = 7) -> None:
    """Write reference and current data (same generator; 3 columns shifted in current) to ``path``."""
    rng = np.random.default_rng(seed)

    def numeric(shifted: bool) -> np.ndarray:
        columns = []
        for i in range(15):
            kind = i % 4
            if kind == 0:
                column = rng.normal(100 + i, 15, rows)
            elif kind == 1:
                column = rng.lognormal(7, 0.6, rows)
            elif kind == 2:
                column = rng.uniform(0, 50, rows)
            else:
                column = rng.poisson(3 + i % 5, rows).astype(np.float64)
            if shifted and f"n{i:02d}" == "n03":
                column = column + 0.5 * column.std()  # mean shift of half a standard deviation
            if shifted and f"n{i:02d}" == "n09":
                column = column * 1.3  # scale change
            columns.append(column)
        return np.column_stack(columns)

    def categorical(shifted: bool) -> np.ndarray:
        columns = []
        for i in range(5):
            levels = np.array([f"cat{i}_{k}" for k in range(3 + 2 * i)])
            weights = np.linspace(1, 2, levels.size)
            if shifted and f"c{i}" == "c2":
                weights = weights[::-1] ** 2
            columns.append(rng.choice(levels, rows, p=weights / weights.sum()))
        return np.column_stack(columns)

    np.savez(
        path,
        reference_numeric=numeric(False),
        reference_categorical=categorical(False),
        current_numeric=numeric(True),
        current_categorical=categorical(True),
    )


def load_frames(path: Path, which: tuple[str, ...] = ("reference", "current")) -> list[Any]:
    """Pandas frames from the data file; categories as Python strings (``object``) on both sides."""
    import pandas as pd

    data = np.load(path)

    def frame(prefix: str) -> Any:
        columns: dict[str, Any] = dict(zip(NUMERIC, data[f"{prefix}_numeric"].T, strict=True))
        for name, column in zip(CATEGORICAL, data[f"{prefix}_categorical"].T, strict=True):
            columns[name] = pd.Series(column.astype(object), dtype=object)
        return pd.DataFrame(columns)

    return [frame(prefix) for prefix in which]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _features() -> list[Any]:
    from usine.domain.features import FeatureKind, FeatureSpec

    features = [FeatureSpec(name=n, kind=FeatureKind.NUMBER) for n in NUMERIC]
    return features + [FeatureSpec(name=n, kind=FeatureKind.CATEGORY) for n in CATEGORICAL]


def run_usine_reference(path: Path) -> dict[str, Any]:
    """At training: reference statistics of the reference data, stored as JSON beside it."""
    from usine.domain.reference import compute_reference

    (reference_frame,) = load_frames(path, ("reference",))
    loaded = _peak_mb()
    started = time.perf_counter()
    reference = compute_reference(reference_frame, _features(), np.linspace(0, 1, 11))
    seconds = time.perf_counter() - started
    path.with_suffix(".reference.json").write_text(reference.model_dump_json())
    return {"seconds": seconds, "peak_mb": _peak_mb(), "data_mb": loaded, "flagged": []}


def run_usine(path: Path) -> dict[str, Any]:
    """At monitoring: drift of the current data against the stored reference statistics."""
    from collections import Counter

    from usine.domain.drift import DriftThresholds, Severity
    from usine.domain.features import FeatureKind
    from usine.domain.reference import ReferenceStatistics
    from usine.domain.window import VersionWindow

    (current,) = load_frames(path, ("current",))
    loaded = _peak_mb()
    started = time.perf_counter()
    reference = ReferenceStatistics.model_validate_json(path.with_suffix(".reference.json").read_text())
    window = VersionWindow("1", _features(), reference)
    for spec in window.features:
        if spec.kind is FeatureKind.CATEGORY:
            window.add_categories(spec, Counter(current[spec.name]))
        else:
            window.add_numbers(spec, current[spec.name].to_numpy())
    drifts = window.drift(DriftThresholds())
    return {
        "seconds": time.perf_counter() - started,
        "peak_mb": _peak_mb(),
        "data_mb": loaded,
        "flagged": sorted(d.feature for d in drifts if d.severity is Severity.DRIFT),
    }


def run_evidently(path: Path) -> dict[str, Any]:
    """Evidently's default DataDriftPreset on the raw reference and current data."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    reference_frame, current = load_frames(path)
    loaded = _peak_mb()
    started = time.perf_counter()
    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference_frame, data_definition=definition),
    )
    flagged = []
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            distance = "distance" in config["method"].lower()
            value, threshold = metric["value"], config["threshold"]
            if (value >= threshold) if distance else (value < threshold):
                flagged.append(config["column"])
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mb": _peak_mb(), "data_mb": loaded, "flagged": sorted(flagged)}


def ensure_evidently() -> None:
    """Create the Evidently venv from the pinned requirements, once."""
    if EVIDENTLY_PYTHON.exists():
        return
    print(f"installing Evidently into {EVIDENTLY_VENV} (once)", flush=True)
    subprocess.run(["python3", "-m", "venv", str(EVIDENTLY_VENV)], check=True)
    pip = [str(EVIDENTLY_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)


def child(python: Path | str, side: str, path: Path) -> dict[str, Any]:
    """Run one side in a fresh process and read its JSON result."""
    completed = subprocess.run(
        [str(python), __file__, "--child", side, "--data", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{side} failed:\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def verdict(flagged: list[str]) -> str:
    """Whether a side found every shifted column and nothing else."""
    missed = SHIFTED - set(flagged)
    extra = set(flagged) - SHIFTED
    if not missed and not extra:
        return "all 3 shifted, no other"
    return f"missed {sorted(missed)}, false alarms {sorted(extra)}"


SIDES = {"usine-reference": run_usine_reference, "usine": run_usine, "evidently": run_evidently}


def main() -> None:
    """Parse arguments; run as the parent (every side, then the table) or as one child."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of reference and of current data")
    parser.add_argument("--child", choices=sorted(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--skip-evidently", action="store_true", help="run usine only (no install)")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(SIDES[args.child](args.data)))
        return
    DATA_DIR.mkdir(exist_ok=True)
    path = DATA_DIR / f"drift-{args.rows}.npz"
    if not path.exists():
        print(f"generating {args.rows:,} reference and {args.rows:,} current rows × 20 features", flush=True)
        make_data(args.rows, path)
    reference = child(sys.executable, "usine-reference", path)
    ours = child(sys.executable, "usine", path)
    rows = [("usine: reference (training)", reference), ("usine: drift (monitoring)", ours)]
    if not args.skip_evidently:
        ensure_evidently()
        print("running Evidently", flush=True)
        rows.append(("Evidently DataDriftPreset", child(EVIDENTLY_PYTHON, "evidently", path)))
    print(f"\n{args.rows:,} reference and current rows × 20 features (15 numeric, 5 categorical)")
    print(
        f"shifted: {', '.join(sorted(SHIFTED))}; "
        "peak = ru_maxrss of the child, data = after loading its frames"
    )
    print(f"{'':29}{'wall s':>8}{'peak MB':>9}{'data MB':>9}  flagged")
    for name, result in rows:
        flagged = (
            f"{', '.join(result['flagged'])} ({verdict(result['flagged'])})"
            if result is not reference
            else ""
        )
        print(f"{name:29}{result['seconds']:8.2f}{result['peak_mb']:9.0f}{result['data_mb']:9.0f}  {flagged}")
    if len(rows) == 3:
        theirs = rows[2][1]
        both = reference["seconds"] + ours["seconds"]
        print(
            f"\nEvidently / usine: time ×{theirs['seconds'] / ours['seconds']:.1f} "
            f"(×{theirs['seconds'] / both:.1f} counting the reference statistics too), "
            f"peak memory ×{theirs['peak_mb'] / ours['peak_mb']:.2f} "
            f"(×{theirs['peak_mb'] / max(reference['peak_mb'], ours['peak_mb']):.2f} "
            "against usine's larger child)"
        )


if __name__ == "__main__":
    main()

"""What a run needs to be reproduced: data fingerprint, code version, packages, pipeline definition."""

from __future__ import annotations

import platform
import shutil
import subprocess  # nosec B404
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from usine import __version__

RECORDED_PACKAGES = ("numpy", "pandas", "scikit-learn", "scipy", "mlflow", "skops", "matplotlib", "pyarrow")


def _git(*arguments: str, cwd: Path | None = None) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        # Bandit B603: the arguments are fixed, nothing comes from a user.
        completed = subprocess.run(  # nosec B603
            [git, *arguments], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip()


def git_commit(cwd: Path | None = None) -> str:
    """The commit of the working tree, or ``unknown`` outside a git checkout."""
    return _git("rev-parse", "HEAD", cwd=cwd) or "unknown"


def package_versions() -> dict[str, str]:
    """Python, usine and the versions of the packages a fitted model depends on."""
    versions = {"python": platform.python_version(), "usine": __version__}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = package_version(name)
        except PackageNotFoundError:
            versions[name] = "absent"
    return versions


def reproducibility_record(
    *, seed: int, data_source: str, data_sha256: str, rows: int, definition: list[dict[str, Any]]
) -> dict[str, Any]:
    """The record logged with every training run (``reproducibility/record.json``)."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "seed": seed,
        "data": {"source": data_source, "sha256": data_sha256, "rows": rows},
        "git": {"commit": git_commit(), "dirty": bool(status) if status is not None else None},
        "packages": package_versions(),
        "platform": platform.platform(),
        "pipeline": definition,
    }

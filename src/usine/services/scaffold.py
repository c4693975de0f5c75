"""``usine init``: a new model project that trains with usine's blocks as generated.

The project holds a pipeline file (its table's schema and the blocks), sample data the
pipeline trains on, a README, a test of the pipeline file and data, and a Makefile.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

import numpy as np
import pandas as pd

from usine.domain.errors import ProjectNotCreated
from usine.domain.model_spec import is_model_name

TEMPLATE_PACKAGE = "usine.project_template"
TEMPLATE_SUFFIX = ".tmpl"
SAMPLE_FILE = Path("data") / "sample.csv"
SAMPLE_ROWS = 400


def sample_frame(rows: int = SAMPLE_ROWS, seed: int = 7) -> pd.DataFrame:
    """Generated customers (tenure, bill, support calls, contract) and whether each left.

    Whether a customer left follows a logistic law of the inputs, so a model learns it
    (held-out ROC AUC around 0.8); the same seed gives the same rows.
    """
    generator = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure_months": generator.integers(1, 72, rows),
            "monthly_charges": generator.uniform(20.0, 120.0, rows).round(2),
            "support_calls": generator.poisson(2.0, rows),
            "contract": generator.choice(["monthly", "yearly", "two-year"], rows),
        }
    )
    logit = (
        0.03 * frame["monthly_charges"]
        - 0.05 * frame["tenure_months"]
        + 0.4 * frame["support_calls"]
        + 1.5 * (frame["contract"] == "monthly")
        - 2.0
    )
    left = generator.uniform(size=rows) < 1.0 / (1.0 + np.exp(-logit))
    frame["churned"] = np.where(left, "left", "stayed")
    return frame


def create_project(name: str, folder: Path) -> list[Path]:
    """Write the project of model ``name`` into ``folder`` (created; it must hold no file yet).

    Returns:
        The files written, relative to ``folder``.

    Raises:
        ProjectNotCreated: the name is not a registry name, or the folder already holds files.

    """
    if not is_model_name(name):
        raise ProjectNotCreated(f"model name {name!r}: use lower case letters, digits, '-' and '_'")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ProjectNotCreated(f"{folder} already exists and is not an empty folder: choose --directory")
    written = [SAMPLE_FILE]
    (folder / SAMPLE_FILE).parent.mkdir(parents=True, exist_ok=True)
    sample_frame().to_csv(folder / SAMPLE_FILE, index=False)
    values = {"name": name, "rows": str(SAMPLE_ROWS)}
    for template, relative in _templates(files(TEMPLATE_PACKAGE), Path()):
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(template.read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
        written.append(relative)
    return sorted(written)


def _templates(root: Traversable, relative: Path) -> list[tuple[Traversable, Path]]:
    """Every template under ``root`` with the path of the file it becomes."""
    found = []
    for entry in root.iterdir():
        if entry.is_dir():
            found += _templates(entry, relative / entry.name)
        elif entry.name.endswith(TEMPLATE_SUFFIX):
            found.append((entry, relative / entry.name.removesuffix(TEMPLATE_SUFFIX)))
    return found

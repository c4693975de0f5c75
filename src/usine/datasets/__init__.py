"""Data sets shipped with usine (see ATTRIBUTION.md for their sources and licences)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def dataset_path(file_name: str) -> Path:
    """Path of a vendored data file inside the installed package."""
    return Path(str(files(__name__).joinpath(file_name)))

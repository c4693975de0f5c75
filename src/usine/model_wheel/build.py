"""Write a model version as a wheel: ``usine_model_<name>`` with the model, its contract and scoring.

A wheel is a zip archive with a ``.dist-info`` folder (PEP 427); writing it directly keeps
packaging offline and free of a build backend. The requirements are pinned to the versions
installed here, which are the versions the model was trained and checked with.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zipfile
from importlib import resources
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import skops.io

from usine import __version__
from usine.domain.model_spec import ModelSpec

REQUIREMENTS = ("numpy", "pandas", "scikit-learn", "skops")
WHEEL = b"Wheel-Version: 1.0\nGenerator: usine\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def wheel_names(model: str, version: str) -> tuple[str, str, str]:
    """The distribution name, the import name and the wheel file name of a model version."""
    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")
    distribution = f"usine-model-{slug.replace('_', '-')}"
    return distribution, f"usine_model_{slug}", f"usine_model_{slug}-{version}-py3-none-any.whl"


def build_model_wheel(spec: ModelSpec, version: str, model: Any, folder: Path) -> Path:
    """Write the wheel of one model version into ``folder``.

    Args:
        spec: the version's contract.
        version: the registry version, used as the package version.
        model: the fitted estimator, as loaded from the registry.
        folder: where the wheel goes (created if needed).

    Returns:
        The path of the wheel.

    """
    distribution, package, filename = wheel_names(spec.name, version)
    data = skops.io.dumps(model)
    contract = {
        **spec.model_dump(
            mode="json", include={"name", "description", "classes", "positive_class", "features"}
        ),
        "version": version,
        "trusted_types": skops.io.get_untrusted_types(data=data),
        "built_by": f"usine {__version__}",
    }
    dist_info = f"{distribution.replace('-', '_')}-{version}.dist-info"
    files = {
        f"{package}/__init__.py": resources.files("usine.model_wheel").joinpath("scoring.py").read_bytes(),
        f"{package}/model.skops": data,
        f"{package}/spec.json": json.dumps(contract, indent=2).encode(),
        f"{dist_info}/METADATA": _metadata(distribution, version, spec).encode(),
        f"{dist_info}/WHEEL": WHEEL,
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for name, content in files.items():
            wheel.writestr(name, content)
        wheel.writestr(f"{dist_info}/RECORD", _record(files, f"{dist_info}/RECORD"))
    return path


def _metadata(distribution: str, version: str, spec: ModelSpec) -> str:
    requires = "".join(f"Requires-Dist: {name}=={installed_version(name)}\n" for name in REQUIREMENTS)
    summary = (spec.description or f"The {spec.name} model").splitlines()[0]
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {distribution}\n"
        f"Version: {version}\n"
        f"Summary: {summary} (version {version}, packaged by usine)\n"
        "Requires-Python: >=3.11\n"
        f"{requires}"
    )


def _record(files: dict[str, bytes], record_name: str) -> str:
    """The RECORD file: every file with its urlsafe-base64 sha256 and size; RECORD itself unhashed."""
    lines = []
    for name, content in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
        lines.append(f"{name},sha256={digest},{len(content)}")
    lines.append(f"{record_name},,")
    return "\n".join(lines) + "\n"

"""A model version as its own wheel: installed into a fresh virtualenv, it scores like the registry."""

import base64
import hashlib
import json
import re
import subprocess
import sys
import zipfile
from importlib.metadata import distribution, version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from usine.datasets import dataset_path
from usine.services.models import open_registry, package
from usine.services.training import TrainingResult
from usine.settings import Settings

UV = Path(sys.executable).parent / "uv"


@pytest.fixture(scope="module")
def wheel(trained_home: tuple[Path, TrainingResult], tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = Settings(home=trained_home[0])
    return package(open_registry(settings), "credit", None, "champion", tmp_path_factory.mktemp("dist"))


def locked_closure(wheel: Path) -> str:
    """The lock's pinned, hashed requirements of the wheel's dependencies and all of theirs."""
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read("usine_model_credit-1.dist-info/METADATA").decode()
    wanted = [line.split(":", 1)[1].split("==")[0].strip() for line in metadata.splitlines()
              if line.startswith("Requires-Dist:")]  # fmt: skip
    closure: set[str] = set()
    while wanted:
        name = canonicalize_name(wanted.pop())
        if name in closure:
            continue
        closure.add(name)
        for requirement in distribution(name).requires or []:
            parsed = Requirement(requirement)
            if parsed.marker is None or parsed.marker.evaluate({"extra": ""}):
                wanted.append(parsed.name)
    exported = subprocess.run(
        [str(UV), "export", "--frozen", "--no-dev", "--no-emit-project", "--no-header"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    blocks = re.split(r"\n(?=\S)", exported.strip())
    return "\n".join(b for b in blocks if canonicalize_name(b.split("==")[0].strip()) in closure) + "\n"


def test_the_wheel_is_well_formed_and_pins_the_training_environment(wheel: Path) -> None:
    assert wheel.name == "usine_model_credit-1-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        record = archive.read("usine_model_credit-1.dist-info/RECORD").decode().splitlines()
        for line in record:
            name, digest, size = line.rsplit(",", 2)
            if not digest:
                continue
            content = archive.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
            assert digest == f"sha256={expected}"
            assert int(size) == len(content)
        metadata = archive.read("usine_model_credit-1.dist-info/METADATA").decode()
        spec = json.loads(archive.read("usine_model_credit/spec.json"))
    assert f"Requires-Dist: scikit-learn=={version('scikit-learn')}" in metadata
    assert "Name: usine-model-credit" in metadata
    assert spec["positive_class"] == "bad"
    assert spec["version"] == "1"


def test_installed_alone_it_scores_like_the_registry_model(
    wheel: Path, trained_home: tuple[Path, TrainingResult], tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run(
        [str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120
    )
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(locked_closure(wheel), encoding="utf-8")
    install = [str(UV), "pip", "install", "--quiet", "--offline", "--python", str(venv / "bin" / "python")]
    # The wheel's pinned requirements and theirs, with the lock's hashes: found in uv's cache by
    # hash, so the install needs no package index (nothing is downloaded).
    subprocess.run(
        [*install, "--require-hashes", "--no-deps", "-r", str(requirements)], check=True, timeout=300
    )
    subprocess.run([*install, "--no-deps", str(wheel)], check=True, timeout=300)
    script = (
        "import sys, json, pandas as pd, usine_model_credit as packaged\n"
        "frame = pd.read_csv(sys.argv[1]).head(50)\n"
        "print(json.dumps(packaged.load().predict(frame).tolist()))\n"
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script, str(dataset_path("german_credit.csv"))],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    packaged_scores = np.array(json.loads(done.stdout))
    loaded = open_registry(Settings(home=trained_home[0])).load("credit", "1")
    frame = pd.read_csv(dataset_path("german_credit.csv")).head(50)
    expected = loaded.model.predict_proba(frame)[:, list(loaded.model.classes_).index("bad")]
    np.testing.assert_allclose(packaged_scores, expected, rtol=0, atol=1e-12)
    usine_visible = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import usine"], capture_output=True, timeout=60, check=False
    )
    assert usine_visible.returncode != 0, "the packaged model must not need usine"

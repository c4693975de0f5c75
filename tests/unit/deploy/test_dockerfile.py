"""The API image: lint-clean, non-root, tini as PID 1, probes and settings that usine understands."""

import fnmatch
import subprocess
import sys
from pathlib import Path

import pytest

from dockerfile import DOCKERFILE, ROOT, instructions, runtime_environment
from usine.settings import Settings

HADOLINT = Path(sys.executable).parent / "hadolint"


def in_stage(stage: str, keyword: str) -> list[str]:
    return [i.arguments for i in instructions() if i.stage == stage and i.keyword == keyword]


@pytest.mark.parametrize(
    "dockerfile", [DOCKERFILE, DOCKERFILE.with_name("mlflow.Dockerfile")], ids=lambda p: p.name
)
def test_hadolint_reports_nothing_at_its_strictest_level(dockerfile: Path) -> None:
    linted = subprocess.run(
        [str(HADOLINT), "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_two_stages_on_the_same_pinned_slim_base() -> None:
    (base_arg,) = [i.arguments for i in instructions() if i.keyword == "ARG" and i.stage == ""]
    assert base_arg == "PYTHON_IMAGE=python:3.11-slim-bookworm"
    assert [i.arguments for i in instructions() if i.keyword == "FROM"] == [
        "${PYTHON_IMAGE} AS builder",
        "${PYTHON_IMAGE} AS runtime",
    ]


def test_builder_installs_exactly_the_locked_runtime_requirements() -> None:
    (build,) = [run for run in in_stage("builder", "RUN") if "uv export" in run]
    assert "uv export --frozen --no-dev --no-emit-project" in build
    assert "uv build --wheel" in build
    (install,) = [run for run in in_stage("runtime", "RUN") if "pip install" in run]
    assert "--require-hashes" in install


def test_runtime_runs_as_a_non_root_user_under_tini() -> None:
    assert in_stage("runtime", "USER") == ["10001:10001"]
    (packages,) = [run for run in in_stage("runtime", "RUN") if "apt-get install" in run]
    assert {"tini", "tesseract-ocr", "tesseract-ocr-fra"} <= set(packages.split())
    assert in_stage("runtime", "ENTRYPOINT") == ['["tini", "--", "usine"]']
    assert in_stage("runtime", "CMD") == ['["serve"]']


def test_healthcheck_probes_liveness_with_python_alone() -> None:
    (healthcheck,) = in_stage("runtime", "HEALTHCHECK")
    assert "/1.0.0/health_check" in healthcheck
    assert "urllib.request" in healthcheck
    assert "curl" not in healthcheck


def test_every_usine_variable_of_the_image_is_a_setting_and_serving_listens_on_all_interfaces() -> None:
    environment = runtime_environment()
    usine = {key.removeprefix("USINE_").lower() for key in environment if key.startswith("USINE_")}
    assert usine <= set(Settings.model_fields)
    assert environment["USINE_HOST"] == "0.0.0.0"
    assert environment["OMP_NUM_THREADS"] == "1"
    (volume,) = in_stage("runtime", "VOLUME")
    assert environment["USINE_HOME"] in volume


def test_dockerignore_keeps_what_the_build_copies_and_drops_local_state() -> None:
    rules = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def sent(path: str) -> bool:
        included = True
        for rule in rules:
            negated = rule.startswith("!")
            pattern = rule.removeprefix("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
                included = negated
        return included

    copied = [
        source
        for arguments in in_stage("builder", "COPY")
        for source in arguments.split()[:-1]
        if not source.startswith("--")
    ]
    assert copied
    assert all(sent(source) for source in copied)
    assert sent("src/usine/settings.py")
    assert not any(
        sent(path) for path in (".venv/bin/python", ".usine/usine.db", ".git/HEAD", "tests/conftest.py")
    )

"""deploy/docker/compose.yaml: valid for Compose, every part healthy before what needs it starts."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockerfile import ROOT
from support import parse_usine_command
from usine.cli.serve import GRACEFUL_SHUTDOWN_S
from usine.settings import Settings

COMPOSE = ROOT / "deploy" / "docker" / "compose.yaml"
ONE_SHOTS = {"minio-init", "migrate", "train"}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def usine_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services.items() if s["image"].startswith("ghcr.io/usine-ml/usine:")}


def test_compose_file_matches_the_compose_specification() -> None:
    command = [
        sys.executable,
        "-m",
        "check_jsonschema",
        "--builtin-schema",
        "vendor.compose-spec",
        str(COMPOSE),
    ]
    checked = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_api_runs_with_postgresql_mlflow_and_an_object_store(services: dict[str, dict[str, Any]]) -> None:
    assert {"api", "postgres", "minio", "mlflow", "migrate", "train"} <= set(services)
    environment = services["api"]["environment"]
    assert environment["USINE_DATABASE_URL"].startswith("postgresql://")
    assert environment["USINE_MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert "--artifacts-destination=s3://mlflow" in services["mlflow"]["command"]
    assert any("postgres:5432/mlflow" in argument for argument in services["mlflow"]["command"])


def test_every_dependency_waits_for_health_or_success(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for needed, how in service.get("depends_on", {}).items():
            expected = "service_completed_successfully" if needed in ONE_SHOTS else "service_healthy"
            assert how == {"condition": expected}, (name, needed)
            assert needed in ONE_SHOTS or "healthcheck" in services[needed], needed


def test_servers_restart_and_one_shots_do_not(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if name in ONE_SHOTS:
            assert service["restart"] == "no", name
        else:
            assert service["restart"] == "unless-stopped", name
            assert "healthcheck" in service, name


def test_the_api_waits_for_readiness_and_outlives_the_server_drain(
    services: dict[str, dict[str, Any]],
) -> None:
    api = services["api"]
    assert any("/1.0.0/readiness" in part for part in api["healthcheck"]["test"])
    assert int(api["stop_grace_period"].removesuffix("s")) > GRACEFUL_SHUTDOWN_S


def test_usine_containers_run_commands_usine_accepts_with_settings_it_knows(
    services: dict[str, dict[str, Any]],
) -> None:
    ran = usine_services(services)
    assert {"api", "migrate", "train"} <= set(ran)
    for name, service in ran.items():
        parse_usine_command(service["command"])
        variables = {key.removeprefix("USINE_").lower() for key in service["environment"]}
        assert variables <= set(Settings.model_fields), name
    assert [services[name]["command"] for name in ("migrate", "train", "api")] == [
        ["db", "upgrade"],
        ["train", "credit"],
        ["serve"],
    ]


def test_the_images_compose_builds_are_in_the_repository(services: dict[str, dict[str, Any]]) -> None:
    for service in services.values():
        if "build" in service:
            context = (COMPOSE.parent / service["build"]["context"]).resolve()
            assert (context / service["build"]["dockerfile"]).is_file()


def test_the_mlflow_image_installs_the_locked_mlflow_version() -> None:
    locked = next(
        line.split("==")[1]
        for line in subprocess.run(
            [str(Path(sys.executable).parent / "uv"), "export", "--frozen", "--no-dev", "--no-hashes"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=True,
        ).stdout.splitlines()
        if line.startswith("mlflow==")
    )
    assert f"mlflow=={locked}" in (ROOT / "deploy" / "docker" / "mlflow.Dockerfile").read_text()

"""The GitHub Actions files are valid against the workflow schema and run the README's command."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted((ROOT / ".github" / "actions").glob("*/action.yml"))


def validate(schema: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_there_is_a_ci_and_a_delivery_workflow() -> None:
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "delivery.yml"}


@pytest.mark.parametrize(
    ("schema", "files"), [("vendor.github-workflows", WORKFLOWS), ("vendor.github-actions", ACTIONS)]
)
def test_workflows_and_actions_match_their_schema(schema: str, files: list[Path]) -> None:
    checked = validate(schema, files)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_ci_runs_the_readme_test_command_against_postgresql() -> None:
    ci = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert "make test" in ci
    assert "postgres" in ci
    assert "USINE_TEST_DATABASE_URL" in ci


def test_delivery_scans_before_it_pushes_and_promotes_on_approval() -> None:
    delivery = (ROOT / ".github" / "workflows" / "delivery.yml").read_text()
    order = [delivery.index(step) for step in ("pip-audit", "bandit", "trivy-action", "docker push")]
    assert order == sorted(order)
    assert "environment: staging" in delivery
    assert "environment: prod" in delivery

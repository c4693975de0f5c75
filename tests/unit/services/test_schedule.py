"""Scheduled commands: a crontab line and a CronJob Kubernetes accepts, for commands usine has."""

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from usine.cli import app
from usine.domain.errors import InvalidSchedule
from usine.services.schedule import Schedule, cronjob_manifest, crontab_line

BATCH = [
    "batch",
    "credit",
    "--input",
    "s3://bank/applications.parquet",
    "--output",
    "s3://bank/scores.parquet",
]


def test_the_crontab_line_runs_the_command_quoted_in_its_time_zone() -> None:
    line = crontab_line(Schedule(cron="0 2 * * 1-5", args=[*BATCH[:3], "my file.csv", *BATCH[4:]]))
    assert line == (
        "CRON_TZ=Europe/Paris\n"
        "0 2 * * 1-5 usine batch credit --input 'my file.csv' --output s3://bank/scores.parquet"
    )


def test_the_cronjob_is_valid_kubernetes_and_runs_the_command_as_the_image_user() -> None:
    manifest = cronjob_manifest(Schedule(cron="0 2 * * *", args=BATCH), tag="1.2.3")
    kubernetes_validate.validate(manifest, "1.33.0", strict=True)
    pod = manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert manifest["metadata"]["name"] == "usine-batch-credit"
    assert container["args"] == BATCH
    assert container["image"] == "ghcr.io/usine-ml/usine:1.2.3"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert manifest["spec"]["concurrencyPolicy"] == "Forbid"


def test_a_name_kubernetes_would_refuse_is_refused() -> None:
    with pytest.raises(InvalidSchedule, match="CronJob name"):
        cronjob_manifest(Schedule(cron="@daily", args=["train", "credit"], name="x" * 60))


def test_the_command_prints_both_and_refuses_commands_usine_does_not_have() -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["schedule", "0 3 * * 1", "--", "train", "credit"])
    assert done.exit_code == 0, done.output
    crontab, manifest = done.output.split("# Kubernetes CronJob\n")
    assert "0 3 * * 1 usine train credit" in crontab
    assert yaml.safe_load(manifest)["spec"]["schedule"] == "0 3 * * 1"
    for wrong, message in [
        (["trian", "credit"], "no such command 'trian'"),
        (["batch", "credit", "--bogus"], "No such option: --bogus"),
        (["models"], "not a complete command: usine models"),
    ]:
        refused = runner.invoke(app, ["schedule", "@daily", "--", *wrong])
        assert isinstance(refused.exception, InvalidSchedule)
        assert message in str(refused.exception)

"""Scheduled runs of a ``usine`` command: the crontab line and the Kubernetes CronJob.

The CronJob is the one the Kubernetes base ships for retraining (deploy/k8s/base): the
image's non-root user, a read-only root file system, settings from the ``usine-settings``
ConfigMap and the database URL from the ``usine-database`` Secret. Saved under
``deploy/k8s/base`` and listed in its kustomization, it is rolled out with the rest.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from usine.domain.cron import check_cron
from usine.domain.errors import InvalidSchedule

IMAGE = "ghcr.io/usine-ml/usine"
IMAGE_USER = 10001
# Kubernetes appends 11 characters to a CronJob's name for its Jobs; names stay under 63.
MAX_NAME = 52
# Mount point of the pod's own emptyDir (the root file system is read-only), not a shared folder.
POD_TMP = "/tmp"  # noqa: S108  # nosec B108


@dataclass(frozen=True)
class Resources:
    """CPU and memory a scheduled pod requests and may not exceed."""

    cpu_request: str = "1"
    memory_request: str = "1Gi"
    cpu_limit: str = "2"
    memory_limit: str = "2Gi"


@dataclass(frozen=True)
class Schedule:
    """A ``usine`` command run on a cron schedule.

    Attributes:
        cron: five cron fields or a macro such as ``@daily``.
        args: the command's arguments after ``usine``, e.g. ``["train", "credit"]``.
        timezone: the IANA time zone the schedule is read in.
        name: the CronJob's name; derived from the command when empty.

    """

    cron: str
    args: list[str]
    timezone: str = "Europe/Paris"
    name: str = ""
    resources: Resources = field(default_factory=Resources)
    deadline_s: int = 3600

    def job_name(self) -> str:
        """The CronJob's name: given, or ``usine-`` and the command's first words."""
        if self.name:
            name = self.name
        else:
            words = [arg for arg in self.args[:2] if not arg.startswith("-")]
            name = "-".join(["usine", *words])
        slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
        if not slug or len(slug) > MAX_NAME:
            raise InvalidSchedule(f"{name!r}: a CronJob name has 1 to {MAX_NAME} letters, digits or dashes")
        return slug


def crontab_line(schedule: Schedule, executable: str = "usine") -> str:
    """The line to add to a crontab, with the time zone as cronie reads it."""
    cron = check_cron(schedule.cron)
    return f"CRON_TZ={schedule.timezone}\n{cron} {shlex.join([executable, *schedule.args])}"


def cronjob_manifest(schedule: Schedule, tag: str | None = None) -> dict[str, Any]:
    """The Kubernetes CronJob running the command in the usine image.

    Args:
        schedule: what to run and when.
        tag: the image tag; none when kustomize's ``images:`` sets it (the base's way).

    Raises:
        InvalidSchedule: a malformed cron expression or name.

    """
    name = schedule.job_name()
    component = name.removeprefix("usine-")
    resources = schedule.resources
    container = {
        "name": schedule.args[0] if schedule.args else "usine",
        "image": f"{IMAGE}:{tag}" if tag else IMAGE,
        "args": list(schedule.args),
        "envFrom": [{"configMapRef": {"name": "usine-settings"}}],
        "env": [
            {
                "name": "USINE_DATABASE_URL",
                "valueFrom": {"secretKeyRef": {"name": "usine-database", "key": "url"}},
            }
        ],
        "resources": {
            "requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
            "limits": {"cpu": resources.cpu_limit, "memory": resources.memory_limit},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "home", "mountPath": "/var/lib/usine"},
            {"name": "tmp", "mountPath": POD_TMP},
        ],
    }
    pod = {
        "metadata": {"labels": {"app.kubernetes.io/component": component}},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": IMAGE_USER,
                "runAsGroup": IMAGE_USER,
                "fsGroup": IMAGE_USER,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
            "volumes": [{"name": "home", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/component": component}},
        "spec": {
            "schedule": check_cron(schedule.cron),
            "timeZone": schedule.timezone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": schedule.deadline_s,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {"backoffLimit": 1, "activeDeadlineSeconds": schedule.deadline_s, "template": pod}
            },
        },
    }

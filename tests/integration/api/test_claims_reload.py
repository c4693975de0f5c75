"""The claims extractor follows the ``champion`` alias of ``claims`` like the prediction models:
promote, reload, extract with the new version, while an extraction already started keeps its own."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from claim_support import BASE, CONTRACT, generated_invoice
from support import wait_until
from usine.adapters.registry import LoggedRun, ModelRegistry
from usine.api.app import create_app
from usine.services.claims import ClaimsService
from usine.services.claims_training import ClaimsTrainingResult
from usine.services.models import open_registry
from usine.settings import Settings

UPLOAD = f"{BASE}/claim_files_extraction"


@pytest.fixture
def settings(claims_home: tuple[Path, ClaimsTrainingResult], database_url: str, tmp_path: Path) -> Settings:
    """A private copy of the claims registry, so promotions here touch no other test."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(claims_home[0] / "mlflow.db", home / "mlflow.db")
    return Settings(
        home=home,
        database_url=database_url,
        object_store_url=str(tmp_path / "objects"),
        served_models=[],
        reload_interval_s=0,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def register_copy(registry: ModelRegistry, version: str) -> str:
    """A new version of claims made of ``version``'s artefacts (as a retraining would add)."""
    first = registry.client.get_model_version("claims", version)
    return registry.register("claims", LoggedRun(run_id=first.run_id, model_uri=first.source), {})


def test_a_promoted_claims_version_extracts_after_reload_and_a_started_extraction_keeps_its_own(
    client: TestClient, settings: Settings, claims_home: tuple[Path, ClaimsTrainingResult]
) -> None:
    first = claims_home[1].version
    invoice = generated_invoice()
    before = client.post(UPLOAD, files=[("files", ("facture.pdf", invoice.content))]).json()
    assert before["extractor_version"] == first
    service: ClaimsService = client.app.state.claims  # type: ignore[attr-defined]
    started = service.extractor  # what a request in flight holds

    registry = open_registry(settings)
    second = register_copy(registry, first)
    registry.set_alias("claims", "champion", second)
    reloaded = client.post("/1.0.0/models/claims/reload")
    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json() == {
        "name": "claims",
        "previous": first,
        "version": second,
        "changed": True,
        "challenger": None,
    }

    after = client.post(UPLOAD, files=[("files", ("facture.pdf", invoice.content))]).json()
    assert after["extractor_version"] == second
    [item] = after["extractions"]
    assert item["extraction"]["invoice"] == before["extractions"][0]["extraction"]["invoice"]
    assert service.extraction(CONTRACT, item["extraction_id"]).extractor_version == second
    finished = service.extract_file(CONTRACT, "facture.pdf", invoice.content, started)
    assert finished.extractor_version == first
    assert service.extraction(CONTRACT, finished.id).extractor_version == first
    assert client.post("/1.0.0/models/claims/reload").json()["changed"] is False


def test_a_claims_version_that_fails_to_load_leaves_the_old_one_extracting(
    client: TestClient, settings: Settings, claims_home: tuple[Path, ClaimsTrainingResult]
) -> None:
    registry = open_registry(settings)
    broken = registry.client.create_model_version("claims", "file:///nowhere/model", run_id=None)
    registry.set_alias("claims", "champion", str(broken.version))
    failed = client.post("/1.0.0/models/claims/reload")
    assert failed.status_code == 503
    assert failed.headers["content-type"] == "application/problem+json"
    assert f"version {broken.version}" in failed.json()["detail"]
    answer = client.post(UPLOAD, files=[("files", ("facture.pdf", generated_invoice().content))])
    assert answer.json()["extractor_version"] == claims_home[1].version
    ready = client.get("/1.0.0/readiness")
    assert ready.status_code == 200
    assert f"version {broken.version} failed to load" in ready.json()["reload_failures"]["claims"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_claims_extractor_follows_the_alias_without_a_reload_call(
    settings: Settings, claims_home: tuple[Path, ClaimsTrainingResult]
) -> None:
    polled = settings.model_copy(update={"reload_interval_s": 0.2})
    with TestClient(create_app(polled)) as client:
        registry = open_registry(settings)
        second = register_copy(registry, claims_home[1].version)
        registry.set_alias("claims", "champion", second)
        service: ClaimsService = client.app.state.claims  # type: ignore[attr-defined]
        wait_until(lambda: service.extractor.version == second, "the claims alias followed")
        answer = client.post(UPLOAD, files=[("files", ("facture.pdf", generated_invoice().content))])
        assert answer.json()["extractor_version"] == second

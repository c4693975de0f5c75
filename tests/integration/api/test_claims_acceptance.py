"""Claims acceptance over saved claims, on SQLite and PostgreSQL: API and command line agree."""

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from claim_support import BASE, record_extraction, saved_body
from usine.api.app import create_app
from usine.cli import main
from usine.services.claims import ClaimsService
from usine.settings import Settings

ACCEPTANCE = "/1.0.0/monitoring/claims/acceptance"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(home=tmp_path, database_url=database_url, served_models=[])


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def save_two_claims(client: TestClient) -> None:
    """One claim saved as extracted, one with its invoice number corrected (5 fields each)."""
    service: ClaimsService = client.app.state.claims  # type: ignore[attr-defined]
    first, second = record_extraction(service, number="F-1"), record_extraction(service, number="F-2")
    for stored, number in ((first, "F-1"), (second, "F-2-corrected")):
        saved = client.put(f"{BASE}/save_extract", json=saved_body([stored.id], number=number))
        assert saved.status_code == 200, saved.text


def test_acceptance_counts_the_fields_handlers_kept_and_corrected(client: TestClient) -> None:
    save_two_claims(client)
    answer = client.get(ACCEPTANCE, params={"since": "1h"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["claims"], report["fields_reviewed"]) == (2, 10)
    assert report["used_as_is"] == pytest.approx(0.9)
    least_accepted = report["fields"][0]
    assert least_accepted["field"] == "invoice.number"
    assert (least_accepted["proposed"], least_accepted["accepted"], least_accepted["corrected"]) == (2, 1, 1)
    assert least_accepted["acceptance_rate"] == pytest.approx(0.5)
    assert sum(band["proposed"] for band in report["confidence"]) == 10


def test_claims_outside_the_window_are_not_counted_and_a_bad_window_is_a_422(client: TestClient) -> None:
    save_two_claims(client)
    earlier = client.get(ACCEPTANCE, params={"since": "2020-01-01", "until": "2020-02-01"}).json()
    assert (earlier["claims"], earlier["fields_reviewed"], earlier["used_as_is"]) == (0, 0, None)
    refused = client.get(ACCEPTANCE, params={"since": "last tuesday"})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"


def test_the_command_line_reports_what_the_api_reports(
    client: TestClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    save_two_claims(client)
    monkeypatch.setenv("USINE_HOME", str(settings.home))
    monkeypatch.setenv("USINE_DATABASE_URL", settings.database_url)
    monkeypatch.setattr(sys, "argv", ["usine", "claims", "acceptance", "--since", "1h", "--json"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code in (0, None)
    printed = json.loads(capsys.readouterr().out)
    from_api = client.get(ACCEPTANCE, params={"since": "1h"}).json()
    assert printed["fields"] == from_api["fields"]
    assert printed["used_as_is"] == pytest.approx(0.9)

"""The claim API in process, on SQLite and PostgreSQL: save, list, read pages, erase, isolation."""

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import create_engine, func, select

from claim_support import BASE, invoice_pdf, record_extraction, saved_body
from usine.adapters.db.tables import ClaimCorrectionRow, ClaimExtractionRow, ClaimRow, ClaimSourceRow
from usine.api.app import create_app
from usine.domain.claims_api import ContractRef
from usine.services.claims import ClaimsService
from usine.settings import Settings

PROBLEM = "application/problem+json"
OTHER_CUSTOMER = ContractRef(uom_code="FR01", customer_id="C-2002", contract_id="K-42")
OTHER_BASE = "/1.0.0/entities/FR01/customers/C-2002/contracts/K-42"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(home=tmp_path, database_url=database_url, served_models=[], max_body_bytes=16_384)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def service(client: TestClient) -> ClaimsService:
    claims: ClaimsService = client.app.state.claims  # type: ignore[attr-defined]
    return claims


def count_rows(settings: Settings) -> dict[str, int]:
    engine = create_engine(settings.database_url)
    tables = {"extractions": ClaimExtractionRow, "claims": ClaimRow, "sources": ClaimSourceRow,
              "corrections": ClaimCorrectionRow}  # fmt: skip
    with engine.connect() as connection:
        counts = {
            name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in tables.items()
        }
    engine.dispose()
    return counts


def test_without_a_claims_model_uploads_answer_503_and_the_rest_serves(client: TestClient) -> None:
    refused = client.post(f"{BASE}/claim_files_extraction", files={"files": ("f.pdf", invoice_pdf())})
    assert refused.status_code == 503
    assert refused.headers["content-type"] == PROBLEM
    assert "claim extraction is not available" in refused.json()["detail"]
    ready = client.get("/1.0.0/readiness")
    assert ready.status_code == 200
    assert "claims" in ready.json()["unavailable"]
    assert client.get(f"{BASE}/claims").json() == []


def test_readiness_fails_without_a_claims_model_when_claims_are_required(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, served_models=[], claims_required=True)
    with TestClient(create_app(settings)) as client:
        ready = client.get("/1.0.0/readiness")
    assert ready.status_code == 503
    assert "claims:" in ready.json()["detail"]


def test_a_saved_claim_stores_each_correction_and_lists_its_summary(
    client: TestClient, service: ClaimsService, settings: Settings
) -> None:
    stored = record_extraction(service)
    saved = client.put(
        f"{BASE}/save_extract", json=saved_body([stored.id], number="F-2026-007", total_incl_tax="1234.560")
    )
    assert saved.status_code == 200, saved.text
    claim = saved.json()
    summary = claim["corrections"]
    assert (summary["fields"], summary["changed"]) == (5, 1)
    assert summary["used_as_is"] == pytest.approx(0.8)
    assert summary["changes"] == [
        {"field": "invoice.number", "extraction_id": stored.id, "extracted": "F-2026-001",
         "saved": "F-2026-007", "confidence": 0.95},
    ]  # fmt: skip
    [listed] = client.get(f"{BASE}/claims").json()
    assert listed["id"] == claim["id"]
    assert listed["values"]["invoice"]["number"] == "F-2026-007"
    assert listed["extraction_ids"] == [stored.id]
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(ClaimCorrectionRow.field, ClaimCorrectionRow.changed).where(
                ClaimCorrectionRow.claim_id == claim["id"]
            )
        ).all()
    engine.dispose()
    assert dict(rows) == {
        "invoice.number": True,
        "invoice.currency": False,
        "invoice.total_incl_tax": False,
        "address.city": False,
        "bank_details.iban": False,
    }


def test_saving_again_from_the_same_extraction_replaces_the_claim(
    client: TestClient, service: ClaimsService, settings: Settings
) -> None:
    stored = record_extraction(service)
    first = client.put(f"{BASE}/save_extract", json=saved_body([stored.id], number="WRONG")).json()
    second = client.put(f"{BASE}/save_extract", json=saved_body([stored.id])).json()
    assert first["id"] == second["id"]
    assert second["corrections"]["changed"] == 0
    assert [c["values"]["invoice"]["number"] for c in client.get(f"{BASE}/claims").json()] == ["F-2026-001"]
    assert count_rows(settings) == {"extractions": 1, "claims": 1, "sources": 1, "corrections": 5}


def test_extractions_of_two_claims_cannot_be_saved_as_one(client: TestClient, service: ClaimsService) -> None:
    first, second = record_extraction(service, number="A"), record_extraction(service, number="B")
    assert client.put(f"{BASE}/save_extract", json=saved_body([first.id])).status_code == 200
    assert client.put(f"{BASE}/save_extract", json=saved_body([second.id])).status_code == 200
    conflict = client.put(f"{BASE}/save_extract", json=saved_body([first.id, second.id]))
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == PROBLEM


def test_a_save_naming_an_unknown_extraction_saves_nothing(
    client: TestClient, service: ClaimsService, settings: Settings
) -> None:
    stored = record_extraction(service)
    unknown = "00000000-0000-4000-8000-000000000000"
    refused = client.put(f"{BASE}/save_extract", json=saved_body([stored.id, unknown]))
    assert refused.status_code == 404
    assert unknown in refused.json()["detail"]
    assert count_rows(settings) == {"extractions": 1, "claims": 0, "sources": 0, "corrections": 0}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"extraction_ids": []}, "extraction_ids"),
        ({"extraction_ids": ["not-an-id"]}, "extraction_ids.0"),
        ({"extraction_ids": ["00000000-0000-4000-8000-000000000000"], "invoice": {"total_incl_tax": "douze"}},
         "invoice.total_incl_tax"),
        ({"extraction_ids": ["00000000-0000-4000-8000-000000000000"], "invoice": {"vat_rate": "9" * 13}},
         "invoice.vat_rate"),
        ({"extraction_ids": ["00000000-0000-4000-8000-000000000000"], "invoice": {"currency": "euro"}},
         "invoice.currency"),
        ({"extraction_ids": ["00000000-0000-4000-8000-000000000000"], "invoice": {"colour": "red"}},
         "invoice.colour"),
    ],
)  # fmt: skip
def test_invalid_claim_data_is_a_422_naming_the_field(client: TestClient, body: dict, field: str) -> None:  # type: ignore[type-arg]
    refused = client.put(f"{BASE}/save_extract", json=body)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    assert field in [error["field"] for error in refused.json()["errors"]]


def test_a_body_that_is_not_json_or_too_large_is_refused(client: TestClient) -> None:
    assert (
        client.put(
            f"{BASE}/save_extract", content=b"{", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    huge = saved_body(["00000000-0000-4000-8000-000000000000"], number="x" * 20_000)
    assert client.put(f"{BASE}/save_extract", json=huge).status_code == 413


def test_a_customer_never_reads_or_erases_another_customers_claims(
    client: TestClient, service: ClaimsService
) -> None:
    stored = record_extraction(service)
    claim = client.put(f"{BASE}/save_extract", json=saved_body([stored.id])).json()
    assert client.get(f"{OTHER_BASE}/claims").json() == []
    assert client.get(f"{OTHER_BASE}/extractions/{stored.id}").status_code == 404
    assert client.get(f"{OTHER_BASE}/extractions/{stored.id}/pages/1").status_code == 404
    assert client.put(f"{OTHER_BASE}/save_extract", json=saved_body([stored.id])).status_code == 404
    assert client.delete(f"{OTHER_BASE}/claims/{claim['id']}").status_code == 404
    other_contract = "/1.0.0/entities/FR01/customers/C-1001/contracts/K-43"
    assert client.get(f"{other_contract}/claims").json() == []
    assert [c["id"] for c in client.get(f"{BASE}/claims").json()] == [claim["id"]]


def test_erasing_a_claim_removes_its_rows_and_its_raw_file(
    client: TestClient, service: ClaimsService, settings: Settings
) -> None:
    stored = record_extraction(service)
    claim = client.put(f"{BASE}/save_extract", json=saved_body([stored.id])).json()
    assert service.objects.exists(stored.file_key)
    erased = client.delete(f"{BASE}/claims/{claim['id']}")
    assert erased.status_code == 200
    assert erased.json() == {"claims": 1, "extractions": 1, "files": 1}
    assert not service.objects.exists(stored.file_key)
    assert not list((settings.home / "objects").rglob(stored.file_key))
    assert count_rows(settings) == {"extractions": 0, "claims": 0, "sources": 0, "corrections": 0}
    assert client.get(f"{BASE}/claims").json() == []
    assert client.delete(f"{BASE}/claims/{claim['id']}").status_code == 404


def test_a_file_another_customer_also_sent_is_kept_until_both_are_erased(
    client: TestClient, service: ClaimsService, settings: Settings
) -> None:
    content = invoice_pdf("SHARED")
    mine = record_extraction(service, content=content)
    theirs = record_extraction(service, OTHER_CUSTOMER, content=content)
    assert mine.file_key == theirs.file_key
    client.put(f"{BASE}/save_extract", json=saved_body([mine.id]))
    first = client.delete("/1.0.0/entities/FR01/customers/C-1001/claim_data")
    assert first.json() == {"claims": 1, "extractions": 1, "files": 0}
    assert service.objects.exists(mine.file_key)
    assert client.get(f"{OTHER_BASE}/extractions/{theirs.id}").status_code == 200
    second = client.delete("/1.0.0/entities/FR01/customers/C-2002/claim_data")
    assert second.json() == {"claims": 0, "extractions": 1, "files": 1}
    assert not service.objects.exists(mine.file_key)
    assert count_rows(settings) == {"extractions": 0, "claims": 0, "sources": 0, "corrections": 0}


def test_a_stored_page_is_rendered_as_a_bounded_png(client: TestClient, service: ClaimsService) -> None:
    stored = record_extraction(service, content=invoice_pdf(pages=2))
    page = client.get(f"{BASE}/extractions/{stored.id}/pages/2")
    assert page.status_code == 200
    assert page.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(page.content)) as image:
        assert max(image.size) == 1600
        assert image.size[1] > image.size[0]
    assert client.get(f"{BASE}/extractions/{stored.id}/pages/3").status_code == 404
    assert client.get(f"{BASE}/extractions/{stored.id}/pages/0").status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/1.0.0/entities/FR01/customers/C%C3%A91001/contracts/K-42/claims",  # é
        "/1.0.0/entities/FR01/customers/C\u200b1/contracts/K-42/claims",  # zero-width space
        "/1.0.0/entities/FR01/customers/..%5C..%5Cetc/contracts/K-42/claims",  # ..\..\etc
        "/1.0.0/entities/FR01/customers/.hidden/contracts/K-42/claims",
        f"/1.0.0/entities/FR01/customers/{'a' * 65}/contracts/K-42/claims",
        "/1.0.0/entities/FR%2001/customers/C-1001/contracts/K-42/claims",
    ],
)
def test_ids_with_unicode_separators_or_excess_length_are_refused(client: TestClient, path: str) -> None:
    refused = client.get(path)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM

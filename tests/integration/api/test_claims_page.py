"""The review page and its assets are served by the application itself."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from usine.api.app import create_app
from usine.settings import Settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path_factory.mktemp("page"), served_models=[])
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_page_is_french_by_default_and_english_on_request(client: TestClient) -> None:
    french = client.get("/ui/claims", headers={"Accept-Language": "de"})
    assert french.status_code == 200
    assert '<html lang="fr">' in french.text
    assert "Total TTC" in french.text
    english = client.get("/ui/claims?lang=en&customer_id=C-1001")
    assert english.headers["content-language"] == "en"
    assert "Total incl. tax" in english.text
    assert 'value="C-1001"' in english.text


def test_the_page_loads_only_assets_the_app_serves(client: TestClient) -> None:
    page = client.get("/ui/claims").text
    assert "http://" not in page
    assert "https://" not in page
    for asset, kind in (("/ui/static/claims.js", "javascript"), ("/ui/static/claims.css", "text/css")):
        assert f'"{asset}"' in page
        served = client.get(asset)
        assert served.status_code == 200
        assert kind in served.headers["content-type"]


def test_a_prefilled_id_outside_the_charset_is_refused(client: TestClient) -> None:
    refused = client.get("/ui/claims", params={"customer_id": '"><script>'})
    assert refused.status_code == 422


def test_the_openapi_document_describes_the_claim_routes_and_bodies(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    prefix = "/1.0.0/entities/{uom_code}/customers/{customer_id}/contracts/{contract_id}"
    upload = document["paths"][f"{prefix}/claim_files_extraction"]["post"]
    assert "files" in upload["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    save = document["paths"][f"{prefix}/save_extract"]["put"]
    assert save["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ClaimIn"
    }
    schemas = document["components"]["schemas"]
    assert {"ClaimIn", "InvoiceValues", "ClaimOut", "ClaimFilesOut"} <= schemas.keys()
    assert "/ui/claims" not in document["paths"]

"""Claim files uploaded in process with the trained claims model, on SQLite and PostgreSQL:
extraction, bad files beside good ones, request limits, and the saved corrections."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from claim_support import BASE, corrupt_pdf, encrypted_pdf, generated_invoice
from usine.adapters.db.tables import ClaimCorrectionRow, ClaimExtractionRow
from usine.api.app import create_app
from usine.services.claims_training import ClaimsTrainingResult
from usine.settings import Settings

PROBLEM = "application/problem+json"
UPLOAD = f"{BASE}/claim_files_extraction"


@pytest.fixture
def settings(claims_home: tuple[Path, ClaimsTrainingResult], database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        home=claims_home[0],
        database_url=database_url,
        object_store_url=str(tmp_path / "objects"),
        served_models=[],
        claims_max_file_bytes=50_000,
        claims_max_files=6,
        claims_max_request_bytes=400_000,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def stored_files(settings: Settings) -> list[Path]:
    return [path for path in Path(settings.object_store_url).rglob("*") if path.is_file()]


def extraction_rows(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(ClaimExtractionRow)).scalar_one()
    engine.dispose()
    return int(count)


def test_readiness_names_the_claims_model_version(client: TestClient) -> None:
    ready = client.get("/1.0.0/readiness")
    assert ready.status_code == 200
    assert "unavailable" not in ready.json()


def test_a_generated_invoice_is_extracted_stored_and_saved_with_its_correction(
    client: TestClient, settings: Settings
) -> None:
    invoice = generated_invoice()
    answer = client.post(
        UPLOAD, files=[("files", ("../../facture atelier.pdf", invoice.content, "application/pdf"))]
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["problems"] == []
    [item] = body["extractions"]
    assert item["file"] == "facture atelier.pdf"
    extraction = item["extraction"]
    assert extraction["invoice"]["number"]["value"] == invoice.truth["invoice.number"]
    assert extraction["bank_details"]["iban"]["value"] == invoice.truth["bank_details.iban"]
    assert extraction["invoice"]["number"]["confidence"] > 0
    [stored] = stored_files(settings)
    assert stored.name == extraction["file_key"]
    assert stored.read_bytes() == invoice.content
    page = client.get(f"{BASE}/extractions/{item['extraction_id']}/pages/1")
    assert page.headers["content-type"] == "image/png"

    values = {
        group: {name: field["value"] for name, field in extraction[group].items() if name != "line_items"}
        for group in ("invoice", "address", "bank_details")
    }
    values["invoice"]["line_items"] = [
        {name: field["value"] for name, field in line.items()} for line in extraction["invoice"]["line_items"]
    ]
    values["invoice"]["number"] = "CORRIGE-1"
    saved = client.put(f"{BASE}/save_extract", json={"extraction_ids": [item["extraction_id"]], **values})
    assert saved.status_code == 200, saved.text
    changes = saved.json()["corrections"]["changes"]
    assert [(c["field"], c["saved"]) for c in changes] == [("invoice.number", "CORRIGE-1")]
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        changed = connection.execute(
            select(ClaimCorrectionRow.field).where(ClaimCorrectionRow.changed.is_(True))
        ).all()
    engine.dispose()
    assert [row[0] for row in changed] == ["invoice.number"]


def test_each_bad_file_gets_its_own_problem_and_the_good_one_is_still_read(
    client: TestClient, settings: Settings
) -> None:
    files = [
        ("files", ("notes.txt", b"not a document at all", "text/plain")),
        ("files", ("empty.pdf", b"", "application/pdf")),
        ("files", ("broken.pdf", corrupt_pdf(), "application/pdf")),
        ("files", ("locked.pdf", encrypted_pdf(), "application/pdf")),
        ("files", ("huge.pdf", b"%PDF-1.7\n" + b"0" * 60_000, "application/pdf")),
        ("files", ("facture.pdf", generated_invoice().content, "application/pdf")),
    ]
    answer = client.post(UPLOAD, files=files)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(item["index"], item["file"]) for item in body["extractions"]] == [(5, "facture.pdf")]
    problems = {problem["file"]: problem for problem in body["problems"]}
    assert {name: problem["status"] for name, problem in problems.items()} == {
        "notes.txt": 415,
        "empty.pdf": 422,
        "broken.pdf": 422,
        "locked.pdf": 422,
        "huge.pdf": 413,
    }
    assert "encrypted" in problems["locked.pdf"]["detail"]
    assert "empty" in problems["empty.pdf"]["detail"]
    assert all(problem["type"].startswith("urn:usine:problem:") for problem in problems.values())
    assert extraction_rows(settings) == 1
    assert len(stored_files(settings)) == 1


def test_when_every_file_is_refused_the_request_is_a_problem_listing_each(
    client: TestClient, settings: Settings
) -> None:
    files = [
        ("files", ("a.txt", b"plain text", "text/plain")),
        ("files", ("b.doc", b"\xd0\xcf\x11\xe0", "x/y")),
    ]
    answer = client.post(UPLOAD, files=files)
    assert answer.status_code == 415
    assert answer.headers["content-type"] == PROBLEM
    assert [(f["file"], f["status"]) for f in answer.json()["files"]] == [("a.txt", 415), ("b.doc", 415)]
    mixed = client.post(UPLOAD, files=[files[0], ("files", ("c.pdf", b"", "application/pdf"))])
    assert mixed.status_code == 422
    assert extraction_rows(settings) == 0
    assert stored_files(settings) == []


def test_too_many_files_or_bytes_refuse_the_whole_request(client: TestClient, settings: Settings) -> None:
    invoice = generated_invoice().content
    seven = [("files", (f"f{i}.pdf", invoice, "application/pdf")) for i in range(7)]
    too_many = client.post(UPLOAD, files=seven)
    assert too_many.status_code == 413
    assert "more than 6 files" in too_many.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is checked while streaming
        yield b'--b\r\nContent-Disposition: form-data; name="files"; filename="x.pdf"\r\n\r\n'
        for _ in range(100):
            yield b"0" * 10_000

    streamed = client.post(
        UPLOAD, content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert streamed.status_code == 413
    assert streamed.headers["content-type"] == PROBLEM
    declared = client.post(
        UPLOAD,
        content=b"x",
        headers={"content-type": "multipart/form-data; boundary=b", "content-length": "500000"},
    )
    assert declared.status_code == 413
    assert extraction_rows(settings) == 0
    assert stored_files(settings) == []


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        ({"content-type": "application/json"}, b"{}", 415),
        ({"content-type": "multipart/form-data"}, b"--x\r\n", 400),
        ({"content-type": "multipart/form-data; boundary=x"}, b"garbage without parts", 400),
        ({"content-type": "multipart/form-data; boundary=x"},
         b'--x\r\nContent-Disposition: form-data; name="other"\r\n\r\nvalue\r\n--x--\r\n', 400),
    ],
)  # fmt: skip
def test_a_malformed_upload_is_a_problem(
    client: TestClient, headers: dict[str, str], content: bytes, status: int
) -> None:
    answer = client.post(UPLOAD, content=content, headers=headers)
    assert answer.status_code == status
    assert answer.headers["content-type"] == PROBLEM

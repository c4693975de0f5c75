"""Hostile input on a real server (JSON API and claim files): 4xx problem documents, the process
alive, memory bounded (RSS growth measured, never time)."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from claim_support import BASE, generated_invoice, many_pages_pdf, page_tree_bomb, with_javascript
from e2e.test_cli_and_server import Server, serving
from support import credit_rows
from usine.services.claims_training import ClaimsTrainingResult
from usine.services.training import TrainingResult

PREDICT = "/1.0.0/models/credit/predictions"
ROUNDS = 10
RSS_GROWTH_LIMIT_MB = 150
IBAN = "FR7630006000011234567890189"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def server(
    trained_home: tuple[Path, TrainingResult], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'log.db'}"
    with serving(trained_home[0], url) as running:
        yield running


def record_with(raw_value: str) -> bytes:
    """A valid record whose ``duration_months`` is ``raw_value`` written as is (not valid JSON)."""
    record = credit_rows(1)[0]
    record["duration_months"] = "@@"
    return json.dumps(record).replace('"@@"', raw_value).encode()


def chunks(total: int, size: int = 65_536) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"[" + b" " * (size - 1)


JSON = {"content-type": "application/json"}
BODIES: dict[str, tuple[bytes, set[int]]] = {
    "2 MB declared": (b"[" + b" " * 2_000_000 + b"]", {413}),
    "nested arrays 100k deep": (b"[" * 100_000 + b"]" * 100_000, {400, 413}),
    "nested objects in a field": (record_with('{"a":' * 5_000 + "1" + "}" * 5_000), {400, 422}),
    "NaN": (record_with("NaN"), {422}),
    "Infinity": (record_with("Infinity"), {422}),
    "-Infinity": (record_with("-Infinity"), {422}),
    "1e999": (record_with("1e999"), {422}),
    "a 100,000-digit integer": (record_with("9" * 100_000), {400, 413, 422}),
    "a huge float": (record_with("1" * 300 + ".5"), {422}),
    "not JSON": (b"\xff\xfe\x00garbage", {400}),
    "a string": (b'"\\ud800"', {400, 422}),
}
PATHS: dict[str, tuple[str, str]] = {
    "fullwidth digits": ("GET", "/1.0.0/predictions/%EF%BC%90%EF%BC%91"),
    "right-to-left override": ("GET", "/1.0.0/predictions/abc%E2%80%AEdef"),
    "NUL byte": ("DELETE", "/1.0.0/predictions/0%00"),
    "traversal": ("GET", "/1.0.0/predictions/..%2F..%2Fetc%2Fpasswd"),
    "zero-width space in a model": ("POST", "/1.0.0/models/credit%E2%80%8B/predictions"),
    "accented model": ("POST", "/1.0.0/models/cr%C3%A9dit/predictions"),
    "overlong id": ("GET", "/1.0.0/predictions/" + "a" * 10_000),
    "an IBAN as id": ("PUT", f"/1.0.0/predictions/{IBAN}/feedback"),
}


def assert_problem(response: httpx.Response, allowed: set[int], what: str) -> None:
    assert response.status_code in allowed, (what, response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json", what


def test_hostile_bodies_and_ids_get_problems_in_bounded_memory(server: Server) -> None:
    with httpx.Client(base_url=server.base, timeout=120) as api:
        api.post(PREDICT, json=credit_rows(1)[0])  # warm up: the first call allocates caches
        before = rss_mb(server.process.pid)
        for _ in range(ROUNDS):
            for what, (body, allowed) in BODIES.items():
                assert_problem(api.post(PREDICT, content=body, headers=JSON), allowed, what)
            for what, (method, path) in PATHS.items():
                body: dict[str, Any] = {"json": {"label": "bad"}} if method in ("PUT", "POST") else {}
                assert_problem(api.request(method, path, **body), {404, 405, 422}, what)
            try:  # 4 MB streamed without a length: refused once the limit is read
                streamed = api.post(PREDICT, content=chunks(4_000_000), headers=JSON)
                assert_problem(streamed, {413}, "streamed 4 MB")
            except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
                pass  # the server answered 413 and closed while the client was still sending
        growth = rss_mb(server.process.pid) - before
        assert api.get("/1.0.0/health_check").status_code == 200
        assert api.post(PREDICT, json=credit_rows(1)[0]).status_code == 200
    assert server.process.poll() is None
    assert growth < RSS_GROWTH_LIMIT_MB, f"RSS grew by {growth:.0f} MB over {ROUNDS} rounds"
    output = server.output()
    assert "Traceback" not in output
    assert IBAN not in output  # the access log line of that request is masked
    assert "FR76" in output


@pytest.fixture(scope="module")
def claims_server(
    claims_home: tuple[Path, ClaimsTrainingResult], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Path]]:
    """``usine serve`` with the claims model, on SQLite; yields the server and its object store."""
    folder = tmp_path_factory.mktemp("hostile-claims")
    objects = folder / "objects"
    env = {"USINE_SERVED_MODELS": "[]", "USINE_OBJECT_STORE_URL": str(objects), "USINE_ACCESS_LOG": "false"}
    with serving(claims_home[0], f"sqlite:///{folder / 'claims.db'}", extra_env=env) as running:
        yield running, objects


JAVASCRIPT = "app.alert('pwned'); this.submitForm('http://127.0.0.1:9/');"
PAGES = 5_000


def test_hostile_pdfs_javascript_ignored_thousands_of_pages_refused_before_any_page_is_read(
    claims_server: tuple[Server, Path],
) -> None:
    server, objects = claims_server
    invoice = generated_invoice(seed=11)
    scripted = with_javascript(invoice.content, JAVASCRIPT)
    files = {
        "scripted.pdf": scripted,
        "page-tree-bomb.pdf": page_tree_bomb(PAGES),  # 1.3 kB: every leaf is the same page
        "5000-pages.pdf": many_pages_pdf(PAGES),  # 390 kB of distinct pages
    }
    upload = f"{BASE}/claim_files_extraction"
    with httpx.Client(base_url=server.base, timeout=120) as api:
        before = rss_mb(server.process.pid)
        for _ in range(3):
            answer = api.post(upload, files=[("files", (name, content)) for name, content in files.items()])
            assert answer.status_code == 200, answer.text
            [extracted] = answer.json()["extractions"]
            assert extracted["file"] == "scripted.pdf"
            invoice_out = extracted["extraction"]["invoice"]
            assert invoice_out["number"]["value"] == invoice.truth["invoice.number"]
            assert invoice_out["total_incl_tax"]["value"] == invoice.truth["invoice.total_incl_tax"]
            assert extracted["extraction"]["text_source"] == "text_layer"
            problems = {problem["file"]: problem for problem in answer.json()["problems"]}
            assert set(problems) == {"page-tree-bomb.pdf", "5000-pages.pdf"}
            for problem in problems.values():
                assert problem["status"] == 413
                # refused on the page count: no page was opened (each is a poster whose
                # pixels would otherwise be refused on page 1, or rendered for OCR)
                assert f"PDF has {PAGES} pages, more than 20" in problem["detail"]
            alone = api.post(upload, files=[("files", ("bomb.pdf", page_tree_bomb(PAGES)))])
            assert_problem(alone, {413}, "a page-tree bomb alone")
        growth = rss_mb(server.process.pid) - before
        stored = api.get(f"{BASE}/extractions/{extracted['extraction_id']}")
        assert stored.json()["extraction"]["invoice"] == invoice_out
        assert api.get("/1.0.0/health_check").status_code == 200
    assert server.process.poll() is None
    assert growth < RSS_GROWTH_LIMIT_MB, f"RSS grew by {growth:.0f} MB"
    assert [path.read_bytes() for path in objects.rglob("*") if path.is_file()] == [scripted]
    output = server.output()
    assert "Traceback" not in output
    assert "POST /1.0.0/entities" not in output  # USINE_ACCESS_LOG=false: no access log lines

"""Claims as a user meets them: the API through a real uvicorn server, and the review page in a
real headless Chromium (upload a generated invoice, correct a field, save, find the correction)."""

import os
import select as socket_select
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from claim_support import BASE, encrypted_pdf, generated_invoice
from e2e.test_cli_and_server import Server, serving
from support import wait_until
from usine.adapters.db.tables import ClaimCorrectionRow
from usine.domain.access import Scope
from usine.services.access import create_key, open_key_store
from usine.services.claims_training import ClaimsTrainingResult
from usine.settings import Settings

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "claims-review.png"


@pytest.fixture
def claims_server(
    claims_home: tuple[Path, ClaimsTrainingResult],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Server, Path, str]]:
    """``usine serve`` with the claims model only; yields the server, its object store and database."""
    objects = tmp_path / "objects"
    monkeypatch.setenv("USINE_SERVED_MODELS", "[]")
    monkeypatch.setenv("USINE_OBJECT_STORE_URL", str(objects))
    monkeypatch.setenv("USINE_CLAIMS_MAX_REQUEST_BYTES", "300000")
    with serving(claims_home[0], database_url) as running:
        yield running, objects, database_url


def claims_key(database_url: str) -> str:
    """A real API key with the ``claims`` scope, as ``usine keys create`` makes one."""
    store = open_key_store(Settings(database_url=database_url))
    try:
        return create_key(store, "claims-reviewer", frozenset({Scope.CLAIMS}))[1]
    finally:
        store.engine.dispose()


def corrections(database_url: str) -> dict[str, tuple[str | None, str | None, bool]]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ClaimCorrectionRow.field,
                ClaimCorrectionRow.extracted,
                ClaimCorrectionRow.saved,
                ClaimCorrectionRow.changed,
            )
        ).all()
    engine.dispose()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def test_upload_save_list_and_erase_through_a_real_server(claims_server: tuple[Server, Path, str]) -> None:
    server, objects, database_url = claims_server
    invoice = generated_invoice()
    with httpx.Client(base_url=server.base, timeout=120) as api:
        uploaded = api.post(
            f"{BASE}/claim_files_extraction",
            files=[("files", ("facture.pdf", invoice.content)), ("files", ("locked.pdf", encrypted_pdf()))],
        )
        assert uploaded.status_code == 200, uploaded.text
        [item] = uploaded.json()["extractions"]
        [problem] = uploaded.json()["problems"]
        assert (problem["file"], problem["status"]) == ("locked.pdf", 422)
        extraction = item["extraction"]
        assert extraction["invoice"]["total_incl_tax"]["value"] == invoice.truth["invoice.total_incl_tax"]
        body = {
            "extraction_ids": [item["extraction_id"]],
            "invoice": {
                "number": "CORR-1",
                "total_incl_tax": extraction["invoice"]["total_incl_tax"]["value"],
            },
        }
        saved = api.put(f"{BASE}/save_extract", json=body)
        assert saved.status_code == 200, saved.text
        claim_id = saved.json()["id"]
        assert [c["id"] for c in api.get(f"{BASE}/claims").json()] == [claim_id]
        assert api.get("/1.0.0/entities/FR01/customers/C-9/contracts/K-42/claims").json() == []

        def too_big() -> Iterator[bytes]:
            yield b'--b\r\nContent-Disposition: form-data; name="files"; filename="x.pdf"\r\n\r\n'
            for _ in range(40):
                yield b"0" * 10_000

        refused = api.post(
            f"{BASE}/claim_files_extraction",
            content=too_big(),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
        assert refused.status_code == 413
        assert refused.headers["content-type"] == "application/problem+json"
        assert (objects / extraction["file_key"][:2] / extraction["file_key"]).is_file()
        assert corrections(database_url)["invoice.number"] == (
            invoice.truth["invoice.number"],
            "CORR-1",
            True,
        )
        assert api.delete(f"{BASE}/claims/{claim_id}").json() == {"claims": 1, "extractions": 1, "files": 1}
    assert not (objects / extraction["file_key"][:2] / extraction["file_key"]).exists()
    assert corrections(database_url) == {}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_review_page_corrects_and_saves_a_generated_invoice_in_a_real_browser(
    claims_server: tuple[Server, Path, str], tmp_path: Path
) -> None:
    if CHROMIUM is None or CHROMEDRIVER is None:
        if IN_CI:
            pytest.fail(
                "chromium and chromedriver are required in CI (apt-get install chromium chromium-driver)"
            )
        pytest.skip("BROWSER NOT TESTED: chromium or chromedriver is not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    server, _, database_url = claims_server
    invoice = generated_invoice(flawed=True)
    upload = tmp_path / "facture-atelier.pdf"
    upload.write_bytes(invoice.content)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1440,1000", "--lang=en-GB"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.get(f"{server.base}/ui/claims?lang=en&uom_code=FR01&customer_id=C-1001&contract_id=K-42")
        assert driver.title == "Claim documents review — usine"
        driver.find_element(By.ID, "api-key").send_keys(claims_key(database_url))
        driver.find_element(By.ID, "files").send_keys(str(upload))
        driver.find_element(By.ID, "extract").click()
        wait_until(
            lambda: bool(driver.find_elements(By.CSS_SELECTOR, ".document .fields input")), "fields shown"
        )
        number = driver.find_element(By.NAME, "invoice.number")
        assert number.get_attribute("value") == invoice.truth["invoice.number"]
        assert (
            driver.find_element(By.NAME, "bank_details.iban").get_attribute("value")
            == invoice.truth["bank_details.iban"]
        )
        legends = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".fields legend")]
        assert legends[-3:] == ["Invoice", "Supplier", "Bank details"]
        wait_until(
            lambda: driver.execute_script("return document.querySelector('.page img').naturalWidth") > 0,
            "page image shown",
        )
        number.click()
        box = driver.find_element(By.CSS_SELECTOR, ".page .bbox")
        assert box.is_displayed()
        assert box.size["width"] > 5
        number.clear()
        number.send_keys("CORR-42", Keys.ENTER)
        assert "accepted" in number.find_element(By.XPATH, "..").get_attribute("class")
        assert driver.switch_to.active_element.get_attribute("name") != "invoice.number"
        driver.find_element(By.CSS_SELECTOR, ".fields button.save").click()
        wait_until(
            lambda: "Saved" in driver.find_element(By.CSS_SELECTOR, ".save-status").text, "claim saved"
        )
        wait_until(lambda: bool(driver.find_elements(By.CSS_SELECTOR, "#claims tbody tr")), "claim listed")
        row = driver.find_element(By.CSS_SELECTOR, "#claims tbody tr")
        assert "CORR-42" in row.text
        assert "Number" in row.text
        number.click()
        driver.execute_script("window.scrollTo(0, 0)")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOT))
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
    finally:
        driver.quit()
    assert corrections(database_url)["invoice.number"] == (invoice.truth["invoice.number"], "CORR-42", True)
    assert SCREENSHOT.stat().st_size > 10_000


def peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


@pytest.mark.nightly  # streams up to 64 MiB: make test-nightly
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_huge_streamed_upload_is_refused_without_being_read_into_memory(
    claims_server: tuple[Server, Path, str],
) -> None:
    server, objects, _ = claims_server
    host, port = server.base.removeprefix("http://").split(":")
    before = peak_rss_kib(server.process.pid)
    preamble = b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.pdf"\r\n\r\n'
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b"0" * (1 << 20))
    sent = 0
    with socket.create_connection((host, int(port)), timeout=120) as connection:
        connection.sendall(
            f"POST {BASE}/claim_files_extraction HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + b"%x\r\n%s\r\n" % (len(preamble), preamble)
        )
        answered = False
        while sent < 512 * (1 << 20) and not answered:  # offers up to 512 MiB
            try:
                connection.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1 << 20
            answered = bool(socket_select.select([connection], [], [], 0)[0])
        response = connection.recv(65536).decode(errors="replace")
    assert response.startswith("HTTP/1.1 413"), response[:200]
    assert "application/problem+json" in response
    assert sent < 64 * (1 << 20)  # refused after the 300 kB limit plus what socket buffers hold
    assert peak_rss_kib(server.process.pid) - before < 32 * 1024
    assert not objects.exists() or not any(path.is_file() for path in objects.rglob("*"))

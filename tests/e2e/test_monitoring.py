"""Monitoring as a user meets it: ``usine simulate`` and ``usine monitor`` as subprocesses, and the
report page served by a real uvicorn server and opened in a real headless Chromium."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.test_cli_and_server import serving
from support import http_receiver, webhook_receiver
from usine.services.training import TrainingResult

USINE = [sys.executable, "-m", "usine"]
IN_CI = os.environ.get("CI", "").lower() == "true"
# Debian's Chromium (installed by .ci/run), or the Chrome GitHub's Ubuntu runners ship.
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
CHROMEDRIVER = shutil.which("chromedriver")


def usine(home: Path, database_url: str, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "USINE_HOME": str(home),
        "USINE_DATABASE_URL": database_url,
        "COLUMNS": "200",
        **settings,
    }
    return subprocess.run([*USINE, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def home(trained_home: tuple[Path, TrainingResult]) -> Path:
    return trained_home[0]


@pytest.fixture(scope="module")
def drifted_log(home: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A prediction log holding two days of credit traffic whose amounts doubled."""
    url = f"sqlite:///{tmp_path_factory.mktemp('drifted') / 'log.db'}"
    replayed = usine(home, url, "simulate", "traffic", "credit", "--rows", "400", "--days", "2",
                     "--drift", "credit_amount*2.5", "--feedback-share", "0.3")  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr
    assert "400 predictions of credit version 1 logged" in replayed.stdout
    return url


def test_monitor_exits_10_on_drift_writes_the_report_and_alerts(
    home: Path, drifted_log: str, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    with (
        webhook_receiver() as (url, received),
        http_receiver(lambda method, path, body: (method, path, body.decode())) as (gateway, pushed),
    ):
        monitored = usine(
            home, drifted_log, "monitor", "credit", "--since", "3d", "--html", str(page),
            USINE_NOTIFY_WEBHOOK_URL=url, USINE_PUSHGATEWAY_URL=gateway,
        )  # fmt: skip
    assert monitored.returncode == 10, monitored.stderr
    assert "credit: drift detected" in monitored.stdout
    assert "credit_amount" in monitored.stdout
    assert "<svg" in page.read_text(encoding="utf-8")
    [alert] = received
    assert alert["usine"]["subject"] == "drift detected on credit"
    assert alert["usine"]["succeeded"] is False
    assert "credit_amount (PSI " in alert["usine"]["facts"]["version 1"]
    [(method, path, exposition)] = pushed
    assert (method, path) == ("PUT", "/metrics/job/usine-monitor/model/credit")
    psi = {
        line.split('feature="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith("usine_drift_psi{")
    }
    assert psi["credit_amount"] > 0.25
    assert "score" in psi


def test_an_auc_below_the_gate_alerts_and_retrain_trains_a_version_the_gate_judges(
    home: Path, drifted_log: str, tmp_path: Path
) -> None:
    own_home = tmp_path / "home"  # retraining registers a version: not in the shared store
    page = tmp_path / "report.html"
    shutil.copytree(home, own_home)
    with webhook_receiver() as (url, received):
        monitored = usine(
            own_home, drifted_log, "monitor", "credit", "--since", "3d", "--retrain", "--html", str(page),
            USINE_NOTIFY_WEBHOOK_URL=url, USINE_MIN_AUC="0.99",
        )  # fmt: skip
    # The gate at 0.99 raises the alert and also refuses the retrained version: exit 3, as train.
    assert monitored.returncode == 3, monitored.stderr
    assert "performance below the gate: version 1 AUC" in monitored.stdout
    assert "retraining credit" in monitored.stdout
    assert "Version 1: AUC" in page.read_text(encoding="utf-8")
    alert, trained = received
    assert alert["usine"]["subject"] == "drift and performance decay detected on credit"
    assert alert["usine"]["facts"]["version 1 performance"].endswith("< 0.990")
    assert trained["usine"]["subject"] == "train credit"
    assert trained["usine"]["succeeded"] is False
    assert trained["usine"]["facts"]["version"] == "2"
    assert "version 2 registered as challenger, not promoted: AUC" in monitored.stderr


def test_an_empty_window_is_one_line_and_exit_code_5(home: Path, tmp_path: Path) -> None:
    monitored = usine(home, f"sqlite:///{tmp_path / 'empty.db'}", "monitor", "credit", "--since", "1h")
    assert monitored.returncode == 5
    assert monitored.stderr.startswith("error: no prediction of 'credit' logged between")
    assert len(monitored.stderr.strip().splitlines()) == 1


def test_the_report_page_loads_in_a_real_browser_with_its_plots(home: Path, drifted_log: str) -> None:
    if CHROMIUM is None or CHROMEDRIVER is None:
        if IN_CI:
            pytest.fail(
                "chromium and chromedriver are required in CI (apt-get install chromium chromium-driver)"
            )
        pytest.skip("BROWSER NOT TESTED: chromium or chromedriver is not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with serving(home, drifted_log) as running:
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            driver.get(f"{running.base}/1.0.0/monitoring/credit/report?since=3d")
            assert driver.title == "Monitoring of credit — usine"
            assert "Drift detected" in driver.find_element(By.ID, "verdict").text
            plots = driver.find_elements(By.CSS_SELECTOR, "figure.plot svg")
            assert len(plots) >= 4
            assert all(plot.size["width"] > 100 and plot.size["height"] > 100 for plot in plots)
            assert driver.find_element(
                By.CSS_SELECTOR, 'figure[data-feature="credit_amount"] svg'
            ).is_displayed()
            drifted = driver.find_elements(By.CSS_SELECTOR, "table.drift tr.severity-drift td:first-child")
            assert "credit_amount" in [cell.text for cell in drifted]
            errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
            assert errors == []
        finally:
            driver.quit()

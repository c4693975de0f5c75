"""Locust scenario of benchmarks/load.py: a caller mixing predictions, feedback and claim
extraction at a fixed pace.

Each simulated user sends one request per second (``constant_throughput(1)``), so N users make
N requests per second whatever the latency: an open-ish load whose rate the script steps. Four
predictions for one feedback (on a prediction this user made) and one claim file extracted.
Runs inside the locust venv; reads the key from ``USINE_LOAD_KEY``, the records from
``USINE_LOAD_RECORDS`` and the claim files (``*.pdf``) from the folder ``USINE_LOAD_CLAIM_FILES``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

from locust import HttpUser, constant_throughput, task

RECORDS = json.loads(os.environ["USINE_LOAD_RECORDS"])
HEADERS = {"X-API-Key": os.environ["USINE_LOAD_KEY"]}
CLAIM_FILES = [path.read_bytes() for path in sorted(Path(os.environ["USINE_LOAD_CLAIM_FILES"]).glob("*.pdf"))]
USER_NUMBERS = itertools.count(1)


class Caller(HttpUser):
    """A client application of the credit model."""

    wait_time = constant_throughput(1)

    def on_start(self) -> None:
        """Start with no prediction to label, and a contract of one's own for claims."""
        self.predictions: list[str] = []
        self.contract = f"/1.0.0/entities/FR01/customers/LOAD-{next(USER_NUMBERS)}/contracts/K-1"

    @task(4)
    def predict(self) -> None:
        """Score one applicant."""
        with self.client.post(
            "/1.0.0/models/credit/predictions",
            json=random.choice(RECORDS),
            headers=HEADERS,
            name="predict",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                self.predictions = [*self.predictions[-50:], response.json()["predictions"][0]["id"]]
                response.success()
            else:
                response.failure(f"status {response.status_code}")

    @task(1)
    def feedback(self) -> None:
        """Send the ground truth of one of this user's predictions."""
        if not self.predictions:
            return
        prediction = self.predictions.pop()
        self.client.put(
            f"/1.0.0/predictions/{prediction}/feedback",
            json={"label": random.choice(["good", "bad"])},
            headers=HEADERS,
            name="feedback",
        )

    @task(1)
    def extract_claim(self) -> None:
        """Upload one claim file (a generated invoice) and expect its extraction."""
        with self.client.post(
            f"{self.contract}/claim_files_extraction",
            files={"files": ("facture.pdf", random.choice(CLAIM_FILES), "application/pdf")},
            headers=HEADERS,
            name="extract_claim",
            catch_response=True,
        ) as response:
            if response.status_code == 200 and response.json()["extractions"]:
                response.success()
            else:
                response.failure(f"status {response.status_code}")

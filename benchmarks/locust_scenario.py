"""Locust scenario of benchmarks/load.py: a caller mixing predictions and feedback at a fixed pace.

Each simulated user sends one request per second (``constant_throughput(1)``), so N users make
N requests per second whatever the latency: an open-ish load whose rate the script steps. Four
predictions for one feedback, the feedback on a prediction this user made. Runs inside the
locust venv; reads the key from ``USINE_LOAD_KEY`` and the records from ``USINE_LOAD_RECORDS``.
"""

from __future__ import annotations

import json
import os
import random

from locust import HttpUser, constant_throughput, task

RECORDS = json.loads(os.environ["USINE_LOAD_RECORDS"])
HEADERS = {"X-API-Key": os.environ["USINE_LOAD_KEY"]}


class Caller(HttpUser):
    """A client application of the credit model."""

    wait_time = constant_throughput(1)

    def on_start(self) -> None:
        """Start with no prediction to label."""
        self.predictions: list[str] = []

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

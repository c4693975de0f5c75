"""The BentoML peer of benchmarks/serving.py: the same credit pipeline, with adaptive batching.

Run by serving.py inside its own venv (benchmarks/.peers/bentoml); nothing of usine is
imported. BENCH_MODEL_FILE names the skops file of the registered model, BENCH_TRUSTED the
types it may hold (JSON list) and BENCH_WORKERS the number of worker processes.
"""

import json
import os
from typing import Any

import bentoml
import pandas as pd
import skops.io as sio

MODEL_FILE = os.environ["BENCH_MODEL_FILE"]
TRUSTED = json.loads(os.environ["BENCH_TRUSTED"])
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))


@bentoml.service(workers=WORKERS, traffic={"timeout": 60})
class Credit:
    def __init__(self) -> None:
        self.model = sio.load(MODEL_FILE, trusted=TRUSTED)
        self.positive = [str(label) for label in self.model.classes_].index("bad")

    @bentoml.api(batchable=True, max_batch_size=64, max_latency_ms=1000)
    def predict(self, records: list[dict[str, Any]]) -> list[float]:
        frame = pd.DataFrame.from_records(records)
        return self.model.predict_proba(frame)[:, self.positive].tolist()

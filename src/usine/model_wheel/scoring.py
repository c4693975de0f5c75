"""Score with the model packaged beside this file; no usine, no registry, no network.

    import usine_model_credit as model
    scores = model.load().predict(records)   # records: list of dicts or a pandas DataFrame

This module ships inside a model wheel built by ``usine package``. It needs only numpy,
pandas, scikit-learn and skops, pinned by the wheel to the versions the model was trained with.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import skops.io


class PackagedModel:
    """The packaged model version with its input contract.

    Args:
        spec: the contract of the version (features, classes, positive class).
        model: the fitted estimator.

    """

    def __init__(self, spec: dict[str, Any], model: Any) -> None:
        self.spec = spec
        self.model = model
        self.columns = [feature["name"] for feature in spec["features"]]
        self.positive_index = [str(label) for label in model.classes_].index(spec["positive_class"])

    @property
    def version(self) -> str:
        """The registry version this package was built from."""
        return str(self.spec["version"])

    def predict(self, records: list[dict[str, Any]] | pd.DataFrame) -> np.ndarray:
        """Probability of the positive class for each record, in order.

        Raises:
            ValueError: a feature is missing, or a categorical value is outside the contract.

        """
        frame = records if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(records)
        missing = [name for name in self.columns if name not in frame.columns]
        if missing:
            raise ValueError(f"missing features: {missing}")
        for feature in self.spec["features"]:
            categories = feature.get("categories") or ()
            if feature["kind"] == "category" and categories:
                unknown = ~frame[feature["name"]].isin(categories)
                if unknown.any():
                    rows = np.flatnonzero(unknown.to_numpy()).tolist()[:10]
                    raise ValueError(f"{feature['name']}: unknown category in rows {rows}")
        return np.asarray(self.model.predict_proba(frame[self.columns])[:, self.positive_index])


def load() -> PackagedModel:
    """Load the model and its contract from the package's own files."""
    files = resources.files(__name__)
    spec = json.loads(files.joinpath("spec.json").read_text(encoding="utf-8"))
    data = files.joinpath("model.skops").read_bytes()
    model = skops.io.loads(data, trusted=spec["trusted_types"])
    return PackagedModel(spec, model)

import numpy as np
import pandas as pd
import pytest

from usine.domain.features import FeatureKind, FeatureSpec
from usine.domain.model_spec import ModelSpec, Predictor
from usine.domain.reference import compute_reference


class Recorder:
    """A fitted-model stand-in that returns fixed probabilities and records its input."""

    classes_ = np.array(["bad", "good"])

    def __init__(self) -> None:
        self.seen: pd.DataFrame | None = None

    def predict_proba(self, inputs: pd.DataFrame) -> np.ndarray:
        self.seen = inputs
        return np.tile([0.2, 0.8], (len(inputs), 1))


def make_spec(positive: str) -> ModelSpec:
    features = [
        FeatureSpec(name="age", kind=FeatureKind.INTEGER),
        FeatureSpec(name="housing", kind=FeatureKind.CATEGORY),
    ]
    frame = pd.DataFrame({"age": [30, 40], "housing": ["own", "rent"]})
    return ModelSpec(
        name="toy",
        target="outcome",
        classes=("good", "bad"),
        positive_class=positive,
        features=features,
        reference=compute_reference(frame, features, np.array([0.1, 0.2])),
        metrics={"roc_auc": 0.8},
        data_sha256="0" * 64,
    )


def test_the_score_is_the_probability_of_the_positive_class_in_feature_order() -> None:
    model = Recorder()
    predictor = Predictor(model, make_spec("bad"))
    scores = predictor.predict_scores([{"housing": "own", "age": 30}])
    assert scores.tolist() == [0.2]
    assert model.seen is not None
    assert list(model.seen.columns) == ["age", "housing"]


def test_a_positive_class_the_model_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="default"):
        Predictor(Recorder(), make_spec("default"))


def test_the_spec_survives_a_json_round_trip() -> None:
    spec = make_spec("bad")
    assert ModelSpec.model_validate_json(spec.model_dump_json()) == spec

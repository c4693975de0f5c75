"""The compiled credit pipeline scores exactly as the registered scikit-learn pipeline."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from usine.adapters.registry import LoadedVersion
from usine.domain.compiled_predictor import CompiledPredictor, compile_predictor
from usine.domain.model_spec import Predictor
from usine.pipelines.credit import TARGET, label_names, load_credit_frame
from usine.services.model_holder import fastest_scorer
from usine.services.models import open_registry
from usine.services.training import TrainingResult
from usine.settings import Settings


@pytest.fixture(scope="module")
def credit(trained_home: tuple[Path, TrainingResult]) -> LoadedVersion:
    return open_registry(Settings(home=trained_home[0])).load("credit", "1")


@pytest.fixture(scope="module")
def every_applicant() -> pd.DataFrame:
    return load_credit_frame()[0].drop(columns=[TARGET])


def test_compiled_scores_equal_the_pipeline_on_the_whole_data_set(
    credit: LoadedVersion, every_applicant: pd.DataFrame
) -> None:
    compiled = compile_predictor(credit.model, credit.spec)
    assert isinstance(compiled, CompiledPredictor)
    records = every_applicant.to_dict("records")
    expected = credit.model.predict_proba(every_applicant)[:, list(credit.model.classes_).index("bad")]
    assert len(records) == 1000
    np.testing.assert_allclose(compiled.predict_scores(records), expected, rtol=0, atol=1e-6)
    single = [compiled.predict_scores([record])[0] for record in records[:50]]
    np.testing.assert_allclose(single, expected[:50], rtol=0, atol=1e-6)


def test_the_server_picks_the_compiled_form_for_the_credit_pipeline(credit: LoadedVersion) -> None:
    assert isinstance(fastest_scorer(credit.model, credit.spec), CompiledPredictor)


def test_an_unknown_category_encodes_as_the_pipeline_encodes_it(
    credit: LoadedVersion, every_applicant: pd.DataFrame
) -> None:
    compiled = compile_predictor(credit.model, credit.spec)
    assert compiled is not None
    record = {**every_applicant.iloc[0].to_dict(), "purpose": "yacht"}
    expected = credit.model.predict_proba(pd.DataFrame([record]))[0, 0]
    assert compiled.predict_scores([record])[0] == pytest.approx(expected, abs=1e-6)


def test_a_pipeline_of_another_shape_is_served_natively(
    credit: LoadedVersion, every_applicant: pd.DataFrame
) -> None:
    numeric = [f.name for f in credit.spec.features if f.kind != "category"]
    scaled = Pipeline(
        [
            ("encode", ColumnTransformer([("numbers", StandardScaler(), numeric)])),
            ("classify", LogisticRegression()),
        ]
    )
    frame, _ = load_credit_frame()
    scaled.fit(every_applicant, label_names((frame[TARGET] == "bad").to_numpy()))
    assert compile_predictor(scaled, credit.spec) is None
    assert isinstance(fastest_scorer(scaled, credit.spec), Predictor)


def test_a_plain_boosting_pipeline_is_compiled_too(
    credit: LoadedVersion, every_applicant: pd.DataFrame
) -> None:
    categorical = [f.name for f in credit.spec.features if f.kind == "category"]
    plain = Pipeline(
        [
            (
                "encode",
                ColumnTransformer(
                    [
                        (
                            "categories",
                            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                            categorical,
                        )
                    ],
                    remainder="passthrough",
                ),
            ),
            ("classify", HistGradientBoostingClassifier(max_iter=20, random_state=0)),
        ]
    )
    frame, _ = load_credit_frame()
    plain.fit(every_applicant, label_names((frame[TARGET] == "bad").to_numpy()))
    compiled = compile_predictor(plain, credit.spec)
    assert compiled is not None
    expected = plain.predict_proba(every_applicant)[:, 0]
    np.testing.assert_allclose(
        compiled.predict_scores(every_applicant.to_dict("records")), expected, atol=1e-6
    )


def test_missing_numbers_and_isotonic_folds_score_as_the_pipeline(
    credit: LoadedVersion, every_applicant: pd.DataFrame
) -> None:
    """Splits learnt with missing values send them the way scikit-learn does, whichever side."""
    categorical = [f.name for f in credit.spec.features if f.kind == "category"]
    numeric = [f.name for f in credit.spec.features if f.kind != "category"]
    gappy = every_applicant.copy()
    holes = np.random.default_rng(3).random((len(gappy), 2)) < 0.25
    for column, missing in zip(["credit_amount", "age_in_years"], holes.T, strict=True):
        gappy[column] = gappy[column].astype(float).mask(missing)
    encode = ColumnTransformer(
        [
            ("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
            ("numbers", "passthrough", numeric),
        ]
    )
    boosting = HistGradientBoostingClassifier(max_iter=30, random_state=0)
    calibrated = Pipeline(
        [("encode", encode), ("classify", CalibratedClassifierCV(boosting, method="isotonic", cv=3))]
    )
    frame, _ = load_credit_frame()
    calibrated.fit(gappy, label_names((frame[TARGET] == "bad").to_numpy()))
    compiled = compile_predictor(calibrated, credit.spec)
    assert compiled is not None
    sends_missing_left = [
        bool(node["missing_go_to_left"])
        for fold in calibrated.steps[1][1].calibrated_classifiers_
        for (tree,) in fold.estimator._predictors
        for node in tree.nodes
        if not node["is_leaf"]
    ]
    assert any(sends_missing_left)
    assert not all(sends_missing_left)
    expected = calibrated.predict_proba(gappy)[:, 0]
    np.testing.assert_allclose(compiled.predict_scores(gappy.to_dict("records")), expected, rtol=0, atol=1e-9)

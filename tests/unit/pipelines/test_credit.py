from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io

from usine.datasets import dataset_path
from usine.domain.errors import TrainingDataError
from usine.domain.features import FeatureKind
from usine.domain.metrics import classification_metrics
from usine.pipelines import credit


@pytest.fixture(scope="module")
def data() -> credit.CreditData:
    return credit.prepare_credit_data(seed=7)


@pytest.fixture(scope="module")
def fitted(data: credit.CreditData) -> credit.Pipeline:
    pipeline = credit.build_pipeline(data.features, credit.default_params(), seed=7)
    return pipeline.fit(data.train_inputs, credit.label_names(data.train_target))


def test_the_contract_has_twenty_features_with_declared_domains(data: credit.CreditData) -> None:
    kinds = {f.name: f.kind for f in data.features}
    assert len(kinds) == 20
    assert credit.TARGET not in kinds
    assert sum(kind is not FeatureKind.CATEGORY for kind in kinds.values()) == len(credit.NUMERIC_FEATURES)
    age = next(f for f in data.features if f.name == "age_in_years")
    assert (age.kind, age.minimum, age.maximum) == (FeatureKind.INTEGER, 18, 120)
    housing = next(f for f in data.features if f.name == "housing")
    assert housing.categories == ("for free", "own", "rent")


def test_the_split_is_stratified_and_fingerprinted(data: credit.CreditData) -> None:
    assert len(data.train_inputs) == 800
    assert len(data.test_inputs) == 200
    assert data.train_target.mean() == pytest.approx(0.3)
    assert data.test_target.mean() == pytest.approx(0.3)
    assert len(data.sha256) == 64


def test_the_model_ranks_defaults_and_gives_probabilities(
    data: credit.CreditData, fitted: credit.Pipeline
) -> None:
    assert list(fitted.classes_) == ["bad", "good"]
    scores = fitted.predict_proba(data.test_inputs)[:, 0]
    assert np.all((scores > 0) & (scores < 1))
    assert classification_metrics(data.test_target, scores)["roc_auc"] > 0.72


def test_training_is_reproducible(data: credit.CreditData, fitted: credit.Pipeline) -> None:
    again = credit.build_pipeline(data.features, credit.default_params(), seed=7)
    again.fit(data.train_inputs, credit.label_names(data.train_target))
    np.testing.assert_array_equal(
        again.predict_proba(data.test_inputs), fitted.predict_proba(data.test_inputs)
    )


def test_we_trust_exactly_the_types_the_fitted_pipeline_holds(fitted: credit.Pipeline) -> None:
    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(fitted))
    assert sorted(untrusted) == sorted(credit.SKOPS_TRUSTED_TYPES)


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    frame = pd.read_csv(dataset_path(credit.DATA_FILE)).drop(columns=["age_in_years"])
    frame.to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(TrainingDataError, match="age_in_years"):
        credit.prepare_credit_data(tmp_path / "short.csv")


def test_a_target_with_one_class_is_refused(tmp_path: Path) -> None:
    frame = pd.read_csv(dataset_path(credit.DATA_FILE))
    frame[credit.TARGET] = "good"
    frame.to_csv(tmp_path / "good.csv", index=False)
    with pytest.raises(TrainingDataError, match="both"):
        credit.prepare_credit_data(tmp_path / "good.csv")


def test_text_in_a_numeric_column_is_refused(tmp_path: Path) -> None:
    frame = pd.read_csv(dataset_path(credit.DATA_FILE))
    frame["credit_amount"] = "a lot"
    frame.to_csv(tmp_path / "text.csv", index=False)
    with pytest.raises(TrainingDataError, match="credit_amount"):
        credit.prepare_credit_data(tmp_path / "text.csv")


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe"])
def test_a_file_that_is_not_a_csv_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(TrainingDataError):
        credit.prepare_credit_data(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="cannot read"):
        credit.prepare_credit_data(tmp_path / "absent.csv")

"""Reason codes of the registered credit model add up to its calibrated log-odds, per applicant."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from usine.adapters.registry import LoadedVersion
from usine.domain.explanations import RecordExplainer, compile_explainer
from usine.pipelines.credit import TARGET, load_credit_frame
from usine.services.models import open_registry
from usine.services.training import TrainingResult
from usine.settings import Settings


@pytest.fixture(scope="module")
def credit(trained_home: tuple[Path, TrainingResult]) -> LoadedVersion:
    return open_registry(Settings(home=trained_home[0])).load("credit", "1")


@pytest.fixture(scope="module")
def applicants() -> pd.DataFrame:
    return load_credit_frame()[0].drop(columns=[TARGET])


def calibrated_log_odds_of_default(credit: LoadedVersion, applicants: pd.DataFrame) -> np.ndarray:
    """Mean over the calibration folds of log(p_bad / p_good), from scikit-learn's own objects."""
    encoded = credit.model.steps[0][1].transform(applicants)
    classifier = credit.model.steps[1][1]
    sign = 1.0 if list(classifier.classes_).index("bad") == 1 else -1.0
    folds = []
    for fold in classifier.calibrated_classifiers_:
        sigmoid = fold.calibrators[0]
        folds.append(-sign * (sigmoid.a_ * fold.estimator.decision_function(encoded) + sigmoid.b_))
    return np.mean(folds, axis=0)


def test_contributions_and_expected_value_reconstruct_every_applicants_margin(
    credit: LoadedVersion, applicants: pd.DataFrame
) -> None:
    explainer = compile_explainer(credit.model, credit.spec)
    assert isinstance(explainer, RecordExplainer)
    contributions = explainer.contributions(applicants.to_dict("records"))
    assert contributions.shape == (1000, 20)  # one-hot columns summed back to their feature
    margins = calibrated_log_odds_of_default(credit, applicants)
    np.testing.assert_allclose(
        contributions.sum(axis=1) + explainer.explainer.expected_value, margins, atol=1e-6
    )
    # The mean of the folds' log-odds is close to the log-odds of the served probability (their mean).
    scores = credit.model.predict_proba(applicants)[:, list(credit.model.classes_).index("bad")]
    assert np.abs(margins - logit(scores)).max() < 0.25


def test_the_reason_codes_name_the_riskiest_features_with_the_applicants_values(
    credit: LoadedVersion, applicants: pd.DataFrame
) -> None:
    explainer = compile_explainer(credit.model, credit.spec)
    assert explainer is not None
    records = applicants.head(20).to_dict("records")
    contributions = explainer.contributions(records)
    for record, row, reasons in zip(records, contributions, explainer.reasons(records, 3), strict=True):
        assert [reason.contribution for reason in reasons] == sorted(np.sort(row)[::-1][:3].tolist())[::-1]
        assert all(reason.value == record[reason.feature] for reason in reasons)
    # Over the data set, the checking account status is the strongest driver of risk (as in the literature).
    mean_push = np.abs(explainer.contributions(applicants.to_dict("records"))).mean(axis=0)
    assert credit.spec.features[int(np.argmax(mean_push))].name == "status_of_existing_checking_account"

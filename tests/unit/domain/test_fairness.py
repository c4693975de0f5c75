"""Approval rates, disparate impact and AUC per group of a protected attribute."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from usine.datasets import dataset_path
from usine.domain.fairness import attribute_fairness, fairness_metrics
from usine.pipelines.credit import DATA_FILE, PROTECTED


def test_groups_are_read_from_the_german_credit_columns() -> None:
    frame = pd.read_csv(dataset_path(DATA_FILE))
    sex, age = (attribute.groups(frame) for attribute in PROTECTED)
    assert Counter(sex.tolist()) == {"male": 690, "female": 310}
    assert Counter(age.tolist()) == {"<25": 149, "25-34": 399, "35-49": 327, "50+": 125}
    assert age[frame["age_in_years"].to_numpy() == 25].tolist() == ["25-34"] * int(
        (frame["age_in_years"] == 25).sum()
    )


def test_disparate_impact_is_the_lowest_over_the_highest_approval_rate() -> None:
    groups = np.array(["a"] * 4 + ["b"] * 4)
    target = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    scores = np.array([0.1, 0.9, 0.2, 0.3, 0.1, 0.7, 0.9, 0.8])  # approved below 0.5: a 3/4, b 1/4
    report = attribute_fairness("letter", groups, target, scores, threshold=0.5)
    assert [(g.group, g.approval_rate, g.roc_auc) for g in report.groups] == [
        ("a", 0.75, 1.0),
        ("b", 0.25, 0.5),
    ]
    assert report.disparate_impact == pytest.approx(1 / 3)
    assert report.four_fifths_breached
    metrics = fairness_metrics([report])
    assert metrics["fairness_letter_disparate_impact"] == pytest.approx(1 / 3)
    assert metrics["fairness_letter_a_roc_auc"] == 1.0


def test_a_group_with_one_class_has_no_auc_and_equal_rates_pass() -> None:
    report = attribute_fairness(
        "x", np.array(["p", "p", "q", "q"]), np.array([0, 0, 0, 1]), np.array([0.1, 0.2, 0.3, 0.4]), 0.5
    )
    assert report.groups[0].roc_auc is None
    assert report.disparate_impact == 1.0
    assert not report.four_fifths_breached

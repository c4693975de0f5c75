"""Path-dependent TreeSHAP on real German Credit numbers, checked against the definition."""

from itertools import combinations
from math import factorial

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from usine.domain import explanations
from usine.domain.explanations import TreeExplainer, top_reasons
from usine.pipelines.credit import POSITIVE_CLASS, TARGET, load_credit_frame

COLUMNS = [
    "duration_in_month",
    "credit_amount",
    "age_in_years",
    "installment_rate_in_percentage_of_disposable_income",
]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    frame, _ = load_credit_frame()
    inputs = frame[COLUMNS].to_numpy(dtype=float)
    inputs[::7, 1] = np.nan  # missing amounts exercise the missing-value branches
    return inputs, (frame[TARGET] == POSITIVE_CLASS).to_numpy(dtype=int)


@pytest.fixture(scope="module")
def boosting(data: tuple[np.ndarray, np.ndarray]) -> HistGradientBoostingClassifier:
    inputs, target = data
    return HistGradientBoostingClassifier(max_iter=4, max_leaf_nodes=8, random_state=0).fit(inputs, target)


def conditional_expectation(model: HistGradientBoostingClassifier, row: np.ndarray, known: set[int]) -> float:
    """E[margin | features in ``known`` fixed], averaging unknown splits by training counts."""

    def walk(nodes: np.ndarray, node: int) -> float:
        if nodes["is_leaf"][node]:
            return float(nodes["value"][node])
        left, right = int(nodes["left"][node]), int(nodes["right"][node])
        feature = int(nodes["feature_idx"][node])
        if feature in known:
            value = row[feature]
            goes_left = (
                bool(nodes["missing_go_to_left"][node])
                if np.isnan(value)
                else value <= nodes["num_threshold"][node]
            )
            return walk(nodes, left if goes_left else right)
        count = float(nodes["count"][node])
        return (nodes["count"][left] * walk(nodes, left) + nodes["count"][right] * walk(nodes, right)) / count

    baseline = float(model._baseline_prediction.ravel()[0])
    return baseline + sum(walk(tree.nodes, 0) for (tree,) in model._predictors)


def shapley_by_definition(model: HistGradientBoostingClassifier, row: np.ndarray) -> np.ndarray:
    players = range(len(row))
    n = len(row)
    values = np.zeros(n)
    for i in players:
        others = [j for j in players if j != i]
        for size in range(n):
            weight = factorial(size) * factorial(n - size - 1) / factorial(n)
            for coalition in combinations(others, size):
                with_i = conditional_expectation(model, row, {*coalition, i})
                values[i] += weight * (with_i - conditional_expectation(model, row, set(coalition)))
    return values


def explainer(model: HistGradientBoostingClassifier) -> TreeExplainer:
    return TreeExplainer([model], np.array([1.0]), 0.0, np.arange(len(COLUMNS)), COLUMNS)


def test_contributions_are_the_shapley_values_of_the_path_dependent_game(
    boosting: HistGradientBoostingClassifier, data: tuple[np.ndarray, np.ndarray]
) -> None:
    rows = data[0][[0, 1, 7, 14, 500]]  # rows 0, 7 and 14 have a missing amount
    contributions = explainer(boosting).contributions(rows)
    for row, found in zip(rows, contributions, strict=True):
        np.testing.assert_allclose(found, shapley_by_definition(boosting, row), rtol=0, atol=1e-12)


def test_expected_value_plus_contributions_is_the_margin_of_every_row(
    boosting: HistGradientBoostingClassifier, data: tuple[np.ndarray, np.ndarray]
) -> None:
    tree_explainer = explainer(boosting)
    margins = boosting.decision_function(data[0])
    assert tree_explainer.expected_value == pytest.approx(
        conditional_expectation(boosting, data[0][0], set()), abs=1e-12
    )
    np.testing.assert_allclose(
        tree_explainer.contributions(data[0]).sum(axis=1) + tree_explainer.expected_value, margins, atol=1e-9
    )


def test_long_paths_computed_per_record_equal_the_tabulated_ones(
    boosting: HistGradientBoostingClassifier,
    data: tuple[np.ndarray, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tabulated = explainer(boosting).contributions(data[0][:50])
    monkeypatch.setattr(explanations, "TABULATED_PATH_LENGTH", 0)
    per_record = explainer(boosting)
    assert all(group.table is None for group in per_record._groups)
    np.testing.assert_allclose(per_record.contributions(data[0][:50]), tabulated, atol=1e-12)


def test_a_feature_the_trees_never_split_on_gets_nothing(data: tuple[np.ndarray, np.ndarray]) -> None:
    inputs = np.column_stack([data[0][:, 0], np.ones(len(data[0]))])
    model = HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(inputs, data[1])
    contributions = TreeExplainer(
        [model], np.array([1.0]), 0.0, np.arange(2), ["duration", "constant"]
    ).contributions(inputs)
    assert np.all(contributions[:, 1] == 0.0)
    assert np.any(contributions[:, 0] != 0.0)


def test_reasons_are_the_strongest_pushes_towards_the_positive_class_first() -> None:
    records = [{"a": 1, "b": "x", "c": 2.5}]
    reasons = top_reasons(records, np.array([[0.1, -0.4, 0.3]]), ["a", "b", "c"], 2)
    assert [(r.feature, r.value, r.contribution) for r in reasons[0]] == [("c", 2.5, 0.3), ("a", 1, 0.1)]

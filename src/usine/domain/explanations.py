"""Reason codes: how much each input feature pushed one score, by exact path-dependent TreeSHAP.

A refused applicant must be told why. For a tree ensemble the field's answer is SHAP values
computed from the trees themselves (Lundberg et al., 2020, "From local explanations to global
understanding with explainable AI for trees", algorithm 2: *path-dependent* TreeSHAP, where
a feature left out of a coalition is averaged over by the training samples that went down
each branch). They are exact Shapley values of that game, so, unlike Saabas' path
attribution, they do not favour features split near the root, and they add up:
``expected_value + contributions.sum() == margin`` for every record.

Computation, vectorised over every leaf of every tree at once. For one leaf, the game is a
product over the *distinct* features on its root-to-leaf path: feature ``j`` has a *zero
fraction* ``z_j`` (the share of training samples that follow the path's splits on ``j``) and
a 0/1 *one fraction* ``o_j`` (whether the record follows them). The value of a coalition
``S`` is ``v * prod_{j in S} o_j * prod_{j not in S} z_j``. The Shapley value of ``i`` is
``v * (o_i - z_i) * sum_k w_k e_k``, where ``e_k`` are the coefficients of the polynomial
``prod_{j != i} (o_j t + z_j)`` and ``w_k = k! (d - k - 1)! / d!`` for ``d`` path features.
The full product is built once per leaf and divided by ``(o_i t + z_i)`` for each ``i``;
leaves are grouped by ``d``, so every step is one numpy operation over all records and all
leaves of that path length. Duplicate splits on one feature merge into one player (their
fractions multiply), as in the reference algorithm.

What is explained is the model's *margin* (log-odds). For a sigmoid-calibrated ensemble of
folds it is the mean of the folds' calibrated log-odds, a linear function of their trees, so
the decomposition stays exact. Contributions of the one-hot columns of a categorical feature
are summed back to that feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial
from typing import Any

import numpy as np
from sklearn.calibration import _SigmoidCalibration
from sklearn.ensemble import HistGradientBoostingClassifier

from usine.domain.compiled_predictor import RecordEncoder, compilable_parts
from usine.domain.features import Record
from usine.domain.model_spec import ModelSpec


@dataclass(frozen=True)
class Reason:
    """One feature's push on one score: positive pushes towards the positive class."""

    feature: str
    value: Any
    contribution: float


# Paths with at most this many distinct features get their Shapley weights tabulated for
# every pattern of the other features (2^(d-1) entries per feature and leaf); longer ones,
# rare in boosting, are computed per record.
TABULATED_PATH_LENGTH = 12
# Records explained in one vectorised pass (bounds the memory of a large request).
EXPLAINED_PER_CALL = 32


@dataclass(frozen=True)
class _PathGroup:
    """Every leaf whose path holds ``d`` distinct features, as arrays ``(leaves, d)``.

    ``table`` holds, for each path feature ``i`` and each 0/1 pattern of the other features
    (bits in path order, ``i`` removed), the leaf value times the weighted sum
    ``sum_k w_k e_k``, flattened from shape ``(d, 2^(d-1), leaves)`` (``None`` for paths too
    long to tabulate); ``offsets[leaf, i]`` is where the entries of ``(i, pattern 0, leaf)`` sit.
    """

    column: np.ndarray
    low: np.ndarray
    high: np.ndarray
    missing_follows: np.ndarray
    zero_fraction: np.ndarray
    value: np.ndarray
    weights: np.ndarray
    table: np.ndarray | None
    offsets: np.ndarray


def _leaf_paths(nodes: np.ndarray) -> list[tuple[int, dict[int, list[float]]]]:
    """Each leaf of one tree with, per feature split on its path, ``[low, high, nan_ok, z]``."""
    found: list[tuple[int, dict[int, list[float]]]] = []
    stack: list[tuple[int, dict[int, list[float]]]] = [(0, {})]
    while stack:
        node, path = stack.pop()
        if nodes["is_leaf"][node]:
            found.append((node, path))
            continue
        feature = int(nodes["feature_idx"][node])
        threshold = float(nodes["num_threshold"][node])
        missing_left = bool(nodes["missing_go_to_left"][node])
        count = float(nodes["count"][node])
        for child, goes_left in ((int(nodes["left"][node]), True), (int(nodes["right"][node]), False)):
            low, high, nan_ok, zero = path.get(feature, [-np.inf, np.inf, 1.0, 1.0])
            if goes_left:
                high = min(high, threshold)
            else:
                low = max(low, threshold)
            follows = missing_left if goes_left else not missing_left
            share = float(nodes["count"][child]) / count
            stack.append((child, {**path, feature: [low, high, nan_ok * follows, zero * share]}))
    return found


class TreeExplainer:
    """Exact path-dependent TreeSHAP contributions of a weighted sum of boosted tree ensembles.

    The explained margin is ``intercept + sum_m weight_m * raw_m(x)``, where ``raw_m`` is the
    raw prediction (baseline plus leaf values) of member ``m``.

    Args:
        members: fitted binary ``HistGradientBoostingClassifier`` without categorical splits.
        weights: one weight per member.
        intercept: added to the margin.
        column_feature: for each encoded input column, the index of the feature it encodes.
        feature_names: the features, in that index order.

    """

    def __init__(
        self,
        members: list[Any],
        weights: np.ndarray,
        intercept: float,
        column_feature: np.ndarray,
        feature_names: list[str],
    ) -> None:
        self.feature_names = feature_names
        self._column_feature = np.asarray(column_feature, dtype=np.intp)
        by_length: dict[int, list[tuple[dict[int, list[float]], float]]] = {}
        expected = intercept
        for member, weight in zip(members, weights, strict=True):
            expected += weight * float(member._baseline_prediction.ravel()[0])
            for (predictor,) in member._predictors:
                nodes = predictor.nodes
                for leaf, path in _leaf_paths(nodes):
                    value = weight * float(nodes["value"][leaf])
                    expected += value * float(np.prod([item[3] for item in path.values()]))
                    if path:
                        by_length.setdefault(len(path), []).append((path, value))
        self.expected_value = expected
        self._groups = [_group(length, leaves) for length, leaves in sorted(by_length.items())]

    def contributions(self, encoded: np.ndarray) -> np.ndarray:
        """Contribution of each feature to each record's margin, shape ``(records, features)``."""
        count = encoded.shape[0]
        width = len(self.feature_names)
        totals = np.zeros(count * width)
        row_offsets = (np.arange(count) * width)[:, None, None]
        for group in self._groups:
            shares = _shapley(group, encoded)
            target = row_offsets + self._column_feature[group.column][None, :, :]
            totals += np.bincount(target.ravel(), weights=shares.ravel(), minlength=count * width)
        return totals.reshape(count, width)


def _group(length: int, leaves: list[tuple[dict[int, list[float]], float]]) -> _PathGroup:
    columns = np.array([list(path) for path, _ in leaves], dtype=np.intp)
    facts = np.array([list(path.values()) for path, _ in leaves], dtype=np.float64)
    total = factorial(length)
    weights = np.array([factorial(k) * factorial(length - k - 1) / total for k in range(length)])
    zero = facts[:, :, 3]
    table = None
    if length <= TABULATED_PATH_LENGTH:
        patterns = (np.arange(2**length)[:, None] >> np.arange(length)) & 1
        one = np.broadcast_to(patterns[:, None, :], (len(patterns), len(leaves), length)).astype(np.float64)
        summed = _weighted_sums(one, zero, weights)
        # For feature i keep the patterns where its own bit is 0: its sum ignores that bit.
        values = np.array([value for _, value in leaves])
        table = np.stack([summed[patterns[:, i] == 0, :, i] * values for i in range(length)]).ravel()
    return _PathGroup(
        column=columns,
        low=facts[:, :, 0],
        high=facts[:, :, 1],
        missing_follows=facts[:, :, 2].astype(bool),
        zero_fraction=zero,
        value=np.array([value for _, value in leaves]),
        weights=weights,
        table=table,
        offsets=np.arange(len(leaves))[:, None] + np.arange(length) * 2 ** max(length - 1, 0) * len(leaves),
    )


def _weighted_sums(one: np.ndarray, zero: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_k w_k e_k`` for each path feature: ``one`` is ``(rows, leaves, d)``, so is the result.

    ``e_k`` are the coefficients of ``prod_{j != i} (o_j t + z_j)``: the product over every
    feature is built once, then divided by ``(t + z_i)`` from the top where ``o_i = 1`` (a
    stable recurrence, ``z_i <= 1``) or by ``z_i`` where ``o_i = 0``.
    """
    length = one.shape[2]
    zero = np.broadcast_to(zero, one.shape)
    poly = np.zeros((length + 1, *one.shape[:2]))  # lowest degree first
    poly[0] = 1.0
    for j in range(length):
        o_j, z_j = one[:, :, j], zero[:, :, j]
        poly[1 : j + 2] = poly[1 : j + 2] * z_j + poly[0 : j + 1] * o_j
        poly[0] = poly[0] * z_j
    sums = np.empty(one.shape)
    for i in range(length):
        follows, z_i = one[:, :, i] == 1.0, zero[:, :, i]
        quotient = poly[length]
        weighted = weights[length - 1] * np.where(follows, quotient, poly[length - 1] / z_i)
        for k in range(length - 1, 0, -1):
            quotient = poly[k] - z_i * quotient
            weighted = weighted + weights[k - 1] * np.where(follows, quotient, poly[k - 1] / z_i)
        sums[:, :, i] = weighted
    return sums


def _shapley(group: _PathGroup, encoded: np.ndarray) -> np.ndarray:
    """Shapley value of each path feature of each leaf, shape ``(records, leaves, d)``."""
    values = encoded[:, group.column]
    follows = ((values > group.low) & (values <= group.high)) | (np.isnan(values) & group.missing_follows)
    one = follows.astype(np.float64)
    pushes: np.ndarray = one - group.zero_fraction
    if group.table is None:
        shares: np.ndarray = group.value[:, None] * _weighted_sums(one, group.zero_fraction, group.weights)
    else:
        # The pattern of the other features, for each feature i: the bits below i, then above.
        length = group.column.shape[1]
        pattern = (follows.astype(np.intp) << np.arange(length)).sum(axis=2)[:, :, None]
        shift = np.arange(length)
        others = (pattern & ((1 << shift) - 1)) | ((pattern >> (shift + 1)) << shift)
        shares = group.table[others * group.column.shape[0] + group.offsets]
    result: np.ndarray = pushes * shares
    return result


def top_reasons(
    records: list[Record], contributions: np.ndarray, feature_names: list[str], count: int
) -> list[list[Reason]]:
    """The ``count`` features that pushed each record's score up most, strongest first."""
    order = np.argsort(-contributions, axis=1, kind="stable")[:, :count]
    return [
        [Reason(feature_names[j], record[feature_names[j]], float(row[j])) for j in picked]
        for record, row, picked in zip(records, contributions, order, strict=True)
    ]


class RecordExplainer:
    """Reason codes of validated records for a compiled boosting pipeline.

    Args:
        encoder: turns records into the encoded matrix the trees read.
        explainer: the TreeSHAP explainer of the trees, over the record's fields.

    """

    def __init__(self, encoder: RecordEncoder, explainer: TreeExplainer) -> None:
        self.encoder = encoder
        self.explainer = explainer

    def contributions(self, records: list[Record]) -> np.ndarray:
        """Contribution of each field to each record's margin, shape ``(records, fields)``.

        Records are explained ``EXPLAINED_PER_CALL`` at a time: the intermediate arrays hold
        one entry per record, leaf and path feature, so this bounds memory (~50 MB for the
        credit model) whatever the request size.
        """
        encoded = self.encoder.encode(records)
        parts = [
            self.explainer.contributions(encoded[start : start + EXPLAINED_PER_CALL])
            for start in range(0, len(records), EXPLAINED_PER_CALL)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.explainer.feature_names)))

    def reasons(self, records: list[Record], count: int) -> list[list[Reason]]:
        """The ``count`` fields that pushed each record's score up most, strongest first."""
        return top_reasons(records, self.contributions(records), self.explainer.feature_names, count)


def compile_explainer(model: Any, spec: ModelSpec) -> RecordExplainer | None:
    """The reason-code explainer of a pipeline :func:`compile_predictor` accepts, else ``None``.

    The margin explained is the positive class's log-odds: the boosting's raw margin, or for a
    ``CalibratedClassifierCV`` the mean of its folds' sigmoid-calibrated log-odds (for isotonic
    folds, which are not linear in the margin, the mean of the folds' raw margins).
    """
    parts = compilable_parts(model, spec)
    if parts is None:
        return None
    encoder, classifier, positive = parts
    sign = 1.0 if positive == 1 else -1.0
    if isinstance(classifier, HistGradientBoostingClassifier):
        members, weights, intercept = [classifier], np.array([sign]), 0.0
    else:
        folds = classifier.calibrated_classifiers_
        members = [fold.estimator for fold in folds]
        calibrators = [fold.calibrators[0] for fold in folds]
        if all(isinstance(c, _SigmoidCalibration) for c in calibrators):
            weights = np.array([-sign * c.a_ for c in calibrators]) / len(folds)
            intercept = float(sum(-sign * c.b_ for c in calibrators)) / len(folds)
        else:
            weights, intercept = np.full(len(folds), sign / len(folds)), 0.0
    if any(tree.nodes["is_categorical"].any() for member in members for (tree,) in member._predictors):
        return None
    names = [feature.name for feature in spec.features]
    return RecordExplainer(
        encoder, TreeExplainer(members, weights, intercept, encoder.column_sources(), names)
    )

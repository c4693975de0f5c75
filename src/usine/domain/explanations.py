"""Reason codes: how much each input feature pushed one score, by exact path-dependent TreeSHAP.

A refused applicant must be told why. For a tree ensemble the field's answer is SHAP values
computed from the trees themselves (Lundberg et al., 2020, "From local explanations to global
understanding with explainable AI for trees", algorithm 2: *path-dependent* TreeSHAP, where
a feature left out of a coalition is averaged over by the training samples that went down
each branch). They are exact Shapley values of that game, so, unlike Saabas' path
attribution, they do not favour features split near the root, and they add up:
``expected_value + contributions.sum() == margin`` for every record.

Computation. For one leaf, the game is a product over the *distinct* features on its
root-to-leaf path: feature ``j`` has a *zero fraction* ``z_j`` (the share of training samples
that follow the path's splits on ``j``) and a 0/1 *one fraction* ``o_j`` (whether the record
follows them). The value of a coalition ``S`` is ``v * prod_{j in S} o_j * prod_{j not in S}
z_j``. The Shapley value of ``i`` is ``v * (o_i - z_i) * sum_k w_k e_k``, where ``e_k`` are the
coefficients of the polynomial ``prod_{j != i} (o_j t + z_j)`` and ``w_k = k! (d - k - 1)! /
d!`` for ``d`` path features. The full product is built once per leaf and divided by ``(o_i t
+ z_i)`` for each ``i``. Duplicate splits on one feature merge into one player (their
fractions multiply), as in the reference algorithm.

A leaf's ``d`` Shapley values depend on the record only through its *pattern*, the ``d`` bits
``o_j``. So when a version is loaded they are computed for every leaf and every one of its
``2^d`` patterns (paths of up to ``TABULATED_PATH_LENGTH`` features) and stored as one row
per (leaf, pattern), twice the memory of a table per (feature, pattern of the others) but
one contiguous fetch per leaf instead of ``d`` scattered ones (the credit model: 15,000
leaves, ~60 MB of float64). Explaining records then takes, over every leaf of every tree at
once, five numpy steps: compare each record with the distinct intervals the paths test
(2,200 for the credit model's 70,000 path features: sibling leaves share their ancestors'
splits), make every leaf's pattern from them (one sparse product by powers of two, exact in
float), fetch each leaf's row (one ``take`` per path length ``d``), and sum the fetched
values per input feature (one ``bincount`` per record). Longer paths, rare in boosting, are
computed per record with the same polynomials.

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
from scipy.sparse import csr_matrix
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


# Paths with at most this many distinct features get their leaves' Shapley values tabulated
# for every pattern (2^d rows of d values per leaf); longer ones, rare in boosting, are
# computed per record.
TABULATED_PATH_LENGTH = 12
# Records explained in one vectorised pass (bounds the memory of a large request).
EXPLAINED_PER_CALL = 32


@dataclass(frozen=True)
class _PathGroup:
    """Every leaf whose path holds the same number ``d`` of distinct features.

    They are the explainer's leaves ``leaves``, and their path features (leaf by leaf, in path
    order) its entries ``entries``; ``intervals[leaf, i]`` is the interval of path feature
    ``i``, ``zero_fraction`` its zero fraction. Row ``leaf * 2^d + pattern`` of ``table``
    holds the leaf's ``d`` Shapley values for the records whose pattern that is (``None``
    for paths too long to tabulate).
    """

    leaves: slice
    entries: slice
    intervals: np.ndarray
    zero_fraction: np.ndarray
    value: np.ndarray
    weights: np.ndarray
    table: np.ndarray | None

    def shapley(self, one: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
        """Write each path feature's Shapley value into ``out``, shape ``(records, leaves, length)``.

        ``one`` is whether each record falls in each interval (0/1), ``rows`` each record's
        table row for each leaf of the explainer.
        """
        if self.table is None:
            one = one[:, self.intervals]
            sums = _weighted_sums(one, self.zero_fraction, self.weights)
            out[...] = sums * self.value[:, None] * (one - self.zero_fraction)
        else:
            # The rows are in range by construction; mode "clip" lets take write into out directly.
            np.take(self.table, rows[:, self.leaves], axis=0, out=out, mode="clip")


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
        ordered = sorted(by_length.items())
        paths = [path for _, leaves in ordered for path, _ in leaves]
        self._entry_feature = self._column_feature[[column for path in paths for column in path]]
        intervals, interval = _intervals(paths)
        self._interval_column = intervals[:, 0].astype(np.intp)
        self._low, self._high = intervals[:, 1], intervals[:, 2]
        self._missing_follows = intervals[:, 3].astype(bool)
        self._patterns = _pattern_matrix(paths, interval, len(intervals))
        self._groups: list[_PathGroup] = []
        first_leaf = first_entry = 0
        for length, leaves in ordered:
            self._groups.append(_group(length, leaves, first_leaf, first_entry, interval))
            first_leaf += len(leaves)
            first_entry += len(leaves) * length
        # The first table row of each leaf, within its group's table.
        self._first_row = np.concatenate(
            [np.arange(len(leaves)) * 2.0**length for length, leaves in ordered] or [np.zeros(0)]
        )

    def contributions(self, encoded: np.ndarray) -> np.ndarray:
        """Contribution of each feature to each record's margin, shape ``(records, features)``."""
        count, width = encoded.shape[0], len(self.feature_names)
        values = np.take(encoded, self._interval_column, axis=1)
        follows = (values > self._low) & (values <= self._high)
        if np.isnan(encoded).any():
            follows |= np.isnan(values) & self._missing_follows
        one = follows.astype(np.float64)
        rows = ((self._patterns @ one.T).T + self._first_row).astype(np.intp)
        shares = np.empty((count, len(self._entry_feature)))
        for group in self._groups:
            group.shapley(one, rows, out=shares[:, group.entries].reshape(count, *group.zero_fraction.shape))
        totals = np.empty((count, width))
        for record_totals, record_shares in zip(totals, shares, strict=True):
            record_totals[:] = np.bincount(self._entry_feature, weights=record_shares, minlength=width)
        return totals


def _intervals(paths: list[dict[int, list[float]]]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``[column, low, high, nan_ok]`` tested by the path features (leaves share many).

    Also returns the index of each path feature's, path by path, in path order.
    """
    tests = [[column, *fact[:3]] for path in paths for column, fact in path.items()]
    intervals, interval = np.unique(np.array(tests).reshape(-1, 4), axis=0, return_inverse=True)
    return intervals, interval.reshape(-1)


def _pattern_matrix(paths: list[dict[int, list[float]]], interval: np.ndarray, intervals: int) -> csr_matrix:
    """The ``(leaves, intervals)`` matrix that turns the intervals' 0/1 one fractions into patterns.

    A leaf's pattern sums ``2^i`` over its path features ``i`` whose interval holds the record.
    """
    lengths = [len(path) for path in paths]
    leaf = np.repeat(np.arange(len(paths)), lengths)
    position = np.array([i for length in lengths for i in range(length)], dtype=np.intp)
    return csr_matrix((2.0**position, (leaf, interval)), shape=(len(paths), intervals))


def _group(
    length: int,
    leaves: list[tuple[dict[int, list[float]], float]],
    first_leaf: int,
    first_entry: int,
    interval: np.ndarray,
) -> _PathGroup:
    """The leaves with ``length`` path features, which start at ``first_leaf`` and ``first_entry``."""
    entries = slice(first_entry, first_entry + length * len(leaves))
    zero = np.array([[fact[3] for fact in path.values()] for path, _ in leaves])
    value = np.array([value for _, value in leaves])
    total = factorial(length)
    weights = np.array([factorial(k) * factorial(length - k - 1) / total for k in range(length)])
    table = None
    if length <= TABULATED_PATH_LENGTH:
        patterns = ((np.arange(2**length)[:, None] >> np.arange(length)) & 1).astype(np.float64)
        one = np.broadcast_to(patterns[:, None, :], (len(patterns), len(leaves), length))
        shares = _weighted_sums(one, zero, weights) * value[:, None] * (one - zero)
        table = np.ascontiguousarray(shares.transpose(1, 0, 2)).reshape(-1, length)
    return _PathGroup(
        leaves=slice(first_leaf, first_leaf + len(leaves)),
        entries=entries,
        intervals=interval[entries].reshape(len(leaves), length),
        zero_fraction=zero,
        value=value,
        weights=weights,
        table=table,
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

        Records are explained ``EXPLAINED_PER_CALL`` at a time: the fetched values hold one
        entry per record, leaf and path feature, so this bounds memory (~30 MB for the credit
        model) whatever the request size.
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

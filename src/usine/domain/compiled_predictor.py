"""A fitted scikit-learn pipeline compiled, once per model version, into a few numpy operations.

The reference credit pipeline (one-hot encoding, then histogram gradient boosting, possibly
calibrated by cross-validation) spends most of a single-record call in per-call overhead:
building a DataFrame, the ``ColumnTransformer`` machinery, and one Python call per tree
(1,000 trees for five calibrated folds of 200 iterations). Compiling it removes all of that:

* :class:`RecordEncoder` turns validated records into the encoder's output matrix with one
  C-level row extraction per record and one vectorised operation per feature column;
* :class:`TreeEnsemble` holds every tree of every fold in flat arrays and walks them all
  at once, one vectorised step per tree level;
* the fitted calibrators of scikit-learn are then applied as scikit-learn applies them.

Additions are done in the order scikit-learn does them, so the scores are equal to the
pipeline's (the tests check the whole German Credit data set within 1e-6). A pipeline of
another shape is not compiled: :func:`compile_predictor` returns ``None`` and the server uses
the native :class:`~usine.domain.model_spec.Predictor`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from usine.domain.features import FeatureKind, Record
from usine.domain.model_spec import ModelSpec

# An accepted pipeline's scores must equal the native ones this closely on the probe records.
SELF_CHECK_TOLERANCE = 1e-9


@dataclass(frozen=True)
class _CategoryBlock:
    """One one-hot encoded feature: where it sits among the inputs and in the output."""

    source: int
    categories: np.ndarray
    offset: int


class RecordEncoder:
    """Turns validated records into the matrix a fitted ``ColumnTransformer`` would produce.

    Args:
        columns: the record fields, in the order they are read.
        numeric: (input position, output position) of each passed-through number.
        categorical: the one-hot encoded features.
        width: number of output columns.

    """

    def __init__(
        self,
        columns: list[str],
        numeric: list[tuple[int, int]],
        categorical: list[_CategoryBlock],
        width: int,
    ) -> None:
        self.columns = columns
        self.width = width
        self._numeric_sources = np.array([source for source, _ in numeric], dtype=np.intp)
        self._numeric_targets = np.array([target for _, target in numeric], dtype=np.intp)
        self._numbers = _fields_getter([columns[source] for source, _ in numeric])
        # Per one-hot feature: its field and the output column of each known category.
        self._lookups = [
            (columns[block.source], {str(c): block.offset + i for i, c in enumerate(block.categories)})
            for block in categorical
        ]
        self._categorical = categorical

    def encode(self, records: list[Record]) -> np.ndarray:
        """The float64 matrix of ``records``, one row per record.

        Numbers are copied in one conversion; each category is one dictionary lookup giving
        the column to set, which for the few records of a request costs far less than
        vectorised string comparisons. Unknown categories encode as zeros.
        """
        count = len(records)
        encoded = np.zeros((count, self.width), dtype=np.float64)
        if len(self._numeric_targets):
            numbers = np.array([self._numbers(record) for record in records], dtype=np.float64)
            encoded[:, self._numeric_targets] = numbers.reshape(count, -1)
        width = self.width
        hits = [
            row * width + column
            for row, record in enumerate(records)
            for field, columns in self._lookups
            if (column := columns.get(_as_text(record[field]))) is not None
        ]
        encoded.ravel()[hits] = 1.0
        return encoded

    def column_sources(self) -> np.ndarray:
        """For each output column, the position among ``columns`` of the field it encodes."""
        sources = np.zeros(self.width, dtype=np.intp)
        sources[self._numeric_targets] = self._numeric_sources
        for block in self._categorical:
            sources[block.offset : block.offset + len(block.categories)] = block.source
        return sources


def _fields_getter(fields: list[str]) -> Callable[[Record], Any]:
    """Reads ``fields`` of a record: a tuple, or the value itself for a single field."""
    return operator.itemgetter(*fields) if fields else lambda record: ()


def _as_text(value: Any) -> str:
    """A category as the fitted encoder's categories were written (strings)."""
    return value if isinstance(value, str) else str(value)


def compile_encoder(transformer: Any, columns: list[str]) -> RecordEncoder | None:
    """Compile a fitted ``ColumnTransformer`` of one-hot encoders and pass-throughs.

    Returns:
        The encoder, or ``None`` when the transformer holds anything else.

    """
    if not isinstance(transformer, ColumnTransformer) or transformer.sparse_output_:
        return None
    position = {name: index for index, name in enumerate(columns)}
    numeric: list[tuple[int, int]] = []
    categorical: list[_CategoryBlock] = []
    for name, fitted, selected in transformer.transformers_:
        names = list(selected) if not isinstance(selected, str) else [selected]
        if (isinstance(fitted, str) and fitted == "drop") or not names:
            continue
        if any(not isinstance(column, str) or column not in position for column in names):
            return None
        start = transformer.output_indices_[name].start
        if _is_passthrough(fitted):
            numeric.extend((position[column], start + i) for i, column in enumerate(names))
        elif _is_plain_one_hot(fitted):
            offset = start
            for column, categories in zip(names, fitted.categories_, strict=True):
                categorical.append(
                    _CategoryBlock(position[column], np.asarray(categories).astype(str), offset)
                )
                offset += len(categories)
        else:
            return None
    width = max((transformer.output_indices_[name].stop for name, *_ in transformer.transformers_), default=0)
    return RecordEncoder(columns, numeric, categorical, width)


def _is_passthrough(fitted: Any) -> bool:
    # A fitted ColumnTransformer holds "passthrough" as an identity FunctionTransformer.
    if isinstance(fitted, str):
        return fitted == "passthrough"
    return isinstance(fitted, FunctionTransformer) and fitted.func is None and fitted.inverse_func is None


def _is_plain_one_hot(fitted: Any) -> bool:
    return (
        isinstance(fitted, OneHotEncoder)
        and fitted.drop is None
        and fitted.handle_unknown == "ignore"
        and not fitted.sparse_output
        and fitted.max_categories is None
        and fitted.min_frequency is None
        and all(np.all(np.sort(c.astype(str)) == c.astype(str)) for c in fitted.categories_)
    )


class TreeEnsemble:
    """Every tree of one or more fitted binary ``HistGradientBoostingClassifier``, walked at once.

    Args:
        members: the fitted classifiers (e.g. the folds of a calibrated classifier).

    Raises:
        ValueError: a member is not binary or holds categorical splits.

    """

    def __init__(self, members: list[Any]) -> None:
        features, thresholds, values, missing_left, children, roots = [], [], [], [], [], []
        tree_depths: list[int] = []
        offset = 0
        self.trees_per_member = len(members[0]._predictors)
        for member in members:
            if member.n_trees_per_iteration_ != 1 or len(member._predictors) != self.trees_per_member:
                raise ValueError("only binary classifiers with equal tree counts are compiled")
            for (predictor,) in member._predictors:
                nodes = predictor.nodes
                if nodes["is_categorical"].any():
                    raise ValueError("categorical splits are not compiled")
                own = np.arange(len(nodes)) + offset
                leaf = nodes["is_leaf"].astype(bool)
                left = np.where(leaf, own, nodes["left"].astype(np.intp) + offset)
                right = np.where(leaf, own, nodes["right"].astype(np.intp) + offset)
                children.append(2 * np.column_stack([left, right]).ravel())
                features.append(nodes["feature_idx"].astype(np.intp))
                thresholds.append(nodes["num_threshold"].astype(np.float64))
                values.append(nodes["value"].astype(np.float64))
                missing_left.append(nodes["missing_go_to_left"].astype(bool))
                roots.append(offset)
                tree_depths.append(int(nodes["depth"].max()))
                offset += len(nodes)
        # Nodes are named by twice their index, so that a node's child is
        # ``_children[node + go_right]``; per-node facts are repeated to be read by that name.
        self._feature = np.repeat(np.concatenate(features), 2)
        self._threshold = np.repeat(np.concatenate(thresholds), 2)
        self._value = np.repeat(np.concatenate(values), 2)
        self._missing_left = np.repeat(np.concatenate(missing_left), 2)
        self._children = np.concatenate(children)
        # Trees are walked deepest first, so that level by level only a shrinking prefix of
        # them still moves; ``_order`` puts their leaves back in scikit-learn's order.
        depths = np.array(tree_depths)
        walk = np.argsort(-depths, kind="stable")
        self._roots = 2 * np.array(roots, dtype=np.intp)[walk]
        self._moving = [int((depths > level).sum()) for level in range(int(depths.max(initial=0)))]
        self._order = np.argsort(walk)
        self._baselines = np.array([float(m._baseline_prediction.ravel()[0]) for m in members])
        self.members = len(members)

    def raw_predict(self, encoded: np.ndarray) -> np.ndarray:
        """Sum of leaf values per record and member, shape ``(records, members)``."""
        count, width = encoded.shape
        flat = np.ascontiguousarray(encoded).ravel()
        # One row per tree, so the trees still moving are a contiguous block of rows.
        nodes = np.repeat(self._roots[:, None], count, axis=1)
        starts = np.arange(count) * width
        has_missing = bool(np.isnan(flat).any())
        for moving in self._moving:
            current = nodes[:moving]
            value = flat[starts + self._feature[current]]
            if has_missing:  # NaN goes right unless the split sends missing values left
                go_right = ~(value <= self._threshold[current])
                go_right &= ~(np.isnan(value) & self._missing_left[current])
            else:
                go_right = value > self._threshold[current]
            nodes[:moving] = self._children[current + go_right]
        leaves = self._value[nodes[self._order].T].reshape(count, self.members, self.trees_per_member)
        # Baseline first, then the trees in order: the same additions as scikit-learn makes.
        baselines = np.broadcast_to(self._baselines[None, :, None], (count, self.members, 1))
        return np.cumsum(np.concatenate([baselines, leaves], axis=2), axis=2)[:, :, -1]


class CompiledPredictor:
    """Scores validated records with a compiled pipeline; same contract as ``Predictor``.

    Args:
        encoder: the compiled input encoder.
        trees: the compiled trees of every member.
        to_positive: turns raw sums ``(records, members)`` into the positive class probability.

    """

    kind = "compiled"

    def __init__(
        self, encoder: RecordEncoder, trees: TreeEnsemble, to_positive: Callable[[np.ndarray], np.ndarray]
    ) -> None:
        self.encoder = encoder
        self.trees = trees
        self._to_positive = to_positive

    def predict_scores(self, records: list[Record]) -> np.ndarray:
        """Probability of the positive class for each record, in order."""
        return self._to_positive(self.trees.raw_predict(self.encoder.encode(records)))


def compile_predictor(model: Any, spec: ModelSpec) -> CompiledPredictor | None:
    """Compile a fitted pipeline of a supported shape, else ``None``.

    Supported: ``Pipeline([ColumnTransformer(one-hot, passthrough), classifier])`` where the
    classifier is a binary ``HistGradientBoostingClassifier`` or a ``CalibratedClassifierCV``
    (sigmoid or isotonic) of them.
    """
    parts = compilable_parts(model, spec)
    if parts is None:
        return None
    encoder, classifier, positive = parts
    try:
        if isinstance(classifier, HistGradientBoostingClassifier):
            trees = TreeEnsemble([classifier])
            return CompiledPredictor(
                encoder, trees, lambda raw: classifier._loss.predict_proba(raw[:, 0])[:, positive]
            )
        folds = classifier.calibrated_classifiers_
        trees = TreeEnsemble([fold.estimator for fold in folds])
        calibrators = [fold.calibrators[0] for fold in folds]
        return CompiledPredictor(encoder, trees, lambda raw: _mean_calibrated(raw, calibrators, positive))
    except ValueError:
        return None


def compilable_parts(model: Any, spec: ModelSpec) -> tuple[RecordEncoder, Any, int] | None:
    """The compiled encoder, the boosting classifier and the positive class index, or ``None``.

    The classifier is a binary ``HistGradientBoostingClassifier`` or a ``CalibratedClassifierCV``
    (sigmoid or isotonic) of them; any other pipeline shape gives ``None``.
    """
    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        return None
    encoder = compile_encoder(model.steps[0][1], [feature.name for feature in spec.features])
    classifier = model.steps[1][1]
    if encoder is None or len(classifier.classes_) != 2:
        return None
    boosting = isinstance(classifier, HistGradientBoostingClassifier)
    if not boosting and not (
        isinstance(classifier, CalibratedClassifierCV) and _calibrates_boosting(classifier)
    ):
        return None
    positive = [str(label) for label in classifier.classes_].index(spec.positive_class)
    return encoder, classifier, positive


def _calibrates_boosting(classifier: Any) -> bool:
    return all(
        isinstance(fold.estimator, HistGradientBoostingClassifier)
        and fold.method in ("sigmoid", "isotonic")
        and len(fold.calibrators) == 1
        and list(fold.estimator.classes_) == list(classifier.classes_)
        for fold in classifier.calibrated_classifiers_
    )


def _mean_calibrated(raw: np.ndarray, calibrators: list[Any], positive: int) -> np.ndarray:
    """Average the folds' calibrated probabilities as ``CalibratedClassifierCV`` does."""
    total = np.zeros(raw.shape[0])
    for fold, calibrator in enumerate(calibrators):
        second = _calibrated(calibrator, raw[:, fold])
        total += second if positive == 1 else 1.0 - second
    return total / len(calibrators)


def _calibrated(calibrator: Any, margins: np.ndarray) -> np.ndarray:
    """A fold's calibrated probabilities: sigmoid ones by scikit-learn's own formula, inline.

    ``_SigmoidCalibration.predict`` is ``expit(-(a * T + b))`` behind input checks that cost a
    single-record call more than the formula; isotonic calibrators are called as they are.
    """
    if isinstance(calibrator, _SigmoidCalibration):
        result: np.ndarray = expit(-(calibrator.a_ * margins + calibrator.b_))
        return result
    return np.asarray(calibrator.predict(margins))


def probe_records(spec: ModelSpec, count: int = 32) -> list[Record]:
    """Records spanning every category and each numeric domain, to check a compilation."""
    records = []
    for index in range(count):
        fraction = index / max(count - 1, 1)
        record: Record = {}
        for feature in spec.features:
            if feature.kind is FeatureKind.CATEGORY:
                record[feature.name] = (
                    feature.categories[index % len(feature.categories)] if feature.categories else ""
                )
                continue
            low = feature.minimum if feature.minimum is not None else 0.0
            high = feature.maximum if feature.maximum is not None else 100.0
            value = low + (high - low) * fraction
            record[feature.name] = round(value) if feature.kind is FeatureKind.INTEGER else value
        records.append(record)
    return records

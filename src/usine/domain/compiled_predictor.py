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
from usine.domain.tree_kernel import FEATURE, LEFT, MISSING_LEFT, walk_trees

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
        nodes, thresholds, values, roots = [], [], [], []
        tree_depths: list[int] = []
        offset = 0
        self.trees_per_member = len(members[0]._predictors)
        for member in members:
            if member.n_trees_per_iteration_ != 1 or len(member._predictors) != self.trees_per_member:
                raise ValueError("only binary classifiers with equal tree counts are compiled")
            for (predictor,) in member._predictors:
                fitted = predictor.nodes
                if fitted["is_categorical"].any():
                    raise ValueError("categorical splits are not compiled")
                own = np.arange(len(fitted)) + offset
                leaf = fitted["is_leaf"].astype(bool)
                packed = np.empty((len(fitted), 4), dtype=np.uint32)
                packed[:, FEATURE] = fitted["feature_idx"]
                packed[:, MISSING_LEFT] = fitted["missing_go_to_left"]
                packed[:, LEFT] = np.where(leaf, own, fitted["left"].astype(np.intp) + offset)
                packed[:, LEFT + 1] = np.where(leaf, own, fitted["right"].astype(np.intp) + offset)
                nodes.append(packed)
                thresholds.append(fitted["num_threshold"].astype(np.float64))
                values.append(fitted["value"].astype(np.float64))
                roots.append(offset)
                tree_depths.append(int(fitted["depth"].max()))
                offset += len(fitted)
        self._nodes = np.ascontiguousarray(np.concatenate(nodes))
        self._thresholds = np.concatenate(thresholds)
        self._values = np.concatenate(values)
        # Trees are walked deepest first, so that level by level only a shrinking prefix of
        # them still moves; ``_leaf_order`` finds each tree's leaf in that walk.
        depths = np.array(tree_depths)
        walk = np.argsort(-depths, kind="stable")
        self._roots = np.array(roots, dtype=np.uint32)[walk]
        self._moving = np.array(
            [(depths > level).sum() for level in range(int(depths.max(initial=0)))], dtype=np.int64
        )
        self._leaf_order = np.argsort(walk).astype(np.int64)
        self._baselines = np.array([float(m._baseline_prediction.ravel()[0]) for m in members])
        self.members = len(members)

    def raw_predict(self, encoded: np.ndarray) -> np.ndarray:
        """Sum of leaf values per record and member, shape ``(records, members)``.

        Each member's sum is its baseline, then its trees' leaves in order: the additions
        scikit-learn makes, so the sums are equal to its own.
        """
        raw: np.ndarray = walk_trees(
            np.ascontiguousarray(encoded, dtype=np.float64),
            self._nodes,
            self._thresholds,
            self._values,
            self._roots,
            self._moving,
            self._leaf_order,
            self._baselines,
            self.trees_per_member,
        )
        return raw


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
        return CompiledPredictor(encoder, trees, _MeanCalibrated(calibrators, positive))
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


class _MeanCalibrated:
    """Average the folds' calibrated probabilities as ``CalibratedClassifierCV`` does.

    Sigmoid calibrators (``_SigmoidCalibration.predict`` is ``expit(-(a * T + b))`` behind input
    checks that cost a single-record call more than the formula) are applied to every fold in
    one vectorised step; isotonic ones are called as they are.
    """

    def __init__(self, calibrators: list[Any], positive: int) -> None:
        self._calibrators = calibrators
        self._positive = positive
        sigmoid = all(isinstance(calibrator, _SigmoidCalibration) for calibrator in calibrators)
        self._slopes = np.array([c.a_ for c in calibrators]) if sigmoid else None
        self._intercepts = np.array([c.b_ for c in calibrators]) if sigmoid else None

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """Positive class probabilities from the raw sums ``(records, folds)``."""
        if self._slopes is not None:
            second = expit(-(self._slopes * raw + self._intercepts))
        else:
            second = np.column_stack(
                [
                    np.asarray(calibrator.predict(raw[:, fold]))
                    for fold, calibrator in enumerate(self._calibrators)
                ]
            )
        chosen: np.ndarray = second if self._positive == 1 else 1.0 - second
        # Row sums fold after fold, from zero: the additions scikit-learn makes.
        return np.asarray(np.add.reduce(chosen, axis=1) / len(self._calibrators))


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

"""Claims extraction model: a gradient-boosted classifier scoring (field, candidate) pairs.

Training examples are the candidates the rules find in generated documents, each labelled
by whether its value is the field's ground truth. The field is a categorical feature, so one
model serves every field while learning each field's own cues.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from usine.claims_corpus import Document
from usine.domain.claims_candidates import candidates, truth_key
from usine.domain.claims_text import DocumentText

MODEL_NAME = "claims"
SKOPS_TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


def default_params() -> dict[str, Any]:
    """Hyper-parameters of the candidate scorer."""
    return {"max_iter": 300, "learning_rate": 0.1, "max_leaf_nodes": 31, "l2_regularization": 1.0}


@dataclass(frozen=True)
class TrainingSet:
    """Candidate feature vectors and whether each is the truth."""

    features: np.ndarray
    labels: np.ndarray
    documents: int


def training_set(read: Iterable[tuple[Document, DocumentText]]) -> TrainingSet:
    """Label the candidates of read documents against their ground truth."""
    rows: list[list[float]] = []
    labels: list[int] = []
    documents = 0
    for document, text in read:
        documents += 1
        for candidate in candidates(text):
            rows.append(candidate.vector())
            labels.append(int(candidate.key == truth_key(candidate.field, document.truth)))
    return TrainingSet(np.array(rows, dtype=np.float64), np.array(labels, dtype=np.int64), documents)


def build_model(params: dict[str, Any], seed: int) -> HistGradientBoostingClassifier:
    """The unfitted scorer (the field arrives one-hot encoded among the features)."""
    return HistGradientBoostingClassifier(random_state=seed, **params)

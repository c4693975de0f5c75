"""Fairness of a credit decision across groups of a protected attribute.

The decision is *approve* when the predicted probability of default is below a threshold.
Per group we report its size, approval rate, observed default rate and ROC AUC (how well the
score ranks within the group). The attribute's *disparate impact* is the lowest approval rate
divided by the highest; below 0.8 it breaks the *four-fifths rule* of the US EEOC guidelines,
the usual first screen of adverse impact (a flag for a reviewer, not a legal verdict).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel
from sklearn.metrics import roc_auc_score

FOUR_FIFTHS = 0.8


@dataclass(frozen=True)
class ProtectedAttribute:
    """How to read a protected attribute from the input columns.

    Args:
        name: the attribute, e.g. ``sex``.
        column: the input column it is read from.
        separator: the group is the text before it (``male : single`` -> ``male``).
        bands: for a numeric column, the lower bounds of the bands after the first
            (``(25, 35, 50)`` gives ``<25``, ``25-34``, ``35-49``, ``50+``).

    """

    name: str
    column: str
    separator: str | None = None
    bands: tuple[int, ...] = ()

    def groups(self, inputs: pd.DataFrame) -> np.ndarray:
        """The group of each row."""
        values = inputs[self.column]
        if self.bands:
            edges = list(self.bands)
            labels = [f"<{edges[0]}"]
            labels += [f"{low}-{high - 1}" for low, high in itertools.pairwise(edges)]
            labels.append(f"{edges[-1]}+")
            banded: np.ndarray = np.array(labels)[np.searchsorted(edges, values.to_numpy(), side="right")]
            return banded
        text = values.astype(str)
        if self.separator is not None:
            text = text.str.split(self.separator).str[0].str.strip()
        groups: np.ndarray = text.to_numpy()
        return groups


class GroupFairness(BaseModel):
    """One group of a protected attribute."""

    group: str
    rows: int
    approval_rate: float
    default_rate: float
    roc_auc: float | None


class AttributeFairness(BaseModel):
    """Every group of one protected attribute, and the ratio of their approval rates."""

    attribute: str
    threshold: float
    groups: list[GroupFairness]
    disparate_impact: float
    four_fifths_breached: bool


def attribute_fairness(
    attribute: str, groups: np.ndarray, target: np.ndarray, scores: np.ndarray, threshold: float
) -> AttributeFairness:
    """Approval rate, default rate and AUC per group, and the attribute's disparate impact.

    Args:
        attribute: the attribute's name, e.g. ``sex``.
        groups: the group of each row.
        target: 1 where the applicant defaulted.
        scores: predicted probability of default.
        threshold: an applicant is approved when the score is below it.

    """
    found = []
    for group in sorted(set(groups.tolist())):
        member = groups == group
        labels, member_scores = target[member], scores[member]
        found.append(
            GroupFairness(
                group=str(group),
                rows=int(member.sum()),
                approval_rate=float(np.mean(member_scores < threshold)),
                default_rate=float(np.mean(labels)),
                roc_auc=float(roc_auc_score(labels, member_scores)) if np.unique(labels).size == 2 else None,
            )
        )
    rates = [group.approval_rate for group in found]
    impact = min(rates) / max(rates) if max(rates) > 0 else 1.0
    return AttributeFairness(
        attribute=attribute,
        threshold=threshold,
        groups=found,
        disparate_impact=impact,
        four_fifths_breached=impact < FOUR_FIFTHS,
    )


def fairness_metrics(report: list[AttributeFairness]) -> dict[str, float]:
    """Flat metric names for the tracking server: disparate impact and AUC per group."""
    metrics: dict[str, float] = {}
    for attribute in report:
        metrics[f"fairness_{attribute.attribute}_disparate_impact"] = attribute.disparate_impact
        for group in attribute.groups:
            name = "".join(c if c.isalnum() else "_" for c in group.group).strip("_")
            metrics[f"fairness_{attribute.attribute}_{name}_approval_rate"] = group.approval_rate
            if group.roc_auc is not None:
                metrics[f"fairness_{attribute.attribute}_{name}_roc_auc"] = group.roc_auc
    return metrics

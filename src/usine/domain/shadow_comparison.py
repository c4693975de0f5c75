"""Champion against challenger on the same live requests (shadow mode), for monitoring."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field

from usine.domain.performance import (
    DECISION_THRESHOLD,
    RealisedPerformance,
    ScoreHistogram,
    realised_performance,
)


class ChallengerComparison(BaseModel):
    """A champion version and the challenger version that scored the same records in shadow."""

    champion_version: str
    challenger_version: str
    requests: int = Field(description="Requests scored by both.")
    predictions: int = Field(description="Records scored by both.")
    decision_threshold: float = Field(description="A score at or above it is a positive decision.")
    decision_agreement: float = Field(description="Share of the records on which both decided alike.")
    mean_absolute_score_difference: float
    champion: RealisedPerformance = Field(description="The champion on the labelled records scored by both.")
    challenger: RealisedPerformance = Field(
        description="The challenger on the same labelled records (same rows as the champion's figures)."
    )


@dataclass
class PairWindow:
    """Running sums of one (champion, challenger) pair over a window, in bounded memory."""

    champion: ScoreHistogram = field(default_factory=ScoreHistogram.empty)
    challenger: ScoreHistogram = field(default_factory=ScoreHistogram.empty)
    agreements: int = 0
    absolute_difference: float = 0.0

    def add(self, champion: np.ndarray, challenger: np.ndarray, labels: np.ndarray) -> None:
        """Add records scored by both, with their labels (1, 0, or ``NO_LABEL``)."""
        self.champion.add(champion, labels)
        self.challenger.add(challenger, labels)
        decided = (champion >= DECISION_THRESHOLD) == (challenger >= DECISION_THRESHOLD)
        self.agreements += int(np.count_nonzero(decided))
        self.absolute_difference += float(np.abs(champion - challenger).sum())

    def comparison(
        self, champion_version: str, challenger_version: str, requests: int
    ) -> ChallengerComparison:
        """The figures of the pair (it must hold at least one record)."""
        rows = self.champion.rows
        return ChallengerComparison(
            champion_version=champion_version,
            challenger_version=challenger_version,
            requests=requests,
            predictions=rows,
            decision_threshold=DECISION_THRESHOLD,
            decision_agreement=self.agreements / rows,
            mean_absolute_score_difference=self.absolute_difference / rows,
            champion=realised_performance(self.champion),
            challenger=realised_performance(self.challenger),
        )

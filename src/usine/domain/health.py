"""Service health from the prediction log: latency percentiles in bounded memory."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Log-spaced bins from 1 µs to 1,000 s: 50 bins per decade, so a percentile is read to
# within 5 % of its value whatever the window's size.
LATENCY_EDGES_MS = np.logspace(-3, 6, 9 * 50 + 1)


@dataclass
class LatencyHistogram:
    """Counts of latencies on log-spaced bins."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(LATENCY_EDGES_MS.size + 1, dtype=np.int64))

    def add(self, latencies_ms: np.ndarray) -> None:
        """Count a chunk of latencies, in milliseconds."""
        index = np.searchsorted(LATENCY_EDGES_MS, latencies_ms, side="right")
        self.counts += np.bincount(index, minlength=self.counts.size)

    @property
    def total(self) -> int:
        """Latencies counted."""
        return int(self.counts.sum())

    def percentile(self, level: float) -> float | None:
        """The latency below which ``level`` (0-1) of the counted ones lie; ``None`` when empty.

        The value is the geometric middle of the bin holding that rank.
        """
        if self.total == 0:
            return None
        index = int(np.searchsorted(np.cumsum(self.counts), level * self.total))
        low = LATENCY_EDGES_MS[max(index - 1, 0)]
        high = LATENCY_EDGES_MS[min(index, LATENCY_EDGES_MS.size - 1)]
        return float(np.sqrt(low * high))


def error_rate(served: int, rejected: int, failed: int) -> float | None:
    """Share of requests that were refused or failed; ``None`` when there were no requests."""
    total = served + rejected + failed
    return (rejected + failed) / total if total else None

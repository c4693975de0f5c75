"""The tree walk of :class:`~usine.domain.compiled_predictor.TreeEnsemble`, compiled to machine code.

Numba compiles :func:`walk_trees` once per process (the first model load) and caches the
machine code on disk, so later processes load it instead of compiling it again; where no
cache directory is writable (a read-only image without ``NUMBA_CACHE_DIR``) each process
compiles it, which only costs start-up time.

The walk steps every tree of a record one level at a time: the trees' walks are independent,
so the processor overlaps them instead of waiting on one chain of memory loads per tree. It
holds no Python object and releases the GIL.
"""

from __future__ import annotations

import logging

import numba
import numpy as np

logger = logging.getLogger(__name__)

# Columns of a packed node: the feature it splits on, whether a missing value goes left, the
# left child and the right child (a leaf is its own child, so walking past it stays put).
FEATURE, MISSING_LEFT, LEFT = 0, 1, 2


def _walk_trees(
    rows: np.ndarray,
    nodes: np.ndarray,
    thresholds: np.ndarray,
    values: np.ndarray,
    roots: np.ndarray,
    moving: np.ndarray,
    leaf_order: np.ndarray,
    baselines: np.ndarray,
    trees_per_member: int,
) -> np.ndarray:
    """Raw sums per record and member, shape ``(records, members)``.

    ``roots`` lists the trees deepest first and ``moving[level]`` how many of them still split
    at ``level``; ``leaf_order[t]`` is the place in that walk of member tree ``t`` (members'
    trees one after the other), so that each member's leaves are added in scikit-learn's order,
    after its baseline.
    """
    count = rows.shape[0]
    members = baselines.shape[0]
    reached = np.empty(roots.shape[0], dtype=np.uint32)
    raw = np.empty((count, members))
    for record in range(count):
        row = rows[record]
        reached[:] = roots
        for level in range(moving.shape[0]):
            for tree in range(moving[level]):
                node = reached[tree]
                value = row[nodes[node, FEATURE]]
                # NaN goes right unless the split sends missing values left, as scikit-learn does.
                go_right = (value > thresholds[node]) | ((value != value) & (nodes[node, MISSING_LEFT] == 0))
                reached[tree] = nodes[node, np.uint32(LEFT) + np.uint32(go_right)]
        for member in range(members):
            total = baselines[member]
            for tree in range(member * trees_per_member, (member + 1) * trees_per_member):
                total += values[reached[leaf_order[tree]]]
            raw[record, member] = total
    return raw


walk_trees = numba.njit(nogil=True)(_walk_trees)
try:
    walk_trees.enable_caching()
except RuntimeError as exc:  # no writable cache directory: compile in each process
    logger.info("tree walk compiled in each process: %s", exc)

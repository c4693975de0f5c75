"""A pipeline from a small YAML file: a base pipeline, then the blocks to run and their parameters.

    pipeline: credit            # the blocks declared in Python that the file may name
    seed: 42
    blocks:
      - load_parquet: {path: applications.parquet}
      - validate
      - featurize
      - split_by_time: {column: application_date, test_size: 0.25}
      - tune: {space: {learning_rate: [0.03, 0.05, 0.1], max_leaf_nodes: [7, 15, 31]}, trials: 4}
      - fit
      - evaluate: {threshold: 0.4}
      - compare
      - register
      - promote: {min_auc: 0.72}

A file may instead declare a model of its own (a ``model:`` section, see
:mod:`usine.pipelines.tabular`). A block the base pipeline declares keeps its declared
parameters, overridden by those the file gives; a block it does not declare (another loader,
a time split, tuning) is built from the file's parameters alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from usine.pipelines.blocks import (
    Block,
    LoadCsv,
    LoadParquet,
    LoadSql,
    PipelineError,
    SplitByTime,
    SplitStratified,
)
from usine.pipelines.modelling import Tune

BUILDABLE: dict[str, type[Block]] = {
    block.kind: block for block in (LoadCsv, LoadParquet, LoadSql, SplitStratified, SplitByTime, Tune)
}
PATH_FIELDS = {"path"}


@dataclasses.dataclass(frozen=True)
class Declaration:
    """What a pipeline file declares."""

    pipeline: str
    seed: int | None
    blocks: list[Block]


def read_declaration(
    path: Path,
    declared: dict[str, list[Block]],
    own: Callable[[Any], list[Block]] | None = None,
) -> Declaration:
    """Read a pipeline file against the pipelines declared in Python (name -> blocks).

    A file with a ``model:`` section declares a pipeline of its own: ``own`` builds its
    blocks from that section (see :mod:`usine.pipelines.tabular`).

    Raises:
        PipelineError: the file is unreadable, names an unknown pipeline or block, or gives
            a block parameters it does not have.

    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PipelineError(f"cannot read pipeline file {path}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("blocks"), list):
        raise PipelineError(f"{path}: expected a mapping with a 'blocks' list")
    name = str(document.get("pipeline", ""))
    if own is not None and "model" in document:
        declared = {**declared, name: own(document["model"])}
    if name not in declared:
        raise PipelineError(f"{path}: unknown pipeline {name!r}; known: {', '.join(sorted(declared))}")
    base = {block.kind: block for block in declared[name]}
    blocks = [_block(entry, base, path.parent) for entry in document["blocks"]]
    seed = document.get("seed")
    return Declaration(pipeline=name, seed=int(seed) if seed is not None else None, blocks=blocks)


def _block(entry: Any, base: dict[str, Block], folder: Path) -> Block:
    kind, params = (entry, {}) if isinstance(entry, str) else _single(entry)
    params = {key: folder / value if key in PATH_FIELDS else value for key, value in params.items()}
    try:
        if kind in base:
            return dataclasses.replace(base[kind], **params)  # type: ignore[type-var]
        if kind in BUILDABLE:
            return BUILDABLE[kind](**params)
    except TypeError as exc:
        raise PipelineError(f"block {kind!r}: {exc}") from exc
    known = sorted({*base, *BUILDABLE})
    raise PipelineError(f"unknown block {kind!r}; known: {', '.join(known)}")


def _single(entry: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(entry, dict) or len(entry) != 1:
        raise PipelineError(f"a block is a name or a one-key mapping name: {{parameters}}, not {entry!r}")
    ((kind, params),) = entry.items()
    if params is not None and not isinstance(params, dict):
        raise PipelineError(f"parameters of block {kind!r} must be a mapping")
    return str(kind), dict(params or {})

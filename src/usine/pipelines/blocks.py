"""Typed, reusable blocks of a training pipeline, and the runner that chains them.

A pipeline is a list of blocks. Each block is a frozen dataclass whose fields are its
parameters (so it is documented, typed, and written back as its *definition* in the run's
reproducibility record); it declares what it ``needs`` from the blocks before it and what it
``gives`` to those after, and the runner checks that chain before running anything.
Blocks share one :class:`RunState`.

    load (CSV, Parquet, SQL) -> validate -> split -> featurize -> fit [-> tune] -> evaluate
    -> compare with champion -> register (as challenger) -> promote (the gate)

Nothing reaches the registry before ``register``: a run that fails earlier leaves nothing
behind, and ``register`` removes the version it created if it fails half-way.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.model_selection import train_test_split

from usine.adapters.registry import ModelRegistry
from usine.domain.errors import TrainingDataError, UsineError
from usine.domain.fairness import AttributeFairness
from usine.domain.features import FeatureSpec
from usine.domain.reference import ReferenceStatistics
from usine.domain.validation import TableSchema, validate_table

T = TypeVar("T")
Step = Callable[[str], None]


class PipelineError(UsineError):
    """A pipeline is declared wrong: a block needs what no earlier block gives, an unknown block."""

    status = 422
    title = "Invalid pipeline"


@dataclass
class ChampionComparison:
    """The champion's metrics on the challenger's held-out data, if it could be scored."""

    version: str | None
    metrics: dict[str, float] | None
    reason: str = ""


@dataclass
class RunState:
    """What blocks hand to each other during one run.

    ``registry`` is where the run is tracked; ``tracking_seconds`` accumulates the time spent
    talking to it (see :meth:`tracking`), ``timings`` the time of each block.
    """

    model_name: str
    seed: int
    registry: ModelRegistry | None = None
    frame: pd.DataFrame | None = None
    source: str = ""
    sha256: str = ""
    schema: TableSchema | None = None
    train_frame: pd.DataFrame | None = None
    test_frame: pd.DataFrame | None = None
    features: list[FeatureSpec] | None = None
    encoder: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    scores: np.ndarray | None = None
    reference: ReferenceStatistics | None = None
    metrics: dict[str, float] | None = None
    extra_metrics: dict[str, float] = field(default_factory=dict)
    fairness: list[AttributeFairness] = field(default_factory=list)
    artifacts: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    champion: ChampionComparison | None = None
    version: str | None = None
    promoted: bool = False
    alias: str = ""
    definition: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    tracking_seconds: float = 0.0

    @contextmanager
    def tracking(self) -> Iterator[ModelRegistry]:
        """The registry, timing the calls made with it as tracking time."""
        registry = need(self.registry, "registry")
        started = time.perf_counter()
        try:
            yield registry
        finally:
            self.tracking_seconds += time.perf_counter() - started

    def inputs_and_target(self, part: pd.DataFrame | None, name: str) -> tuple[pd.DataFrame, np.ndarray]:
        """The features of a split (in contract order) and its 0/1 target."""
        frame = need(part, name)
        schema = need(self.schema, "schema")
        features = need(self.features, "features")
        inputs = frame[[feature.name for feature in features]]
        target = (frame[schema.target].astype(str) == schema.classes[1]).to_numpy(dtype=np.int8)
        return inputs, target


def need(value: T | None, name: str) -> T:
    """``value``, or a :class:`PipelineError` saying which earlier block should have given it."""
    if value is None:
        raise PipelineError(f"no earlier block gave {name!r}")
    return value


class Block(ABC):
    """One step of a training pipeline; subclasses are frozen dataclasses of their parameters."""

    kind: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()
    gives: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def run(self, state: RunState) -> None:
        """Read what the block needs from ``state`` and write what it gives."""

    def definition(self) -> dict[str, Any]:
        """The block's name and parameters, as recorded with the run."""
        params = asdict(self) if hasattr(self, "__dataclass_fields__") else {}  # type: ignore[call-overload]
        return {"block": self.kind, **{key: _plain(value) for key, value in params.items()}}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def check_chain(blocks: list[Block]) -> None:
    """Raise :class:`PipelineError` when a block needs what no earlier block gives."""
    given: set[str] = set()
    for block in blocks:
        lacking = [item for item in block.needs if item not in given]
        if lacking:
            raise PipelineError(
                f"block {block.kind!r} needs {', '.join(lacking)}, which no earlier block gives"
            )
        given.update(block.gives)


def run_pipeline(blocks: list[Block], state: RunState, step: Step = lambda _: None) -> RunState:
    """Run ``blocks`` in order on ``state``, timing each; ``step`` is told each block's name."""
    check_chain(blocks)
    state.definition = [block.definition() for block in blocks]
    for block in blocks:
        step(block.kind)
        started = time.perf_counter()
        block.run(state)
        state.timings[block.kind] = state.timings.get(block.kind, 0.0) + time.perf_counter() - started
    return state


# --- load ---------------------------------------------------------------------------------


def _file_bytes(path: Path) -> bytes:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise TrainingDataError(f"cannot read training data {path}: {exc.strerror}") from exc
    if not content.strip():
        raise TrainingDataError(f"{path} is empty")
    return content


@dataclass(frozen=True)
class LoadCsv(Block):
    """Read a CSV file and fingerprint its bytes (SHA-256)."""

    path: Path
    kind: ClassVar[str] = "load_csv"
    gives: ClassVar[tuple[str, ...]] = ("frame",)

    def run(self, state: RunState) -> None:
        """Read the file."""
        content = _file_bytes(self.path)
        try:
            frame = pd.read_csv(self.path)
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise TrainingDataError(f"{self.path} is not a readable CSV: {exc}") from exc
        state.frame, state.source, state.sha256 = frame, str(self.path), hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class LoadParquet(Block):
    """Read a Parquet file and fingerprint its bytes (SHA-256)."""

    path: Path
    kind: ClassVar[str] = "load_parquet"
    gives: ClassVar[tuple[str, ...]] = ("frame",)

    def run(self, state: RunState) -> None:
        """Read the file."""
        content = _file_bytes(self.path)
        try:
            frame = pq.read_table(pa.BufferReader(content)).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise TrainingDataError(f"{self.path} is not a readable Parquet file: {exc}") from exc
        state.frame, state.source, state.sha256 = frame, str(self.path), hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class LoadSql(Block):
    """Run a query on a database (SQLAlchemy URL); the fingerprint hashes the rows read."""

    url: str
    query: str
    kind: ClassVar[str] = "load_sql"
    gives: ClassVar[tuple[str, ...]] = ("frame",)

    def run(self, state: RunState) -> None:
        """Run the query."""
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import SQLAlchemyError

        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                frame = pd.read_sql_query(text(self.query), connection)
        except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
            reason = str(exc).splitlines()[0]
            raise TrainingDataError(f"the training query failed: {reason}") from exc
        finally:
            engine.dispose()
        digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        state.frame, state.source, state.sha256 = frame, f"sql: {self.query}", digest.hexdigest()


def load_file(path: Path) -> Block:
    """The block that reads ``path`` by its suffix: Parquet (``.parquet``, ``.pq``), else CSV."""
    return LoadParquet(path) if path.suffix.lower() in {".parquet", ".pq"} else LoadCsv(path)


# --- validate, split ------------------------------------------------------------------------


@dataclass(frozen=True)
class Validate(Block):
    """Check the table against its schema; stop the run with a report of rows and columns."""

    schema: TableSchema
    kind: ClassVar[str] = "validate"
    needs: ClassVar[tuple[str, ...]] = ("frame",)
    gives: ClassVar[tuple[str, ...]] = ("schema",)

    def run(self, state: RunState) -> None:
        """Validate; nothing else changes."""
        validate_table(need(state.frame, "frame"), self.schema)
        state.schema = self.schema


@dataclass(frozen=True)
class SplitStratified(Block):
    """Hold out ``test_size`` of the rows, stratified on the target (seeded)."""

    test_size: float = 0.2
    kind: ClassVar[str] = "split_stratified"
    needs: ClassVar[tuple[str, ...]] = ("frame", "schema")
    gives: ClassVar[tuple[str, ...]] = ("split",)

    def run(self, state: RunState) -> None:
        """Split."""
        frame = need(state.frame, "frame")
        schema = need(state.schema, "schema")
        # Stratified on 0/1 (positive = 1): the encoding fixes which rows the seed draws.
        positive = (frame[schema.target].astype(str) == schema.classes[1]).to_numpy(dtype=np.int8)
        if min(positive.sum(), len(positive) - positive.sum()) < 2:
            raise TrainingDataError(
                f"target {schema.target!r} has a class with fewer than 2 rows: cannot stratify"
            )
        state.train_frame, state.test_frame = train_test_split(
            frame, test_size=self.test_size, stratify=positive, random_state=state.seed
        )


@dataclass(frozen=True)
class SplitByTime(Block):
    """Hold out the latest ``test_size`` of the rows by ``column`` (training never sees the future)."""

    column: str
    test_size: float = 0.2
    kind: ClassVar[str] = "split_by_time"
    needs: ClassVar[tuple[str, ...]] = ("frame", "schema")
    gives: ClassVar[tuple[str, ...]] = ("split",)

    def run(self, state: RunState) -> None:
        """Split."""
        frame = need(state.frame, "frame")
        if self.column not in frame.columns:
            raise TrainingDataError(f"cannot split by time: no column {self.column!r}")
        ordered = frame.sort_values(self.column, kind="stable")
        cut = round(len(ordered) * (1.0 - self.test_size))
        state.train_frame, state.test_frame = ordered.iloc[:cut], ordered.iloc[cut:]
        target = need(state.schema, "schema").target
        for name, part in (("training", state.train_frame), ("held-out", state.test_frame)):
            if part[target].nunique() < 2:
                raise TrainingDataError(f"the {name} part of the time split holds a single class")

"""Blocks chain by what they need and give; files declare pipelines; loaders refuse impostors."""

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from usine.datasets import dataset_path
from usine.domain.errors import TrainingDataError
from usine.pipelines import credit
from usine.pipelines.blocks import (
    LoadCsv,
    LoadParquet,
    LoadSql,
    PipelineError,
    RunState,
    SplitByTime,
    Validate,
    check_chain,
    run_pipeline,
)
from usine.pipelines.declaration import read_declaration
from usine.pipelines.modelling import Featurize, Fit, Tune


def test_a_block_that_needs_what_nothing_gives_is_refused_before_running() -> None:
    with pytest.raises(PipelineError, match="'fit' needs features, split"):
        check_chain([LoadCsv(dataset_path(credit.DATA_FILE)), Fit()])


def test_the_data_blocks_give_the_contract_and_a_stratified_split() -> None:
    state = run_pipeline(credit.data_blocks(), RunState(model_name="credit", seed=42))
    assert state.features is not None
    assert len(state.features) == 20
    train, test = (
        state.inputs_and_target(state.train_frame, "split"),
        state.inputs_and_target(state.test_frame, "split"),
    )
    assert (len(train[0]), len(test[0])) == (800, 200)
    assert (train[1].mean(), test[1].mean()) == (0.3, 0.3)
    assert set(state.timings) == {"load_csv", "validate", "featurize", "split_stratified"}


def test_parquet_and_sql_load_the_same_rows_as_the_csv(tmp_path: Path) -> None:
    frame = pd.read_csv(dataset_path(credit.DATA_FILE))
    frame.to_parquet(tmp_path / "credit.parquet")
    with sqlite3.connect(tmp_path / "credit.db") as connection:
        frame.to_sql("applications", connection, index=False)
    for block in (
        LoadParquet(tmp_path / "credit.parquet"),
        LoadSql(f"sqlite:///{tmp_path / 'credit.db'}", "SELECT * FROM applications"),
    ):
        state = RunState(model_name="credit", seed=0)
        block.run(state)
        pd.testing.assert_frame_equal(state.frame, frame)
        assert len(state.sha256) == 64


@pytest.mark.parametrize(
    ("block", "content", "message"),
    [
        (LoadCsv, b"", "is empty"),
        (LoadCsv, b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not a readable CSV"),
        (LoadParquet, b"status,duration\nA,6\n", "not a readable Parquet"),
    ],
)
def test_a_file_that_is_not_what_it_claims_is_refused(
    tmp_path: Path, block: type[LoadCsv] | type[LoadParquet], content: bytes, message: str
) -> None:
    path = tmp_path / "data"
    path.write_bytes(content)
    with pytest.raises(TrainingDataError, match=message):
        block(path).run(RunState(model_name="credit", seed=0))


def test_a_failing_query_is_a_training_data_error(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="query failed"):
        LoadSql(f"sqlite:///{tmp_path / 'empty.db'}", "SELECT * FROM absent").run(
            RunState(model_name="c", seed=0)
        )


def test_a_time_split_holds_out_the_latest_rows(tmp_path: Path) -> None:
    frame = pd.read_csv(dataset_path(credit.DATA_FILE)).assign(day=range(1000, 0, -1))
    state = RunState(model_name="credit", seed=0, frame=frame, schema=credit.SCHEMA)
    SplitByTime("day", test_size=0.25).run(state)
    assert state.train_frame is not None
    assert state.test_frame is not None
    assert state.train_frame["day"].max() < state.test_frame["day"].min()
    assert (len(state.train_frame), len(state.test_frame)) == (750, 250)


def test_a_pipeline_file_overrides_declared_blocks_and_adds_new_ones(tmp_path: Path) -> None:
    declared = {"credit": [*credit.credit_pipeline(), *credit.optional_blocks()]}
    file = tmp_path / "pipeline.yaml"
    file.write_text(
        "pipeline: credit\nseed: 7\nblocks:\n"
        "  - load_parquet: {path: data.parquet}\n  - validate\n  - featurize\n"
        "  - split_by_time: {column: day}\n  - tune: {trials: 2}\n  - fit\n"
    )
    declaration = read_declaration(file, declared)
    assert declaration.seed == 7
    kinds = [block.kind for block in declaration.blocks]
    assert kinds == ["load_parquet", "validate", "featurize", "split_by_time", "tune", "fit"]
    load, validate, _, split, tune, fit = declaration.blocks
    assert isinstance(load, LoadParquet)
    assert load.path == tmp_path / "data.parquet"
    assert isinstance(validate, Validate)
    assert validate.schema == credit.SCHEMA
    assert isinstance(split, SplitByTime)
    assert split.column == "day"
    assert isinstance(tune, Tune)
    assert tune.trials == 2
    assert tune.params == credit.default_params()
    assert isinstance(fit, Fit)
    assert fit.params == credit.default_params()
    assert isinstance(declaration.blocks[2], Featurize)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pipeline: other\nblocks: []\n", "unknown pipeline 'other'"),
        ("pipeline: credit\nblocks: [shuffle]\n", "unknown block 'shuffle'"),
        ("pipeline: credit\nblocks: [{fit: {depth: 3}}]\n", "block 'fit'.*depth"),
        ("pipeline: credit\nblocks: {fit: {}}\n", "'blocks' list"),
        ("pipeline: credit\nblocks: [\n", "cannot read"),
    ],
)
def test_a_wrong_pipeline_file_is_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "pipeline.yaml"
    file.write_text(text)
    with pytest.raises(PipelineError, match=message):
        read_declaration(file, {"credit": credit.credit_pipeline()})

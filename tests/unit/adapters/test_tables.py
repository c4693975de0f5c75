"""Table files read in chunks and written all or nothing."""

from pathlib import Path

import pandas as pd
import pytest

from usine.adapters.tables import TableReader, TableWriter, table_format
from usine.domain.errors import BatchSourceError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"id": [f"a{i}" for i in range(7)], "amount": [1, 2, None, 4, 5, 6, 7]})


def test_csv_is_read_in_chunks_as_text_in_file_order(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "in.csv"
    frame.to_csv(path, index=False)
    chunks = list(TableReader(str(path), chunk_rows=3).chunks())
    assert [len(chunk) for chunk in chunks] == [3, 3, 1]
    joined = pd.concat(chunks, ignore_index=True)
    assert joined["id"].tolist() == frame["id"].tolist()
    assert joined["amount"].tolist()[:2] == ["1.0", "2.0"]
    assert pd.isna(joined["amount"][2])


def test_parquet_keeps_one_type_per_column_across_chunks(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "in.parquet"
    frame.to_parquet(path)
    reader = TableReader(str(path), chunk_rows=2)
    assert reader.total_rows() == 7
    dtypes = {str(chunk["amount"].dtype) for chunk in reader.chunks()}
    assert dtypes == {"double[pyarrow]"}


@pytest.mark.parametrize("name", ["in.parquet", "in.csv"])
def test_a_file_that_is_not_what_its_extension_says_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary" * 10)
    with pytest.raises(BatchSourceError, match=name):
        list(TableReader(str(path), chunk_rows=10).chunks())


def test_missing_empty_and_unknown_inputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BatchSourceError, match="no such file"):
        TableReader(str(tmp_path / "absent.csv"), chunk_rows=10)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(BatchSourceError, match="empty"):
        list(TableReader(str(tmp_path / "empty.csv"), chunk_rows=10).chunks())
    with pytest.raises(BatchSourceError, match="unknown table format"):
        table_format("scores.xlsx")


@pytest.mark.parametrize("name", ["out.csv", "out.parquet"])
def test_written_chunks_land_together_under_the_target_name(
    tmp_path: Path, frame: pd.DataFrame, name: str
) -> None:
    target = tmp_path / "sub" / name
    with TableWriter(str(target)) as writer:
        writer.write(frame.iloc[:4])
        writer.write(frame.iloc[4:])
        assert not target.exists()
    assert writer.rows == 7
    written = pd.read_csv(target) if name.endswith(".csv") else pd.read_parquet(target)
    assert written["id"].tolist() == frame["id"].tolist()
    assert sorted(p.name for p in target.parent.iterdir()) == [name]


def test_a_failed_write_leaves_the_previous_output_untouched_and_no_partial_file(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    target = tmp_path / "out.parquet"
    frame.to_parquet(target)
    before = target.read_bytes()

    def failing_run() -> None:
        with TableWriter(str(target)) as writer:
            writer.write(frame.iloc[:2])
            raise RuntimeError("scoring failed")

    with pytest.raises(RuntimeError, match="scoring failed"):
        failing_run()
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]

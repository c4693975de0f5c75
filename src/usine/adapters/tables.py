"""Tables in files, read in chunks and written atomically: CSV or Parquet, local or remote.

Paths are fsspec URLs, so ``/data/in.parquet``, ``file://…`` and ``s3://bucket/key.csv``
(with the ``s3`` extra installed) all work. The format follows the file's extension.

Reading streams: a CSV file is parsed ``chunk_rows`` rows at a time, every column as text (the
model's contract types the features; other columns pass through unchanged); a Parquet file
is read batch by batch with Arrow types kept, so a column keeps one type across chunks.
Writing is all or nothing: rows go to a temporary name beside the target, renamed over it
only when the caller commits, so a failed run never leaves a partial file looking complete.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import PurePosixPath
from types import TracebackType
from typing import IO, Literal

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.spec import AbstractFileSystem

from usine.domain.errors import BatchSourceError

TableFormat = Literal["csv", "parquet"]
FORMATS: dict[str, TableFormat] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def table_format(url: str) -> TableFormat:
    """The format of a table file, from its extension.

    Raises:
        BatchSourceError: the extension is neither CSV nor Parquet.

    """
    suffix = PurePosixPath(url).suffix.lower()
    if suffix not in FORMATS:
        raise BatchSourceError(f"{url}: unknown table format {suffix!r}; use .csv or .parquet")
    return FORMATS[suffix]


def _filesystem(url: str) -> tuple[AbstractFileSystem, str]:
    try:
        return fsspec.core.url_to_fs(url)  # type: ignore[no-any-return]
    except (ImportError, ValueError) as exc:
        raise BatchSourceError(f"{url}: {exc}") from exc


class TableReader:
    """A table file read in chunks of rows.

    Args:
        url: where the table is (local path or fsspec URL).
        chunk_rows: most rows per chunk; memory is bounded by this, not by the file size.

    Raises:
        BatchSourceError: the file is missing or its extension is not a table format.

    """

    def __init__(self, url: str, chunk_rows: int) -> None:
        self.url = url
        self.format = table_format(url)
        self.chunk_rows = chunk_rows
        self.fs, self.path = _filesystem(url)
        if not self.fs.isfile(self.path):
            raise BatchSourceError(f"{url}: no such file")

    def fingerprint(self) -> str:
        """A key that changes when the file changes (size and modification, or the store's etag)."""
        return str(self.fs.ukey(self.path))

    def total_rows(self) -> int | None:
        """The number of rows when the format records it (Parquet), else ``None``."""
        if self.format != "parquet":
            return None
        with self.fs.open(self.path, "rb") as handle:
            return int(self._parquet(handle).metadata.num_rows)

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The rows of the table, ``chunk_rows`` at a time, in file order.

        Raises:
            BatchSourceError: the content is not what the extension says, or cannot be parsed.

        """
        with self.fs.open(self.path, "rb") as handle:
            if self.format == "parquet":
                yield from self._parquet_chunks(handle)
            else:
                yield from self._csv_chunks(handle)

    def _parquet(self, handle: IO[bytes]) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(handle)
        except (pa.ArrowException, OSError) as exc:
            raise BatchSourceError(f"{self.url}: not a Parquet file ({exc})") from exc

    def _parquet_chunks(self, handle: IO[bytes]) -> Iterator[pd.DataFrame]:
        for batch in self._parquet(handle).iter_batches(batch_size=self.chunk_rows):
            yield batch.to_pandas(types_mapper=pd.ArrowDtype)

    def _csv_chunks(self, handle: IO[bytes]) -> Iterator[pd.DataFrame]:
        try:
            with pd.read_csv(handle, chunksize=self.chunk_rows, dtype=str, encoding="utf-8") as reader:
                yield from reader
        except pd.errors.EmptyDataError as exc:
            raise BatchSourceError(f"{self.url}: the file is empty") from exc
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise BatchSourceError(f"{self.url}: not a readable CSV file ({exc})") from exc


class TableWriter:
    """A table file written chunk by chunk under a temporary name, renamed when committed.

    Use it as a context manager: leaving the block normally commits, an exception aborts
    (the temporary file is removed and the target, if it existed, is left untouched).

    Args:
        url: the table to write (local path or fsspec URL); its extension gives the format.

    Raises:
        BatchSourceError: the extension is not a table format or the folder cannot be written.

    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.format = table_format(url)
        self.fs, self.path = _filesystem(url)
        self.partial = f"{self.path}.partial-{uuid.uuid4().hex}"
        self.rows = 0
        self._handle: IO[bytes] | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def __enter__(self) -> TableWriter:
        try:
            self.fs.makedirs(str(PurePosixPath(self.path).parent), exist_ok=True)
            self._handle = self.fs.open(self.partial, "wb")
        except OSError as exc:
            raise BatchSourceError(f"{self.url}: cannot be written ({exc})") from exc
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append rows; every chunk must have the columns of the first."""
        if self._handle is None:
            raise RuntimeError("TableWriter.write outside its with-block")
        if self.format == "csv":
            frame.to_csv(self._handle, header=self.rows == 0, index=False, encoding="utf-8")
        else:
            self._write_parquet(frame)
        self.rows += len(frame)

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._parquet is None:
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(self._handle, self._schema)
        self._parquet.write_table(table.cast(self._schema))

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if kind is None and self._parquet is None and self.format == "parquet":
                self._parquet = pq.ParquetWriter(self._handle, self._schema or pa.schema([]))
            if self._parquet is not None:
                self._parquet.close()
        finally:
            if self._handle is not None:
                self._handle.close()
        if kind is None:
            self.fs.mv(self.partial, self.path)
        elif self.fs.exists(self.partial):
            self.fs.rm(self.partial)

"""Where the prediction log's cost goes: CPU per request of the serving process, and of PostgreSQL.

``serving.py --side-by-side`` judges the logging target (throughput with logging on against
off) through HTTP and wrk; on a shared 2-core machine its rounds swing by 20 % and more, so it
cannot tell a change of a few microseconds per request. This script takes HTTP, wrk and the
kernel's networking out: each measurement is a fresh process that starts the app (lifespan,
models, writer) and calls it as uvicorn does (raw ASGI, on uvloop) for ``--requests``
single-record predictions from ``--concurrency`` tasks, after a warm-up. It reads

* the process's CPU time per request, all threads included: the request path, the writer's
  task and its ``COPY``, the housekeeping thread;
* the CPU time of the PostgreSQL server processes serving the benchmark's database, per row
  stored (when the server runs on this machine; its processes' times are read from /proc).

Modes: logging off, to SQLite, to PostgreSQL; ``--against REV`` adds the logged modes run from
git revision REV (a temporary worktree, its ``src`` first on the import path), in the same
rounds. Every round runs each mode once, every other round in reverse order; the table gives
medians and the cost of logging as microseconds added per request against logging off.

    .venv/bin/python benchmarks/logging_cost.py                        # 5 rounds, ~2 minutes
    .venv/bin/python benchmarks/logging_cost.py --repeat 9 --against HEAD~1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
from rich.progress import Progress
from rich.table import Table
from serving import (
    AT_REVISION,
    PREDICT,
    RECORD,
    checked_out,
    console,
    own_databases,
    postgres_database,
    register_model,
    usine_settings,
)

OFF, SQLITE, POSTGRES = "logging off", "log to SQLite", "log to PostgreSQL"


@dataclass(frozen=True)
class Mode:
    """One configuration to measure: its name, its settings, and the source it runs from."""

    name: str
    env: dict[str, str]
    source: Path | None = None


@dataclass(frozen=True)
class Sample:
    """One measurement of one mode."""

    mode: str
    round: int
    process_us: float
    """CPU time of the serving process per request (µs)."""
    database_us: float | None
    """PostgreSQL's CPU time for the database per request, one row each (µs); ``None``: not read."""


def modes(home: Path, postgres_url: str | None) -> list[Mode]:
    """Logging off, to SQLite and (given a server) to PostgreSQL, with the throughput benchmark's settings."""
    base = usine_settings(home)
    found = [
        Mode(
            OFF,
            {**base, "USINE_LOG_PREDICTIONS": "false", "USINE_DATABASE_URL": f"sqlite:///{home / 'off.db'}"},
        ),
        Mode(SQLITE, {**base, "USINE_DATABASE_URL": f"sqlite:///{home / 'log.db'}"}),
    ]
    if postgres_url:
        found.append(Mode(POSTGRES, {**base, "USINE_DATABASE_URL": postgres_url}))
    return found


def at_revision(logged: list[Mode], source: Path, revision: str, postgres_url: str | None) -> list[Mode]:
    """The logged modes again, run from ``revision``'s source, into databases of their own."""
    return [
        Mode(f"{mode.name}{AT_REVISION}{revision}", own_databases(mode.env, postgres_url), source)
        for mode in logged
    ]


def measure_once(mode: Mode, requests: int, concurrency: int) -> tuple[float, float | None]:
    """Run one measuring process for ``mode``; its CPU per request and the database's."""
    env = {**os.environ, **mode.env}
    if mode.source is not None:
        env["PYTHONPATH"] = str(mode.source)
    command = [sys.executable, __file__, "--child", str(requests), str(concurrency)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode.name} failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return figures["process_us"], figures["database_us"]


def rounds(all_modes: list[Mode], repeat: int, requests: int, concurrency: int) -> list[Sample]:
    """``repeat`` rounds of every mode, every other round backwards."""
    samples = []
    with Progress(console=console) as progress:
        task = progress.add_task("measuring", total=repeat * len(all_modes))
        for round_ in range(repeat):
            for mode in all_modes if round_ % 2 == 0 else all_modes[::-1]:
                process_us, database_us = measure_once(mode, requests, concurrency)
                samples.append(Sample(mode.name, round_, process_us, database_us))
                progress.advance(task)
    return samples


def _median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def summary(samples: list[Sample]) -> list[dict[str, Any]]:
    """Per mode: medians, and what logging adds per request against logging off in the same rounds.

    The added cost is the median of each round's difference with that round's logging-off run,
    which cancels slow phases of a shared machine that last a round.
    """
    names = list(dict.fromkeys(sample.mode for sample in samples))
    off = {sample.round: sample.process_us for sample in samples if sample.mode == OFF}
    rows = []
    for name in names:
        own = [sample for sample in samples if sample.mode == name]
        process = statistics.median(sample.process_us for sample in own)
        database = _median([sample.database_us for sample in own])
        added = statistics.median(sample.process_us - off[sample.round] for sample in own)
        total = added + (database or 0.0)
        rows.append(
            {
                "mode": name,
                "process_us": process,
                "process_range": (min(s.process_us for s in own), max(s.process_us for s in own)),
                "added_us": added,
                "database_us": database,
                "total_added_us": total,
                "share": total / statistics.median(off.values()),
            }
        )
    return rows


def report(rows: list[dict[str, Any]], requests: int, concurrency: int) -> None:
    """Print the table."""
    table = Table(
        title=f"CPU per single-record request, in process ({requests} requests, {concurrency} at once)"
    )
    for column in ("mode", "µs/req", "range", "+logging", "PG µs/row", "+in all", "share"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for row in rows:
        low, high = row["process_range"]
        database = row["database_us"]
        table.add_row(
            row["mode"],
            f"{row['process_us']:.1f}",
            f"{low:.1f}-{high:.1f}",
            "" if row["mode"] == OFF else f"{row['added_us']:+.1f}",
            "" if database is None else f"{database:.1f}",
            "" if row["mode"] == OFF else f"{row['total_added_us']:+.1f}",
            "" if row["mode"] == OFF else f"{row['share']:+.1%}",
        )
    console.print(table)
    console.print(
        "µs/req: the process's CPU per request (median; range over the rounds). +logging: what logging "
        "adds to it against logging off in the same round (median). PG µs/row: PostgreSQL's processes "
        "for the database. +in all: both. share: +in all against logging off's µs/req; served over "
        "HTTP each request costs more (uvicorn, the network, the load generator), so the throughput "
        "cost serving.py measures is a smaller share of the same microseconds."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000, help="measured requests per process")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight at once")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (every mode once per round)")
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="server on which a throwaway database is made; '' to skip PostgreSQL",
    )
    parser.add_argument("--against", metavar="REV", help="also run the logged modes from git revision REV")
    parser.add_argument("--json", type=Path, help="also write the samples and the summary to this file")
    parser.add_argument(
        "--home",
        type=Path,
        help="a USINE_HOME whose registry holds the credit champion already: nothing is trained, "
        "and the runs write their databases and spool there",
    )
    args = parser.parse_args()
    with ExitStack() as stack:
        home = args.home
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="usine-logging-cost-")))
            console.print("registering the credit model once")
            register_model(home)
        postgres_url = stack.enter_context(postgres_database(args.postgres)) if args.postgres else None
        all_modes = modes(home, postgres_url)
        if args.against:
            source = stack.enter_context(checked_out(args.against))
            assert source is not None  # a revision was asked
            theirs = stack.enter_context(postgres_database(args.postgres)) if postgres_url else None
            all_modes += at_revision(all_modes[1:], source, args.against, theirs)
        samples = rounds(all_modes, args.repeat, args.requests, args.concurrency)
    rows = summary(samples)
    report(rows, args.requests, args.concurrency)
    if args.json:
        args.json.write_text(
            json.dumps({"samples": [s.__dict__ for s in samples], "summary": rows}, indent=2)
        )


# The measuring process -------------------------------------------------------------------


def database_processes(url: str) -> Iterator[psutil.Process]:
    """PostgreSQL's processes serving ``url``'s database now (none if the server is elsewhere)."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as connection:
        pids = [
            row[0]
            for row in connection.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    for pid in pids:
        try:
            yield psutil.Process(pid)
        except psutil.Error:
            continue


def database_cpu(url: str, seen: dict[int, float]) -> float | None:
    """CPU seconds PostgreSQL's processes for the database used since ``seen`` (updated in place)."""
    if not url.startswith("postgresql"):
        return None
    used = 0.0
    for process in database_processes(url):
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        now = times.user + times.system
        used += now - seen.get(process.pid, 0.0)
        seen[process.pid] = now
    return used


async def drive(requests: int, concurrency: int) -> dict[str, float | None]:
    """Start the app, warm it up, then time ``requests`` predictions from ``concurrency`` tasks."""
    from usine.api.app import create_app

    app = create_app()
    body = json.dumps(RECORD).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PREDICT,
        "raw_path": PREDICT.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def predict() -> None:
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        statuses = []

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(dict(scope), receive, send)
        if statuses != [200]:
            raise RuntimeError(f"prediction answered {statuses}")

    async def client(count: int) -> None:
        for _ in range(count):
            await predict()

    url = os.environ["USINE_DATABASE_URL"]
    async with app.router.lifespan_context(app):
        writer = app.state.predictions.writer
        await asyncio.gather(*(client(max(1, 1000 // concurrency)) for _ in range(concurrency)))
        await asyncio.to_thread(writer.flush)
        seen: dict[int, float] = {}
        database_cpu(url, seen)
        started = time.process_time()
        await asyncio.gather(*(client(requests // concurrency) for _ in range(concurrency)))
        await asyncio.to_thread(writer.flush)
        process_s = time.process_time() - started
        database_s = database_cpu(url, seen)
        if writer.database_down or writer.spool.pending_files():
            raise RuntimeError("predictions were spooled, not stored: the figures would not be the log's")
    done = requests // concurrency * concurrency
    return {
        "process_us": process_s / done * 1e6,
        "database_us": None if database_s is None else database_s / done * 1e6,
    }


def child(requests: int, concurrency: int) -> None:
    """The measuring process: print its figures as one line of JSON."""
    import uvloop

    print(json.dumps(uvloop.run(drive(requests, concurrency))))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()

"""Serving throughput and latency: usine against mlflow models serve and BentoML, same model, same load.

Registers the credit model once (``usine train credit`` in a private USINE_HOME), then serves
it in turn with:

* ``mlflow models serve --env-manager local`` (POST /invocations, one DataFrame record),
* BentoML 1.4 with adaptive batching (benchmarks/bentoml_service.py, in its own venv made
  here from benchmarks/requirements-bentoml.txt, because BentoML's pins are not ours),
* usine with prediction logging off, to SQLite and to PostgreSQL (access log and reason codes
  off, as the floor and the peers have none), and logging with three reason codes per prediction;
  with 2 workers, logging off on one socket shared by the workers too (uvicorn's own way),
* a constant-returning FastAPI endpoint on the same uvicorn stack (the HTTP floor),

each at 1 and 2 workers (one OpenMP thread per worker), and drives each with the same
external load generator, ``wrk`` (``bash scripts/system-deps.sh bench`` installs it), on 127.0.0.1 at 1, 16
and 64 connections with single-record requests, after a warm-up. The peers log nothing;
usine logs every prediction unless the row says "logging off". A second table splits each
server's CPU per request between its processes, PostgreSQL's and the rest of the machine.
Each logging cost (the median of paired rounds, ``--repeat``) comes with a 95 % interval of that
median and whether the interval lies under the 10 % target (48 rounds gave intervals 4-7 points wide).

    .venv/bin/python benchmarks/serving.py                 # 10 s per cell, about 9 minutes
    .venv/bin/python benchmarks/serving.py --duration 3    # a quick look
    .venv/bin/python benchmarks/serving.py --workers 1 --connections 16 --servers floor usine
    .venv/bin/python benchmarks/serving.py --workers 1 --connections 16 --repeat 3 \
        --servers "logging off" PostgreSQL         # the logging cost: median of 3 paired rounds
    .venv/bin/python benchmarks/serving.py --workers 2 --connections 16 --repeat 12 --duration 3 \
        --servers "logging off"                    # a socket per worker against one shared socket
    .venv/bin/python benchmarks/serving.py --side-by-side --connections 16 --repeat 20 \
        --duration 2 --servers PostgreSQL          # the same, the servers up at once, seconds apart
    .venv/bin/python benchmarks/serving.py --side-by-side --connections 16 --repeat 20 \
        --duration 2 --servers PostgreSQL --against HEAD~1   # a change against the code before it
    .venv/bin/python benchmarks/serving.py --pooled run1.json run2.json   # runs' --json files as one
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, NamedTuple, TypeVar

import httpx
import psutil  # type: ignore[import-untyped]
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from scipy import stats
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from usine.datasets import dataset_path
from usine.pipelines.credit import NUMERIC_FEATURES, TARGET

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PEERS = HERE / ".peers"
BENTO_VENV = PEERS / "bentoml"
CONNECTIONS = (1, 16, 64)
WORKERS = (1, 2)
TRUSTED = [
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]
console = Console()
Ordered = TypeVar("Ordered")


def first_applicant() -> dict[str, object]:
    """The first applicant of the vendored data, typed as a client sends it."""
    with dataset_path("german_credit.csv").open(newline="") as handle:
        row = next(csv.DictReader(handle))
    return {k: int(v) if k in NUMERIC_FEATURES else v for k, v in row.items() if k != TARGET}


RECORD = first_applicant()


@dataclass(frozen=True)
class Server:
    """One served configuration: how to start it and what to send it."""

    name: str
    command: list[str]
    env: dict[str, str]
    path: str
    body: object
    cwd: Path | None = None


class ServerFailed(Exception):
    """A server exited or never answered; its cells are reported as failed."""


@dataclass(frozen=True)
class Cell:
    """One measurement."""

    server: str
    workers: int
    connections: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    round: int = 0
    split: str = ""
    """Established connections per server process during the run, largest first ("9/7")."""
    cpu: CpuUse | None = None
    """CPU microseconds per request during the run (:func:`cpu_per_request`)."""


class CpuUse(NamedTuple):
    """CPU time by where it was spent: the server's processes, PostgreSQL's, the whole machine."""

    server: float
    database: float
    machine: float


class Running(NamedTuple):
    """A server started by :func:`serving`: where to send requests, and its first process."""

    url: str
    pid: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(command: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def register_model(home: Path) -> Path:
    """Train and register the credit model once; return its skops file."""
    env = {**os.environ, "USINE_HOME": str(home)}
    run([str(BIN / "usine"), "train", "credit"], env)
    files = sorted(home.glob("mlartifacts/**/model.skops"))
    if not files:
        raise SystemExit("no skops file in the registered model")
    return files[0]


def ensure_peer(name: str, command: str) -> Path:
    """A peer's own venv (benchmarks/.peers/NAME) from requirements-NAME.txt; its COMMAND."""
    venv = PEERS / name
    executable = venv / "bin" / command
    if not executable.exists():
        console.print(f"creating the {name} venv (benchmarks/.peers/{name})")
        run([str(BIN / "uv"), "venv", "--quiet", "--python", "3.11", str(venv)])
        run(
            [str(BIN / "uv"), "pip", "install", "--quiet", "-r", str(HERE / f"requirements-{name}.txt")],
            {**os.environ, "VIRTUAL_ENV": str(venv)},
        )
    return executable


def ensure_bentoml() -> Path:
    """The BentoML venv, created from the pinned requirements when missing."""
    return ensure_peer("bentoml", "bentoml")


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A fresh database on the PostgreSQL server, dropped afterwards."""
    server = make_url(server_url)
    name = f"usine_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


PREDICT = "/1.0.0/models/credit/predictions"
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""One numeric thread per process, for every server measured."""


def usine_settings(home: Path) -> dict[str, str]:
    """usine's settings in every benchmark: ``home`` for its files, no alias polling.

    Like the floor (--no-access-log) and the peers (scores only): no access log, no reason
    codes; one row of this benchmark shows what three reason codes per prediction cost.
    """
    return {
        **ONE_THREAD,
        "USINE_HOME": str(home),
        "USINE_RELOAD_INTERVAL_S": "0",
        "USINE_ACCESS_LOG": "false",
        "USINE_REASON_CODES": "0",
    }


def servers(home: Path, model_file: Path, workers: int, postgres_url: str | None) -> list[Server]:
    """Every configuration to measure at ``workers`` workers."""
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    base = {**os.environ, "PATH": path, **ONE_THREAD}
    usine = {**base, **usine_settings(home)}
    mlflow_env = {**base, "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}"}
    bento_env = {
        **base,
        "BENCH_MODEL_FILE": str(model_file),
        "BENCH_TRUSTED": json.dumps(TRUSTED),
        "BENCH_WORKERS": str(workers),
        "BENTOML_DO_NOT_TRACK": "true",
    }
    usine_cmd = [str(BIN / "usine"), "serve", "--workers", str(workers), "--port"]
    off_env = {
        **usine,
        "USINE_LOG_PREDICTIONS": "false",
        "USINE_DATABASE_URL": f"sqlite:///{home / 'off.db'}",
    }
    predict = PREDICT
    found = [
        Server(
            "mlflow models serve",
            [
                str(BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                "models:/credit/1",
                "--env-manager",
                "local",
                "--workers",
                str(workers),
                "--host",
                "127.0.0.1",
                "--port",
            ],
            mlflow_env,
            "/invocations",
            {"dataframe_records": [RECORD]},
        ),
        Server(
            BENTO_ROW,
            [
                str(BENTO_VENV / "bin" / "bentoml"),
                "serve",
                "bentoml_service:Credit",
                "--host",
                "127.0.0.1",
                "--port",
            ],
            bento_env,
            "/predict",
            {"records": [RECORD]},
            cwd=HERE,
        ),
        Server(
            FLOOR_ROW,
            [
                str(BIN / "uvicorn"),
                "floor_app:app",
                "--no-access-log",
                "--log-level",
                "warning",
                "--workers",
                str(workers),
                "--host",
                "127.0.0.1",
                "--port",
            ],
            base,
            "/predict",
            RECORD,
            cwd=HERE,
        ),
        Server(OFF_ROW, usine_cmd, off_env, predict, RECORD),
        *(
            [Server(SHARED_ROW, usine_cmd, {**off_env, "USINE_REUSE_PORT": "false"}, predict, RECORD)]
            if workers > 1
            else []
        ),
        Server(
            "usine, log to SQLite",
            usine_cmd,
            {**usine, "USINE_DATABASE_URL": f"sqlite:///{home / f'log-{workers}.db'}"},
            predict,
            RECORD,
        ),
    ]
    logged = {**usine, "USINE_DATABASE_URL": postgres_url} if postgres_url else found[-1].env
    if postgres_url:
        found.append(Server("usine, log to PostgreSQL", usine_cmd, logged, predict, RECORD))
    found.append(
        Server(REASONS_ROW, usine_cmd, {**logged, "USINE_REASON_CODES": "3"}, predict, RECORD),
    )
    return found


@contextmanager
def serving(server: Server) -> Iterator[Running]:
    """Start ``server`` on a free port, wait until it answers a request, stop it afterwards."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        yield from _serve_on(server, port, log)


def _serve_on(server: Server, port: int, log: IO[bytes]) -> Iterator[Running]:
    process = subprocess.Popen(
        [*server.command, str(port)],
        env=server.env,
        cwd=server.cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}{server.path}"
    deadline = time.monotonic() + 300
    try:
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise ServerFailed(f"{server.name} exited:\n{log.read().decode()[-2000:]}")
            try:
                if httpx.post(url, json=server.body, timeout=10).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                raise ServerFailed(
                    f"{server.name} did not answer within 300 s:\n{log.read().decode()[-2000:]}"
                )
            time.sleep(0.5)
        yield Running(url, process.pid)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


REASONS_ROW = "usine, logged, 3 reason codes"
FLOOR_ROW = "HTTP floor (constant, uvicorn)"
OFF_ROW = "usine, logging off"
AGAIN_ROW = "usine, logging off (again)"
SHARED_ROW = "usine, logging off, one shared socket"
"""With several workers: uvicorn's own way, every worker accepting on one socket (USINE_REUSE_PORT=false)."""
AT_REVISION = " @ "
"""Joins a row's name to the revision it was served from (``--against``)."""
LOGGED_ROWS = ("usine, log to PostgreSQL", "usine, log to SQLite")
LOGGING_TARGET = 0.10
"""The issue's target: logging costs less than this share of the throughput with logging off."""
BENTO_ROW = "BentoML (adaptive batching)"
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = {body}
"""


def load(url: str, body: object, connections: int, seconds: float, script_dir: Path) -> Load:
    """Drive ``url`` with wrk; the connections' spread over the server's processes is read mid-run."""
    script = script_dir / "post.lua"
    script.write_text(LUA.format(body=json.dumps(json.dumps(body))))
    threads = min(connections, 2)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    with subprocess.Popen([*command, "-s", str(script), url], stdout=subprocess.PIPE, text=True) as wrk:
        time.sleep(seconds / 2)
        split = connection_split(httpx.URL(url).port or 80)
        out, _ = wrk.communicate()
    if wrk.returncode != 0:
        raise RuntimeError(f"wrk failed: {out[-2000:]}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Load(
        rate,
        to_ms(percentiles["50"]),
        to_ms(percentiles["99"]),
        errors + (int(non_2xx.group(1)) if non_2xx else 0),
        split,
    )


class Load(NamedTuple):
    """What one wrk run measured."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    split: str


def connection_split(port: int) -> str:
    """Established connections to ``port`` per process holding them, largest first ("9/7").

    wrk keeps its connections for the whole run, so a 12/4 split caps the run nearer one
    worker's throughput, whatever the server does per request. usine's workers listen on a
    socket each and the kernel picks one by a hash of the connection's ports, so the split is
    a draw of coin flips (10/6 is typical of 16). With one shared socket (the ``one shared
    socket`` row) each connection goes to whichever worker accepts first, and a burst can
    end up on one worker (16/0 and 15/1 seen).
    """
    return "/".join(str(count) for count in sorted(connections_held(port).values(), reverse=True))


def connections_held(port: int) -> Counter[int]:
    """Established connections to ``port`` by the id of the process that accepted them."""
    return Counter(
        connection.pid
        for connection in psutil.net_connections("tcp")
        if connection.status == psutil.CONN_ESTABLISHED and connection.laddr and connection.laddr.port == port
    )


def balanced(split: str, workers: int) -> bool:
    """Whether no worker holds more than a quarter above its fair share of the connections."""
    counts = [int(count) for count in split.split("/") if count]
    return bool(counts) and max(counts) * workers <= 1.25 * sum(counts)


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def measure(args: argparse.Namespace, home: Path, model_file: Path, postgres_url: str | None) -> list[Cell]:
    """Every cell of the plan, ``--repeat`` rounds; odd rounds run the plan backwards.

    Reversing every other round puts each server as often before a neighbour as after it, so
    a drift of the shared machine (a cache warming, a neighbour's job) does not always favour
    the same one.
    """
    runs: list[Cell] = []
    plan = [
        (w, s)
        for w in args.workers
        for s in servers(home, model_file, w, postgres_url)
        if wanted(args, s.name)
    ]
    with Progress(console=console) as progress:
        task = progress.add_task("measuring", total=args.repeat * len(plan) * len(args.connections))
        for round_ in range(args.repeat):
            for workers, server in alternated(plan, round_):
                progress.update(task, description=f"{server.name}, {workers} worker(s)")
                try:
                    with serving(server) as running:
                        load(running.url, server.body, 16, args.warmup, home)
                        for connections in args.connections:
                            runs.append(measured(args, home, server, running, (workers, connections, round_)))
                            progress.advance(task)
                except ServerFailed as failure:
                    console.print(f"[red]{failure}[/red]")
                    progress.advance(task, len(args.connections))
    return runs


@contextmanager
def checked_out(revision: str | None) -> Iterator[Path | None]:
    """The ``src`` folder of ``revision`` in a temporary git worktree (``None``: no revision asked)."""
    if revision is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="usine-against-") as folder:
        tree = Path(folder) / "tree"
        run(["git", "-C", str(HERE.parent), "worktree", "add", "--detach", str(tree), revision])
        try:
            yield tree / "src"
        finally:
            run(["git", "-C", str(HERE.parent), "worktree", "remove", "--force", str(tree)])


def against(servers_: list[Server], source: Path, revision: str, postgres_url: str | None) -> list[Server]:
    """The same servers running the code of ``revision`` (its ``src`` first on the import path).

    They log into databases of their own (:func:`own_databases`, ``postgres_url`` for
    PostgreSQL). The environment (the virtualenv's libraries) is this checkout's: a revision
    whose dependencies differ from the lock file's is not comparable this way.
    """
    return [
        replace(
            server,
            name=f"{server.name}{AT_REVISION}{revision}",
            env={**own_databases(server.env, postgres_url), "PYTHONPATH": str(source)},
        )
        for server in servers_
    ]


def own_databases(env: dict[str, str], postgres_url: str | None) -> dict[str, str]:
    """``env`` logging into another database: its SQLite file renamed, or ``postgres_url``.

    A revision measured with ``--against`` may migrate the log to another schema than this
    checkout's, so the two never share a database.
    """
    url = env["USINE_DATABASE_URL"]
    if url.startswith("sqlite:"):
        return {**env, "USINE_DATABASE_URL": url.removesuffix(".db") + "-against.db"}
    if postgres_url is None:
        raise ValueError("a revision logging to PostgreSQL needs a database of its own")
    return {**env, "USINE_DATABASE_URL": postgres_url}


def side_by_side(
    args: argparse.Namespace, home: Path, model_file: Path, postgres_url: str | None
) -> list[Cell]:
    """The logging cost with logging off, off again and logged served at once, the load alternating.

    Run after run, a shared 2-core machine drifts: the same server measured minutes apart
    serves 10-20 % more or less. Here the servers are all up, and wrk visits each in turn for
    ``--duration`` seconds, every other round in the opposite order, ``--repeat`` rounds: the two
    sides of each paired ratio are seconds apart. The second logging-off server is the same
    configuration as the first, so its paired ratio shows what this measurement cannot resolve.
    With ``--against REV``, the logged servers also run the code of git revision ``REV``, in
    the same rounds: a change is measured against the code before it, not against a figure
    from another run.
    """
    runs: list[Cell] = []
    with checked_out(args.against) as source, ExitStack() as stack:
        theirs = stack.enter_context(postgres_database(args.postgres)) if source and postgres_url else None
        for workers in args.workers:
            runs += side_by_side_at(
                args, home, workers, servers(home, model_file, workers, postgres_url), (source, theirs)
            )
    return runs


def side_by_side_at(
    args: argparse.Namespace,
    home: Path,
    workers: int,
    found: list[Server],
    revision: tuple[Path | None, str | None],
) -> list[Cell]:
    """The side-by-side rounds of the servers ``found`` at ``workers`` workers; see :func:`side_by_side`.

    ``revision``: the ``--against`` revision's source, if any, and its PostgreSQL database.
    """
    runs: list[Cell] = []
    off = next(s for s in found if s.name == OFF_ROW)
    logged = [s for s in found if s.name in LOGGED_ROWS and wanted(args, s.name)]
    side = [off, replace(off, name=AGAIN_ROW), *logged]
    source, theirs = revision
    if source is not None:
        side += against(logged, source, args.against, theirs)
    with ExitStack() as stack, Progress(console=console) as progress:
        turn = [(server, stack.enter_context(serving(server))) for server in side]
        for server, running in turn:
            load(running.url, server.body, 16, args.warmup, home)
        task = progress.add_task(
            f"{workers} worker(s), side by side", total=args.repeat * len(side) * len(args.connections)
        )
        for round_ in range(args.repeat):
            for connections in args.connections:
                for server, running in alternated(turn, round_):
                    runs.append(measured(args, home, server, running, (workers, connections, round_)))
                    progress.advance(task)
    return runs


def alternated(items: list[Ordered], round_: int) -> list[Ordered]:
    """``items`` in order in even rounds, backwards in odd ones."""
    return items if round_ % 2 == 0 else items[::-1]


def measured(
    args: argparse.Namespace, home: Path, server: Server, running: Running, where: tuple[int, int, int]
) -> Cell:
    """One wrk run of ``--duration`` s against ``running``, at ``where`` (workers, connections, round)."""
    workers, connections, round_ = where
    before = cpu_use(running.pid)
    rate, p50, p99, errors, split = load(running.url, server.body, connections, args.duration, home)
    cpu = cpu_per_request(before, cpu_use(running.pid), rate * args.duration)
    if server.path == PREDICT:
        refuse_spooled(running.url)
    return Cell(server.name, workers, connections, rate, p50, p99, errors, round_, split, cpu)


class SpooledRun(RuntimeError):
    """A logged server spooled predictions: its figures would measure the spool, not the log."""


def refuse_spooled(url: str) -> None:
    """Stop the run if the usine server at ``url`` has spooled predictions instead of storing them.

    A batch the database refuses, or a full queue, goes to the local spool, which costs far more
    than the log's ``COPY``; so does a revision whose writer fails (``--against``). A run that
    spooled would print the spool's cost as the log's.
    """
    metrics = httpx.get(str(httpx.URL(url).copy_with(path="/metrics")), timeout=10).text
    if count := spooled_records(metrics):
        raise SpooledRun(f"{url} spooled {count:.0f} predictions instead of storing them: see its log")


def spooled_records(metrics: str) -> float:
    """Predictions spooled so far, read from a usine server's Prometheus text (every worker's)."""
    found = re.findall(r'^usine_log_records_total\{outcome="spooled"\} (\S+)$', metrics, re.M)
    return sum(float(value) for value in found)


def cpu_use(pid: int) -> CpuUse:
    """CPU seconds used so far by process ``pid`` and its descendants, by PostgreSQL, by the machine.

    PostgreSQL's processes are every process named ``postgres`` on this machine (its backends,
    WAL writer, checkpointer, autovacuum): with a server elsewhere, that column stays near 0.
    """
    root = psutil.Process(pid)
    database = (p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres")
    machine = psutil.cpu_times()
    return CpuUse(
        _cpu_seconds([root, *root.children(recursive=True)]),
        _cpu_seconds(database),
        sum(machine) - machine.idle - machine.iowait,
    )


def _cpu_seconds(processes: Iterable[psutil.Process]) -> float:
    """User and system CPU seconds of ``processes`` (those gone meanwhile count for nothing)."""
    total = 0.0
    for process in processes:
        with suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def cpu_per_request(before: CpuUse, after: CpuUse, requests: float) -> CpuUse:
    """The CPU used between ``before`` and ``after``, in microseconds per request served."""
    return CpuUse(*((b - a) / max(requests, 1) * 1e6 for a, b in zip(before, after, strict=True)))


def medians(runs: list[Cell]) -> list[Cell]:
    """One cell per server, workers and connections: the median of each figure, errors summed."""
    grouped: dict[tuple[str, int, int], list[Cell]] = {}
    for run in runs:
        grouped.setdefault((run.server, run.workers, run.connections), []).append(run)
    return [
        Cell(
            server,
            workers,
            connections,
            statistics.median(c.requests_per_s for c in group),
            statistics.median(c.p50_ms for c in group),
            statistics.median(c.p99_ms for c in group),
            sum(c.errors for c in group),
            split=" ".join(c.split for c in group),
            cpu=median_cpu([c.cpu for c in group if c.cpu is not None]),
        )
        for (server, workers, connections), group in grouped.items()
    ]


def median_cpu(uses: list[CpuUse]) -> CpuUse | None:
    """The median of each column of ``uses`` (``None`` if there are none)."""
    return CpuUse(*(statistics.median(column) for column in zip(*uses, strict=True))) if uses else None


def wanted(args: argparse.Namespace, server: str) -> bool:
    """Whether ``--servers`` keeps the row named ``server`` (every row without it)."""
    return not args.servers or any(part.lower() in server.lower() for part in args.servers)


def logged_cell(by_key: Mapping[Any, Cell], *where: int) -> Cell | None:
    """The cell logging to PostgreSQL at ``where`` (workers, connections[, round]), else to SQLite."""
    return next((by_key[(name, *where)] for name in LOGGED_ROWS if (name, *where) in by_key), None)


class Paired(NamedTuple):
    """One round's logging cost, with each side's connection split."""

    cost: float
    off_split: str
    logged_split: str
    round: int


def named_cell(name: str) -> Callable[..., Cell | None]:
    """A ``pick`` for :func:`logging_costs`: the cell of the row called ``name``."""
    return lambda by_key, *where: by_key.get((name, *where))


def logging_costs(
    runs: list[Cell], pick: Callable[..., Cell | None] = logged_cell
) -> dict[tuple[int, int], list[Paired]]:
    """Throughput lost to logging, ``1 - logged / logging off``, per workers and connections: one per round.

    ``pick`` finds the other side: by default the logged cell (PostgreSQL, else SQLite); with
    ``named_cell(AGAIN_ROW)``, the same ratio between two logging-off servers. Both sides of each ratio
    are measured in the same round (minutes apart, or seconds side by side), so a slow spell of
    the shared machine weighs on both: the median of these paired ratios swings less than the
    ratio of the two medians.
    """
    by_key = {(c.server, c.workers, c.connections, c.round): c for c in runs}
    costs: dict[tuple[int, int], list[Paired]] = {}
    for workers, connections, round_ in sorted({(c.workers, c.connections, c.round) for c in runs}):
        off = by_key.get((OFF_ROW, workers, connections, round_))
        logged = pick(by_key, workers, connections, round_)
        if off is not None and logged is not None:
            cost = 1 - logged.requests_per_s / off.requests_per_s
            costs.setdefault((workers, connections), []).append(Paired(cost, off.split, logged.split, round_))
    return costs


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """A distribution-free ``confidence`` interval for the median of ``values``; ``None`` if too few.

    Of n values drawn independently, the k-th smallest and the k-th largest enclose the median with
    probability 1 - 2 P(B < k), B ~ Binomial(n, 1/2), whatever the distribution: the rounds' costs
    have heavy tails (a round where the kernel split the connections badly on one side), so no
    normal law is assumed. k is the largest rank that keeps at least ``confidence``; with fewer
    than 6 values (95 %) not even the extremes do.
    """
    ordered = sorted(values)
    n = len(ordered)
    rank = 0
    while rank < (n + 1) // 2 and 2 * stats.binom.cdf(rank, n, 0.5) <= 1 - confidence:
        rank += 1
    return (ordered[rank - 1], ordered[n - rank]) if rank else None


def verdict(values: list[float], target: float) -> str:
    """Whether the median of ``values`` is shown under ``target``: its 95 % interval, and what it settles."""
    bounds = median_interval(values)
    if bounds is None:
        return "too few rounds for a 95% interval of the median"
    low, high = bounds
    settled = (
        f"under the {target:.0%} target"
        if high < target
        else f"over the {target:.0%} target"
        if low >= target
        else f"not settled against the {target:.0%} target"
    )
    return f"{described(bounds)}: {settled}"


def described(bounds: tuple[float, float]) -> str:
    """An interval of the median, as the report prints it."""
    return f"95% interval of the median {bounds[0]:+.1%} to {bounds[1]:+.1%}"


def describe_costs(paired: list[Paired], workers: int) -> str:
    """The median logging cost over every round with its 95 % interval, and over the even rounds.

    A round where the kernel gave one worker most connections on one side only measures that
    accident (a 16/0 split serves like one worker), so with several workers the median of the
    rounds balanced on both sides is printed too, beside every round and its splits. The
    interval says whether the rounds show the median under the target, or only put it near.
    """
    costs = [p.cost for p in paired]
    each = ", ".join(f"{p.cost:.0%} ({p.off_split} vs {p.logged_split})" for p in paired)
    text = (
        f"logging costs {statistics.median(costs):.0%} against logging off ({verdict(costs, LOGGING_TARGET)})"
    )
    even = [p.cost for p in paired if balanced(p.off_split, workers) and balanced(p.logged_split, workers)]
    if workers > 1:
        text += (
            f", {statistics.median(even):.0%} in the {len(even)} even round(s)" if even else ", no even round"
        )
    return f"{text} (each round, off vs logged connections per worker: {each})"


def describe_noise(paired: list[Paired]) -> str:
    """What the same server measured twice "costs": the resolution of the logging cost."""
    costs = sorted(p.cost for p in paired)
    bounds = median_interval(costs)
    spread = f", {described(bounds)}" if bounds else ""
    return (
        f"the second logging-off server costs {statistics.median(costs):+.1%} against the first "
        f"(the noise floor{spread}; rounds from {costs[0]:+.0%} to {costs[-1]:+.0%})"
    )


def targets(cells: list[Cell], runs: list[Cell]) -> None:
    """The issue's targets, per workers and connections: floor share, logging cost, p99."""
    by_key = {(c.server, c.workers, c.connections): c for c in cells}
    costs = logging_costs(runs)
    noise = logging_costs(runs, named_cell(AGAIN_ROW))
    for workers, connections in sorted({(c.workers, c.connections) for c in cells}):
        ours = logged_cell(by_key, workers, connections)
        if ours is None:
            continue
        floor = by_key.get((FLOOR_ROW, workers, connections))
        paired = costs.get((workers, connections))
        parts = [f"{workers} worker(s), {connections} connections: {ours.server}"]
        if floor is not None:
            parts.append(
                f"serves {ours.requests_per_s / floor.requests_per_s:.2f} of the HTTP floor (target ≥ 0.5)"
            )
        if paired:
            parts.append(describe_costs(paired, workers))
        if (workers, connections) in noise:
            parts.append(describe_noise(noise[(workers, connections)]))
        parts.append(f"p99 {ours.p99_ms:.1f} ms (target < 15 ms at 16 connections)")
        console.print(", ".join(parts))
    compare_revisions(cells, runs)


def compare_revisions(cells: list[Cell], runs: list[Cell]) -> None:
    """The logging cost of each ``--against`` row, beside the current code's in the same rounds.

    The change itself is the gap between the two in each round, in points of the logging-off
    throughput, given with a 95 % interval of its median: both logged servers ran in every
    round, so the gap is paired round by round like the costs.
    """
    by_key = {(c.server, c.workers, c.connections): c for c in cells}
    for row in sorted({c.server for c in cells if AT_REVISION in c.server}):
        current = row.split(AT_REVISION)[0]
        theirs = logging_costs(runs, named_cell(row))
        ours = logging_costs(runs, named_cell(current))
        for workers, connections in sorted(theirs):
            before = statistics.median(p.cost for p in theirs[(workers, connections)])
            mine = ours.get((workers, connections))
            now = f"{statistics.median(p.cost for p in mine):.0%}" if mine else "not measured"
            cell = by_key[(row, workers, connections)]
            console.print(
                f"{workers} worker(s), {connections} connections: {row}: logging costs {before:.0%} "
                f"against logging off in the same rounds (this checkout: {now}), p99 {cell.p99_ms:.1f} ms"
                f"{describe_gap(revision_gaps(theirs[(workers, connections)], mine or []))}"
            )


def revision_gaps(theirs: list[Paired], ours: list[Paired]) -> list[float]:
    """Per round both ran, how much more ``theirs`` cost than ``ours``, in shares of logging off."""
    mine = {p.round: p.cost for p in ours}
    return [p.cost - mine[p.round] for p in theirs if p.round in mine]


def describe_gap(gaps: list[float]) -> str:
    """The median gap between a revision's logging cost and this checkout's, with its interval."""
    bounds = median_interval(gaps)
    if bounds is None:  # too few rounds
        return ""
    return f"; it costs {statistics.median(gaps):+.1%} against this checkout ({described(bounds)})"


def report(cells: list[Cell]) -> None:
    table = Table(
        title="Single-record scoring of the credit model, wrk on 127.0.0.1 "
        "(2 cores shared with the load generator)",
        caption="The peers log nothing; usine logs every prediction except on 'logging off' rows. "
        "Ratios: usine with PostgreSQL logging (else SQLite) over the peer, "
        "at the same workers and connections. Per worker: the connections each server process "
        "held mid-run, one split per round.",
    )
    for column in (
        "server",
        "workers",
        "conns",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "usine ×",
        "per worker",
    ):
        table.add_column(column, justify="left" if column == "server" else "right")
    by_key = {(c.server, c.workers, c.connections): c for c in cells}
    for cell in sorted(cells, key=lambda c: (c.workers, c.connections, -c.requests_per_s)):
        ours = logged_cell(by_key, cell.workers, cell.connections)
        ratio = (
            ""
            if ours is None or cell.server.startswith("usine")
            else f"{ours.requests_per_s / cell.requests_per_s:.1f}"
        )
        table.add_row(
            cell.server,
            str(cell.workers),
            str(cell.connections),
            f"{cell.requests_per_s:,.0f}",
            f"{cell.p50_ms:.1f}",
            f"{cell.p99_ms:.1f}",
            str(cell.errors),
            ratio,
            cell.split,
        )
    console.print(table)


def cpu_report(cells: list[Cell]) -> None:
    """Where each server's CPU went per request (medians over the rounds), and what logging added.

    Throughput alone cannot say whose CPU a logged request costs on a machine whose cores the
    workers, PostgreSQL and wrk share; this splits it: the server's processes, PostgreSQL's,
    the whole machine (wrk and the kernel included), and the server's and the machine's
    microseconds beyond the logging-off row at the same workers and connections.
    """
    table = Table(
        title="CPU per request served (µs, medians over the rounds)",
        caption="its processes: the server's; PostgreSQL: every postgres process on this machine; "
        "machine: every core's busy time, wrk and the kernel included; +: beyond logging off.",
    )
    for column in (
        "server",
        "workers",
        "conns",
        "its processes",
        "PostgreSQL",
        "machine",
        "+ its processes",
        "+ machine",
    ):
        table.add_column(column, justify="right" if table.columns else "left")
    by_key = {(c.server, c.workers, c.connections): c for c in cells}
    for cell in sorted(cells, key=lambda c: (c.workers, c.connections, c.server)):
        if cell.cpu is None:
            continue
        off = by_key.get((OFF_ROW, cell.workers, cell.connections))
        extra = (
            ("", "")
            if off is None or off.cpu is None or cell is off
            else (
                f"{cell.cpu.server - off.cpu.server:+.1f}",
                f"{cell.cpu.machine - off.cpu.machine:+.1f}",
            )
        )
        table.add_row(
            cell.server,
            str(cell.workers),
            str(cell.connections),
            f"{cell.cpu.server:.1f}",
            f"{cell.cpu.database:.1f}",
            f"{cell.cpu.machine:.1f}",
            *extra,
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per cell")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server")
    parser.add_argument("--connections", type=int, nargs="+", default=list(CONNECTIONS))
    parser.add_argument("--workers", type=int, nargs="+", default=list(WORKERS))
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="server on which a throwaway database is made; '' to skip PostgreSQL",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the whole plan this many rounds (every other one backwards) and report each "
        "cell's median, and the logging cost as the median of each round's paired ratio "
        "(single cells swing by 10-20 percent between runs on a shared 2-core machine)",
    )
    parser.add_argument(
        "--side-by-side",
        action="store_true",
        help="measure the logging cost only: logging off, a second logging-off server and the logged "
        "servers run at once and wrk alternates between them, --duration seconds each, --repeat "
        "rounds (for example --repeat 20 --duration 2)",
    )
    parser.add_argument(
        "--against",
        metavar="REV",
        help="with --side-by-side: also serve the logged configurations from git revision REV (a "
        "temporary worktree, its src first on the import path), to measure a change against the code "
        "before it in the same rounds",
    )
    parser.add_argument(
        "--servers", nargs="+", default=[], help="only the rows whose name holds one of these words"
    )
    parser.add_argument("--json", type=Path, help="also write the measurements to this file")
    parser.add_argument(
        "--pooled",
        metavar="JSON",
        type=Path,
        nargs="+",
        help="serve nothing: report the rounds of earlier runs' --json files as one run (the "
        "logging cost's interval over all their rounds)",
    )
    args = parser.parse_args()
    if args.against and not args.side_by_side:
        parser.error("--against compares revisions in the side-by-side rounds: add --side-by-side")
    if args.pooled:
        summarise(pooled(args.pooled), args.json)
        return
    plan = side_by_side if args.side_by_side else measure
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: bash scripts/system-deps.sh bench (apt-get install -y wrk)")
    if wanted(args, BENTO_ROW) and not args.side_by_side:
        ensure_bentoml()
    with tempfile.TemporaryDirectory(prefix="usine-bench-") as folder:
        home = Path(folder)
        console.print("registering the credit model once")
        model_file = register_model(home)
        if args.postgres:
            with postgres_database(args.postgres) as postgres_url:
                runs = plan(args, home, model_file, postgres_url)
        else:
            runs = plan(args, home, model_file, None)
    summarise(runs, args.json)


def summarise(runs: list[Cell], json_file: Path | None) -> None:
    """Print the tables and the targets of ``runs``; also write them to ``json_file``, if given."""
    cells = medians(runs)
    report(cells)
    cpu_report(cells)
    targets(cells, runs)
    if json_file:
        json_file.write_text(
            json.dumps({"medians": [c.__dict__ for c in cells], "runs": [c.__dict__ for c in runs]}, indent=2)
        )


def pooled(files: list[Path]) -> list[Cell]:
    """The measurements of earlier runs' ``--json`` files as one run, numbered file after file.

    The rounds are paired within a file as they were measured; pooling only adds rounds, so that
    runs of the same code on the same machine narrow one interval between them.
    """
    runs: list[Cell] = []
    for path in files:
        first = 1 + max((cell.round for cell in runs), default=-1)
        for raw in json.loads(path.read_text())["runs"]:
            cpu = raw.get("cpu")
            runs.append(Cell(**{**raw, "round": raw["round"] + first, "cpu": CpuUse(*cpu) if cpu else None}))
    return runs


if __name__ == "__main__":
    main()

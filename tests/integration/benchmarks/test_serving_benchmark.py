"""The serving benchmark's accounting: revisions, CPU, intervals, verdicts, spooled runs (no load is run)."""

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import numpy as np
import psutil  # type: ignore[import-untyped]
import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from support import benchmark_module, wait_until

ROOT = Path(__file__).resolve().parents[3]


def benchmark() -> ModuleType:
    return benchmark_module("serving")


def worktrees() -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout


def paired_rounds(
    serving: ModuleType,
    costs: list[float],
    off_rate: float = 1000.0,
    cpu: tuple[object, object] = (None, None),
) -> list[object]:
    """A logging-off and a PostgreSQL-logged cell per round (1 worker, 16 connections), costing ``costs``.

    ``cpu`` is what each of the two servers used per request, if anything.
    """
    return [
        cell
        for round_, cost in enumerate(costs)
        for cell in (
            serving.Cell(serving.OFF_ROW, 1, 16, off_rate, 2.0, 4.0, 0, round_, "16", cpu[0]),
            serving.Cell(
                "usine, log to PostgreSQL", 1, 16, off_rate * (1 - cost), 2.0, 4.0, 0, round_, "16", cpu[1]
            ),
        )
    ]


def test_a_revision_is_checked_out_for_the_run_and_removed_after() -> None:
    serving = benchmark()
    with serving.checked_out("HEAD") as source:
        assert (source / "usine" / "__init__.py").is_file()
        assert str(source.parent) in worktrees()
        ours = [
            serving.Server(
                "usine, log to PostgreSQL", ["usine"], {"USINE_DATABASE_URL": "postgresql:///a"}, "/p", {}
            ),
            serving.Server(
                "usine, log to SQLite", ["usine"], {"USINE_DATABASE_URL": "sqlite:////h/log-2.db"}, "/p", {}
            ),
        ]
        servers = serving.against(ours, source, "HEAD", "postgresql:///b")
    assert not source.exists()
    assert str(source.parent) not in worktrees()
    # The revision logs into databases of its own: its migrations may differ from this checkout's.
    assert [(s.name, s.env) for s in servers] == [
        (
            "usine, log to PostgreSQL @ HEAD",
            {"USINE_DATABASE_URL": "postgresql:///b", "PYTHONPATH": str(source)},
        ),
        (
            "usine, log to SQLite @ HEAD",
            {"USINE_DATABASE_URL": "sqlite:////h/log-2-against.db", "PYTHONPATH": str(source)},
        ),
    ]
    with pytest.raises(ValueError, match="database of its own"):
        serving.against(ours, source, "HEAD", None)
    with serving.checked_out(None) as nothing:
        assert nothing is None


def test_each_revision_s_logging_cost_is_printed_beside_this_checkout_s() -> None:
    serving = benchmark()
    logged, earlier = "usine, log to PostgreSQL", "usine, log to PostgreSQL @ abc123"
    rates = {serving.OFF_ROW: (1000, 1000), logged: (900, 900), earlier: (800, 800)}
    runs = [
        serving.Cell(name, 1, 16, rate, 2.0, 4.0, 0, round_, "16")
        for name, per_round in rates.items()
        for round_, rate in enumerate(per_round)
    ]
    with serving.console.capture() as printed:
        serving.compare_revisions(serving.medians(runs), runs)
    text = " ".join(printed.get().split())
    assert f"{earlier}: logging costs 20% against logging off in the same rounds (this checkout: 10%)" in text


def test_cpu_is_counted_for_the_server_s_whole_process_tree() -> None:
    serving = benchmark()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # a worker under load
    try:
        start = serving.cpu_use(os.getpid())
        child = psutil.Process(busy.pid)
        # However loaded the machine, wait for CPU used, not for time passed.
        wait_until(lambda: sum(child.cpu_times()[:2]) >= 0.4, "the child's 0.4 s of CPU")
        now = serving.cpu_use(os.getpid())
    finally:
        busy.kill()
        busy.wait()
    per_request = serving.cpu_per_request(start, now, requests=1)
    assert per_request.server >= 0.25e6  # the busy child's CPU, in µs: children count as the server's
    assert per_request.machine >= per_request.server * 0.9


def test_the_cpu_table_gives_what_logging_adds_to_the_server_and_the_machine() -> None:
    serving = benchmark()
    logged = "usine, log to PostgreSQL"
    use = {serving.OFF_ROW: ((300, 0, 360), (310, 0, 370)), logged: ((330, 12, 400), (340, 14, 410))}
    runs = [
        serving.Cell(name, 2, 16, 1000, 2.0, 4.0, 0, round_, "8/8", serving.CpuUse(*cpu))
        for name, per_round in use.items()
        for round_, cpu in enumerate(per_round)
    ]
    cells = serving.medians(runs)
    assert next(c for c in cells if c.server == logged).cpu == (335, 13, 405)
    with serving.console.capture() as printed:
        serving.cpu_report(cells)
    row = next(line for line in printed.get().splitlines() if "335.0" in line)
    assert [cell.strip() for cell in row.split("│")[4:9]] == ["335.0", "13.0", "405.0", "+30.0", "+40.0"]


def test_the_median_s_interval_takes_the_order_statistics_the_binomial_law_gives() -> None:
    serving = benchmark()
    values = [float(v) for v in range(24, 0, -1)]
    # 24 rounds: the 7th smallest and 7th largest enclose the median with 97.7 %, the 8th with 93.6 %.
    assert serving.median_interval(values) == (7.0, 18.0)
    assert serving.median_interval(values[:6]) == (19.0, 24.0)  # 6 rounds: only the extremes reach 95 %
    assert serving.median_interval(values[:5]) is None


def test_the_median_s_interval_covers_it_at_least_95_times_in_100_whatever_the_tails() -> None:
    serving = benchmark()
    draws = np.random.default_rng(7).standard_cauchy((2000, 24))  # median 0, heavy tails like bad rounds
    bounds = [serving.median_interval(list(row)) for row in draws]
    covered = sum(low <= 0.0 <= high for low, high in bounds) / len(bounds)
    assert covered >= 0.96  # 97.7 % exactly for 24 values; 2,000 draws put it within ±0.7 %


@pytest.mark.parametrize(
    ("costs", "said"),
    [
        ([0.04, 0.05, 0.06] * 8, "under the 10% target"),
        ([0.14, 0.15, 0.16] * 8, "over the 10% target"),
        ([0.05, 0.09, 0.13] * 8, "not settled against the 10% target"),
    ],
)
def test_the_logging_cost_is_called_met_only_when_its_whole_interval_is_under_the_target(
    costs: list[float], said: str
) -> None:
    serving = benchmark()
    runs = paired_rounds(serving, costs)
    with serving.console.capture() as printed:
        serving.targets(serving.medians(runs), runs)
    assert said in " ".join(printed.get().split())


def test_earlier_runs_are_pooled_into_one_interval_each_keeping_its_own_pairs(tmp_path: Path) -> None:
    serving = benchmark()
    cpu = (serving.CpuUse(300, 0, 360), serving.CpuUse(320, 8, 390))
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    with serving.console.capture():  # two runs of 5 rounds: too few for an interval each
        serving.summarise(paired_rounds(serving, [0.02, 0.12, 0.03, 0.04, 0.05], 1000.0, cpu), first)
        serving.summarise(paired_rounds(serving, [0.06, 0.04, 0.13, 0.05, 0.03], 2000.0, cpu), second)
    runs = serving.pooled([first, second])
    assert sorted({cell.round for cell in runs}) == list(range(10))
    assert {cell.cpu for cell in runs} == set(cpu)
    # Each logged cell is still paired with the logging-off cell of its own run's round.
    costs = sorted(round(paired.cost, 9) for paired in serving.logging_costs(runs)[(1, 16)])
    assert costs == [0.02, 0.03, 0.03, 0.04, 0.04, 0.05, 0.05, 0.06, 0.12, 0.13]
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "serving.py"), "--pooled", str(first), str(second)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # 10 rounds: the 2nd smallest and 2nd largest enclose the median with 97.9 %.
    said = " ".join(done.stdout.split())
    assert "95% interval of the median +3.0% to +12.0%: not settled against the 10% target" in said


def test_a_revision_s_gap_to_this_checkout_is_paired_round_by_round_with_its_interval() -> None:
    serving = benchmark()
    logged, earlier = "usine, log to PostgreSQL", "usine, log to PostgreSQL @ abc123"
    off_rates = [1000.0, 2000.0] * 4  # the machine's spells move both sides, not the gap
    runs = [
        cell
        for round_, off in enumerate(off_rates)
        for cell in (
            serving.Cell(serving.OFF_ROW, 1, 16, off, 2.0, 4.0, 0, round_, "16"),
            serving.Cell(logged, 1, 16, off * 0.92, 2.0, 4.0, 0, round_, "16"),
            serving.Cell(earlier, 1, 16, off * 0.87, 2.0, 4.0, 0, round_, "16"),
        )
    ]
    with serving.console.capture() as printed:
        serving.compare_revisions(serving.medians(runs), runs)
    text = " ".join(printed.get().split())
    assert "it costs +5.0% against this checkout (95% interval of the median +5.0% to +5.0%)" in text


def exposition(outcomes: dict[str, float]) -> str:
    """Prometheus text as a usine server renders its log counter, one sample per outcome."""
    registry = CollectorRegistry()
    counter = Counter(
        "usine_log_records", "Predictions handled by the writer.", ["outcome"], registry=registry
    )
    for outcome, count in outcomes.items():
        counter.labels(outcome).inc(count)
    return generate_latest(registry).decode()


def test_a_run_whose_server_spooled_predictions_is_stopped_not_reported() -> None:
    serving = benchmark()
    metrics = exposition({"written": 5000, "spooled": 3})

    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/metrics" else 404)
            self.end_headers()
            self.wfile.write(metrics.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}{serving.PREDICT}"
        with pytest.raises(serving.SpooledRun, match="spooled 3 predictions"):
            serving.refuse_spooled(url)
        metrics = exposition({"written": 5000})
        serving.refuse_spooled(url)  # stored, none spooled: the run goes on
    finally:
        server.shutdown()
        server.server_close()

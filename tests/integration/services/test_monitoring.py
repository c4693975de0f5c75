"""Monitoring a real trained model over predictions logged in real SQLite and PostgreSQL databases."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from support import credit_rows
from usine.adapters.db.engine import make_engine
from usine.adapters.db.migrate import upgrade
from usine.adapters.db.repository import SqlPredictionLog
from usine.adapters.db.tables import ShadowPredictionRow
from usine.cli.monitor_tables import print_report
from usine.domain.drift import Severity
from usine.domain.errors import EmptyWindow, FeatureMissingFromLog, InvalidWindow
from usine.domain.predictions import Feedback, PredictionRecord, Rejection, ShadowScore
from usine.domain.shifts import parse_shift
from usine.monitoring.report import render_report
from usine.services.models import open_registry
from usine.services.monitoring import MonitoringService, open_monitoring, window_query
from usine.services.simulation import TrafficPlan, replay_credit_traffic
from usine.services.training import TrainingResult
from usine.settings import Settings

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SHIFTED = ("credit_amount*2.5", "age_in_years+15", "purpose=education@0.6")


@pytest.fixture
def settings(trained_home: tuple[Path, TrainingResult], database_url: str) -> Settings:
    return Settings(home=trained_home[0], database_url=database_url, monitoring_chunk_rows=300)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def service(settings: Settings, engine: Engine) -> MonitoringService:
    return open_monitoring(settings, engine)


def replay(
    settings: Settings,
    engine: Engine,
    rows: int,
    shifts: tuple[str, ...] = (),
    seed: int = 0,
    feedback_share: float = 0.0,
) -> None:
    registry = open_registry(settings)
    features = registry.spec("credit", "1").features
    plan = TrafficPlan(
        rows=rows,
        days=3,
        shifts=tuple(parse_shift(s, features) for s in shifts),
        seed=seed,
        feedback_share=feedback_share,
    )
    replay_credit_traffic(registry, SqlPredictionLog(engine), plan, now=NOW)


def test_unshifted_traffic_shows_usage_health_and_performance_but_no_drift(
    settings: Settings, engine: Engine, service: MonitoringService
) -> None:
    replay(settings, engine, rows=1000, feedback_share=0.4)
    report = service.monitor(window_query("credit", "7d", now=NOW))
    assert report.rows == 1000
    assert [(u.version, u.predictions, u.requests) for u in report.usage] == [("1", 1000, 20)]
    assert report.health.latency_ms_p50 is not None
    assert report.health.latency_ms_p99 is not None
    assert report.health.latency_ms_p50 <= report.health.latency_ms_p99
    (version,) = report.versions
    assert not report.drift_detected
    assert [d.feature for d in version.features if d.severity is Severity.DRIFT] == []
    assert len(version.features) == 20
    performance = version.performance
    assert 0.1 < performance.label_coverage < 0.4  # only accepted applicants ever show a label
    assert performance.roc_auc is not None
    assert performance.roc_auc > 0.6
    assert version.estimated_performance.roc_auc is not None
    assert version.labels.labelled == performance.labelled
    assert version.labels.max_delay_hours is not None
    assert version.labels.max_delay_hours <= 72
    assert sum(bucket.rows for bucket in report.timeline) == 1000
    assert report.bucket == "day"


def test_shifted_columns_are_flagged_and_the_others_are_not(
    settings: Settings, engine: Engine, service: MonitoringService
) -> None:
    replay(settings, engine, rows=1500, shifts=SHIFTED, seed=1)
    report = service.monitor(window_query("credit", "7d", now=NOW))
    assert report.drift_detected
    (version,) = report.versions
    drifted = {d.feature for d in version.features if d.severity is Severity.DRIFT}
    assert drifted == {"credit_amount", "age_in_years", "purpose"}
    assert version.features[0].severity is Severity.DRIFT  # sorted by severity


def test_the_window_and_the_version_filter_select_predictions(
    settings: Settings, engine: Engine, service: MonitoringService
) -> None:
    replay(settings, engine, rows=200)
    assert service.monitor(window_query("credit", "7d", version="1", now=NOW)).rows == 200
    with pytest.raises(EmptyWindow, match="version 9"):
        service.monitor(window_query("credit", "7d", version="9", now=NOW))
    with pytest.raises(EmptyWindow, match="no prediction of 'credit'"):
        service.monitor(window_query("credit", "30d", until=(NOW - timedelta(days=10)).isoformat(), now=NOW))


def test_a_window_where_every_request_was_refused_says_why_instead_of_just_empty(
    engine: Engine, service: MonitoringService
) -> None:
    refused = [
        Rejection(NOW - timedelta(hours=hour), status, reason, "bank-app", "credit")
        for hour, status, reason in [
            (1, 422, "invalid-input"),
            (2, 422, "invalid-input"),
            (3, 413, "too-large"),
        ]
    ]
    SqlPredictionLog(engine).add_rejections([*refused, Rejection(NOW, 422, "invalid-input", "x", "claims")])
    with pytest.raises(EmptyWindow) as raised:
        service.monitor(window_query("credit", "1d", now=NOW))
    assert str(raised.value).endswith(
        "3 requests naming it were refused or failed: 2 × 422 invalid-input, 1 × 413 too-large"
    )


def test_a_window_that_cannot_be_read_is_refused() -> None:
    with pytest.raises(InvalidWindow, match="neither a duration"):
        window_query("credit", "last week", now=NOW)
    with pytest.raises(InvalidWindow, match="not after"):
        window_query("credit", "1d", until="2d", now=NOW)


def test_a_feature_missing_from_the_log_is_named(engine: Engine, service: MonitoringService) -> None:
    records = [
        PredictionRecord(
            id=f"00000000-0000-4000-8000-{number:012d}",
            request_id="r",
            model_name="credit",
            model_version="1",
            inputs={"age_in_years": 30},
            score=0.2,
            latency_ms=3.0,
            created_at=NOW - timedelta(hours=1),
        )
        for number in range(3)
    ]
    SqlPredictionLog(engine).add(records)
    with pytest.raises(FeatureMissingFromLog, match="credit_amount"):
        service.monitor(window_query("credit", "1d", now=NOW))


def test_single_class_feedback_gives_no_auc_and_says_why(engine: Engine, service: MonitoringService) -> None:
    records = [
        PredictionRecord(
            id=f"00000000-0000-4000-8000-{number:012d}",
            request_id="r",
            model_name="credit",
            model_version="1",
            inputs=row,
            score=0.1 + number / 100,
            latency_ms=3.0,
            created_at=NOW - timedelta(hours=1),
        )
        for number, row in enumerate(credit_rows(30))
    ]
    log = SqlPredictionLog(engine)
    log.add(records)
    for record in records[:20]:
        log.set_feedback(record.id, Feedback("good", NOW))
    performance = service.monitor(window_query("credit", "1d", now=NOW)).versions[0].performance
    assert (performance.labelled, performance.roc_auc) == (20, None)
    assert performance.unavailable_reason is not None
    assert "one class" in performance.unavailable_reason
    assert performance.brier is not None


def test_champion_and_challenger_are_compared_on_the_records_both_scored(
    engine: Engine, service: MonitoringService, capsys: pytest.CaptureFixture[str]
) -> None:
    champion = [0.1, 0.4, 0.6, 0.8, 0.9, 0.3, 0.5]
    challenger = [0.2, 0.7, 0.5, 0.3, 0.95, None, 0.9]  # the sixth was not scored in shadow
    requests = ["a", "a", "a", "b", "b", "c", "old"]
    labels = ["good", "bad", "bad", "good"]  # "bad" is the positive class
    records = [
        PredictionRecord(
            id=f"00000000-0000-4000-8000-{number:012d}",
            request_id=request,
            model_name="credit",
            model_version="1",
            inputs=row,
            score=score,
            latency_ms=3.0,
            created_at=NOW - (timedelta(days=2) if request == "old" else timedelta(hours=1)),
        )
        for number, (row, score, request) in enumerate(zip(credit_rows(7), champion, requests, strict=True))
    ]
    log = SqlPredictionLog(engine)
    log.add(records)
    log.add_shadow(
        [
            ShadowScore(record.id, "credit", "2", score, record.created_at)
            for record, score in zip(records, challenger, strict=True)
            if score is not None
        ]
    )
    for record, label in zip(records, labels, strict=False):
        log.set_feedback(record.id, Feedback(label, NOW))
    report = service.monitor(window_query("credit", "1d", now=NOW))
    assert [(u.version, u.predictions, u.requests) for u in report.usage] == [("1", 6, 3)]
    assert report.versions[0].performance.labelled == 4
    (pair,) = report.challengers
    assert (pair.champion_version, pair.challenger_version) == ("1", "2")
    assert (pair.requests, pair.predictions) == (2, 5)
    assert pair.decision_agreement == pytest.approx(3 / 5)  # decisions at 0.5 differ on records 2 and 4
    assert pair.mean_absolute_score_difference == pytest.approx((0.1 + 0.3 + 0.1 + 0.5 + 0.05) / 5)
    assert (pair.champion.labelled, pair.challenger.labelled) == (4, 4)
    assert pair.champion.roc_auc == pytest.approx(0.5)
    assert pair.challenger.roc_auc == pytest.approx(1.0)
    assert pair.champion.brier == pytest.approx((0.1**2 + 0.6**2 + 0.4**2 + 0.8**2) / 4)
    assert pair.challenger.brier == pytest.approx((0.2**2 + 0.3**2 + 0.5**2 + 0.3**2) / 4)
    page = render_report(report)
    assert '<table id="challengers">' in page
    assert "60.0 %" in page  # decisions alike
    print_report(report)
    printed = capsys.readouterr().out
    assert "challenger v2 in shadow of v1: 2 requests (5 records) scored by both" in printed
    assert "AUC 0.500 → 1.000" in printed
    log.delete(records[0].id)  # erasure takes the challenger's score with it
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(ShadowPredictionRow)).scalar_one()
    assert stored == 5

"""Tell people how a job ended and when a model drifts: the channels the settings name."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from usine.adapters.notify import Channel, Email, Notification, Webhook, deliver
from usine.domain.drift import Severity
from usine.domain.errors import ConfigurationError
from usine.domain.monitoring import MonitoringReport
from usine.settings import Settings


def channels_for(settings: Settings) -> list[Channel]:
    """The notification channels configured in ``settings`` (none by default).

    Raises:
        ConfigurationError: a webhook or SMTP URL is malformed, or e-mail has no recipient.

    """
    channels: list[Channel] = []
    try:
        if settings.notify_webhook_url.get_secret_value():
            channels.append(Webhook(settings.notify_webhook_url.get_secret_value()))
        if settings.notify_smtp_url:
            channels.append(
                Email(settings.notify_smtp_url, settings.notify_email_from, settings.notify_email_to)
            )
    except ValueError as exc:
        raise ConfigurationError(f"notifications: {exc}") from exc
    return channels


@contextmanager
def notified(channels: list[Channel], subject: str) -> Iterator[dict[str, str]]:
    """Run a job and notify its end: yields a dict the job fills with facts worth reporting.

    Success is notified when the block ends normally; any exception is notified as a failure
    (with its message) and raised again unchanged.
    """
    facts: dict[str, str] = {}
    try:
        yield facts
    except Exception as exc:
        deliver(channels, Notification(subject, succeeded=False, facts={**facts, "error": str(exc)}))
        raise
    deliver(channels, Notification(subject, succeeded=True, facts=facts))


def notify_alerts(channels: list[Channel], report: MonitoringReport) -> list[str]:
    """Alert on a monitoring window that drifted or whose AUC fell below the quality gate.

    Names each drifted feature per version, and each version below the gate with its AUC
    (marked when it is an estimate from the scores alone).

    Returns:
        The channels that failed (nothing is sent, and nothing fails, when nothing is wrong).

    """
    if not report.alert:
        return []
    facts = {
        "window": f"{report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC, {report.rows} rows"
    }
    for version in report.versions:
        drifted = [
            f"{drift.feature} (PSI {drift.psi:.2f})"
            for drift in [*([version.score] if version.score else []), *version.features]
            if drift.severity is Severity.DRIFT
        ]
        if drifted:
            facts[f"version {version.version}"] = ", ".join(drifted)
    for alert in report.performance_alerts:
        kind = "estimated AUC" if alert.estimated else "AUC"
        facts[f"version {alert.version} performance"] = f"{kind} {alert.roc_auc:.3f} < {alert.threshold:.3f}"
    what = " and ".join(
        part
        for part, present in (
            ("drift", report.drift_detected),
            ("performance decay", report.performance_alerts),
        )
        if present
    )
    return deliver(channels, Notification(f"{what} detected on {report.model}", succeeded=False, facts=facts))

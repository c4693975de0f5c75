"""The monitoring report as a page a person reads: a Jinja2 template shipped in the package."""

from __future__ import annotations

import math

from jinja2 import Environment, PackageLoader, select_autoescape

from usine.domain.drift import Severity
from usine.domain.monitoring import MonitoringReport, VersionMonitoring
from usine.monitoring import plots

MAX_FEATURE_PLOTS = 12

_environment = Environment(
    loader=PackageLoader("usine.monitoring", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def number(value: float | None, digits: int = 3) -> str:
    """A value for a person: a dash when it does not exist (never ``nan``)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}f}"


def percent(value: float | None) -> str:
    """A share as a percentage, a dash when it does not exist."""
    return "—" if value is None else f"{100 * value:.1f} %"


_environment.filters["number"] = number
_environment.filters["percent"] = percent


def _version_plots(version: VersionMonitoring) -> dict[str, object]:
    flagged = [d for d in version.features if d.severity is not Severity.STABLE][:MAX_FEATURE_PLOTS]
    return {
        "features": [(drift.feature, plots.distribution(drift)) for drift in flagged],
        "score": plots.distribution(version.score) if version.score else None,
        "reliability": (
            plots.reliability_diagram(version.performance.reliability)
            if version.performance.reliability
            else None
        ),
    }


def render_report(report: MonitoringReport) -> str:
    """The HTML page of ``report``: verdict, tables sorted by severity, and plots inline as SVG."""
    timeline = report.timeline
    return _environment.get_template("report.html.j2").render(
        report=report,
        versions=[(version, _version_plots(version)) for version in report.versions],
        scores_over_time=plots.scores_over_time(timeline) if timeline else None,
        performance_over_time=plots.performance_over_time(timeline) if timeline else None,
    )

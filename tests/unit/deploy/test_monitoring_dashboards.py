"""The Grafana dashboard and Prometheus alert rules shipped for monitoring read the gauges we document."""

import json
import re
from pathlib import Path

import yaml

GRAFANA = Path(__file__).resolve().parents[3] / "deploy" / "grafana"
GAUGES = {
    "usine_drift_psi",
    "usine_drift_distance",
    "usine_drift_share",
    "usine_performance_roc_auc",
    "usine_performance_estimated_roc_auc",
    "usine_performance_label_coverage",
    "usine_feedback_hours_since_last_label",
    "usine_data_missing_share",
}
DOCS = Path(__file__).resolve().parents[3] / "docs" / "monitoring.md"


def metrics_in(expr: str) -> set[str]:
    return set(re.findall(r"\busine_[a-z_]+", expr))


def test_every_alert_rule_reads_a_documented_gauge_and_says_what_to_do() -> None:
    rules = yaml.safe_load((GRAFANA / "usine-alerts.yml").read_text())["groups"][0]["rules"]
    assert len(rules) >= 5
    for rule in rules:
        assert metrics_in(rule["expr"]) <= GAUGES, rule["alert"]
        assert metrics_in(rule["expr"])
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]


def test_the_dashboard_is_valid_json_whose_panels_read_documented_gauges() -> None:
    dashboard = json.loads((GRAFANA / "usine-monitoring-dashboard.json").read_text())
    assert dashboard["uid"] == "usine-monitoring"
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert exprs
    for expr in exprs:
        assert metrics_in(expr) <= GAUGES, expr
    assert {id(panel) for panel in dashboard["panels"]}
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_every_gauge_the_dashboards_read_is_documented() -> None:
    documented = DOCS.read_text()
    for gauge in GAUGES:
        assert gauge in documented, gauge

"""``usine quickstart``: train the reference models, then serve, on embedded defaults."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel

from usine.cli.claims import run_claims_training
from usine.cli.serve import run_server
from usine.cli.train import run_training
from usine.domain.errors import QualityGateFailed
from usine.settings import load_settings

console = Console()


def quickstart() -> None:
    """Train the credit and claims models, register them as champions, and serve."""
    settings = load_settings()
    result = run_training(settings)
    if not result.promoted:
        raise QualityGateFailed(f"version {result.version} did not pass the quality gate; nothing to serve")
    claims = run_claims_training(settings)
    if not claims.promoted:
        raise QualityGateFailed(f"claims version {claims.version} did not pass the quality gate")
    base = f"http://{settings.host}:{settings.port}"
    console.print(
        Panel.fit(
            f"API docs     {base}/docs\n"
            f"models       {base}/1.0.0/models\n"
            f"MLflow UI    MLFLOW_DISABLE_TELEMETRY=true .venv/bin/mlflow ui "
            f"--backend-store-uri {settings.mlflow_tracking_uri} --port 5000\n"
            f"data         {settings.home}",
            title="usine is serving",
        )
    )
    run_server(settings)

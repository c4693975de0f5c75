"""Prometheus exposition of the server's metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from usine.api.deps import SettingsDep
from usine.services.metrics import render_metrics

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(settings: SettingsDep) -> Response:
    """Requests, latency, predictions, scores, batch sizes, log queue and model loads (every worker)."""
    body, media_type = render_metrics(settings.prometheus_multiproc_dir)
    return Response(body, media_type=media_type)

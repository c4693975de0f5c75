from types import SimpleNamespace

import pytest

from usine.api.request_metrics import UNMATCHED, route_template


@pytest.mark.parametrize(
    ("path", "route", "template"),
    [
        ("/1.0.0/predictions/abc-1", "/predictions/{prediction_id}", "/1.0.0/predictions/{prediction_id}"),
        (
            "/1.0.0/models/credit/predictions",
            "/models/{name}/predictions",
            "/1.0.0/models/{name}/predictions",
        ),
        ("/metrics", "/metrics", "/metrics"),
    ],
)
def test_routes_are_labelled_by_their_full_template(path: str, route: str, template: str) -> None:
    assert route_template({"path": path, "route": SimpleNamespace(path=route)}) == template


def test_a_path_no_route_matched_is_one_label() -> None:
    assert route_template({"path": "/wp-admin/setup.php"}) == UNMATCHED

from pathlib import Path

import pytest

from usine.domain.errors import ConfigurationError
from usine.settings import Profile, Settings, load_settings, normalise_database_url


def test_embedded_defaults_live_under_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'usine.db'}"
    assert settings.mlflow_tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert settings.mlflow_artifact_root == (tmp_path / "mlartifacts").as_uri()
    assert settings.uses_embedded_storage


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@db:5432/x", "postgresql+psycopg://u@db:5432/x"),
        ("postgresql://u@db/x", "postgresql+psycopg://u@db/x"),
        ("postgresql+psycopg://u@db/x", "postgresql+psycopg://u@db/x"),
        ("sqlite:///a.db", "sqlite:///a.db"),
    ],
)
def test_database_urls_use_the_shipped_driver(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_settings_come_from_usine_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("USINE_HOME", str(tmp_path))
    monkeypatch.setenv("USINE_PORT", "9001")
    monkeypatch.setenv("USINE_MIN_AUC", "0.8")
    monkeypatch.setenv("USINE_SERVED_MODELS", '["credit", "claims"]')
    settings = load_settings()
    assert (settings.home, settings.port, settings.min_auc) == (tmp_path, 9001, 0.8)
    assert settings.served_models == ["credit", "claims"]


def test_prod_refuses_an_embedded_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("USINE_HOME", str(tmp_path))
    monkeypatch.setenv("USINE_PROFILE", "prod")
    with pytest.raises(ConfigurationError, match="USINE_DATABASE_URL"):
        load_settings()


def test_prod_refuses_an_embedded_mlflow_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USINE_PROFILE", "prod")
    monkeypatch.setenv("USINE_DATABASE_URL", "postgresql://usine@db/usine")
    with pytest.raises(ConfigurationError, match="USINE_MLFLOW_TRACKING_URI"):
        load_settings()


def test_prod_accepts_real_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USINE_PROFILE", "prod")
    monkeypatch.setenv("USINE_DATABASE_URL", "postgresql://usine@db/usine")
    monkeypatch.setenv("USINE_MLFLOW_TRACKING_URI", "http://mlflow:5000")
    settings = load_settings()
    assert settings.profile is Profile.PROD
    assert not settings.uses_embedded_storage


@pytest.mark.parametrize(
    ("variable", "value"), [("USINE_PORT", "eighty"), ("USINE_PROFILE", "qa"), ("USINE_MIN_AUC", "2")]
)
def test_invalid_values_are_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert str(refused.value).startswith(f"invalid setting: {variable}={value!r}: ")
    assert "\n" not in str(refused.value)


def test_a_list_setting_that_is_not_json_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USINE_SERVED_MODELS", "credit,claims")
    with pytest.raises(ConfigurationError, match="served_models") as refused:
        load_settings()
    assert "\n" not in str(refused.value)

"""Start-up: the model checked before it is served, and a registry that is down."""

from __future__ import annotations

import importlib
import threading
from importlib.metadata import version
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from amazon_sentiment.serving import create_app
from amazon_sentiment.settings import Settings
from tests.fixtures.processes import free_port
from tests.fixtures.serving import OTHER_SKLEARN, api_client, local_settings


def _start_and_wait_for_fatal(settings: Settings, timeout: float = 60.0) -> tuple[str, TestClient]:
    gave_up = threading.Event()
    app = create_app(settings, on_fatal=gave_up.set)
    client = TestClient(app)
    client.__enter__()
    assert gave_up.wait(timeout), "start-up never gave up"
    return str(app.state.serving.models.fatal_error), client


def test_version_mismatch_is_refused_naming_both_versions(mismatched_model_dir: Path) -> None:
    message, client = _start_and_wait_for_fatal(local_settings(mismatched_model_dir))
    with client:
        assert f"scikit-learn {OTHER_SKLEARN} (running {version('scikit-learn')})" in message
        assert "AMAZON_SENTIMENT_ALLOW_VERSION_MISMATCH" in message
        assert client.get("/ready").status_code == 503
        assert client.get("/health").status_code == 200
        refused = client.post("/predict", json={"text": "good"})
        assert refused.status_code == 503
        assert "scikit-learn" in refused.json()["message"]


def test_version_mismatch_can_be_allowed(
    mismatched_model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = local_settings(mismatched_model_dir, allow_version_mismatch=True)

    with api_client(settings) as client:
        assert client.post("/predict", json={"text": "good"}).status_code == 200
        assert client.get("/model").json()["logged_versions"]["scikit-learn"] == OTHER_SKLEARN
    assert f"scikit-learn {OTHER_SKLEARN}" in caplog.text


def test_missing_model_folder_is_fatal(tmp_path: Path) -> None:
    message, client = _start_and_wait_for_fatal(local_settings(tmp_path / "nothing-here"))
    with client:
        assert "does not exist" in message
        assert client.get("/ping").status_code == 404


def test_a_folder_without_a_model_is_fatal(tmp_path: Path) -> None:
    message, client = _start_and_wait_for_fatal(local_settings(tmp_path))
    with client:
        assert "no MLmodel file" in message


def test_unreachable_registry_is_retried_until_the_deadline(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # MLflow's own client would retry for minutes; the service's loop is what is tested.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    importlib.import_module("mlflow")  # now, so that importing it does not eat the deadline
    settings = Settings(
        mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}",
        registry_deadline_seconds=4.0,
        reload_interval_seconds=0,
    )
    gave_up = threading.Event()
    app = create_app(settings, on_fatal=gave_up.set)

    with TestClient(app) as client:
        reasons = []
        while not gave_up.wait(0.1):
            not_ready = client.get("/ready")
            assert not_ready.status_code == 503
            reasons.append(not_ready.json()["reason"])
        assert client.get("/health").status_code == 200
    assert any("cannot reach the model registry" in reason for reason in reasons), reasons

    message = app.state.serving.models.fatal_error
    assert "cannot reach the model registry" in message
    assert "gave up after 4 s" in message
    assert caplog.text.count("retrying in") >= 2

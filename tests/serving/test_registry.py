"""Serving from a real MLflow registry: the alias resolved, then moved and reloaded."""

from __future__ import annotations

from fastapi.testclient import TestClient
from mlflow import MlflowClient
from sklearn.pipeline import Pipeline

from amazon_sentiment.serving import create_app
from amazon_sentiment.settings import Settings
from tests.fixtures.processes import wait_until
from tests.fixtures.serving import (
    OTHER_SKLEARN,
    api_client,
    fit_sentiment_model,
    register_model,
    wait_ready,
)

ADMIN_KEY = "admin-key-for-reload"


def test_alias_is_served_and_moves_on_admin_reload(
    mlflow_server: str, sentiment_model: Pipeline
) -> None:
    name = "reload_test_model"
    first = register_model(mlflow_server, sentiment_model, name=name)
    settings = Settings(
        mlflow_tracking_uri=mlflow_server,
        model_name=name,
        reload_interval_seconds=0,
        admin_api_key=ADMIN_KEY,
    )
    admin = {"X-API-Key": ADMIN_KEY}

    with api_client(settings) as client:
        card = client.get("/model").json()
        assert (card["name"], card["version"], card["alias"]) == (name, first, "production")
        assert card["run_id"]
        assert card["training_metrics"] == {"test_accuracy": 0.9}
        assert client.post("/predict", json={"text": "good"}).json()["model_version"] == first

        assert client.post("/admin/reload", headers=admin).json()["outcome"] == "unchanged"

        second = register_model(mlflow_server, fit_sentiment_model(seed=1, c=1.0), name=name)
        reloaded = client.post("/admin/reload", headers=admin).json()
        assert reloaded == {
            "outcome": "loaded",
            "model_version": second,
            "previous_version": first,
            "error": None,
        }
        assert client.post("/predict", json={"text": "good"}).json()["model_version"] == second

        mismatched = register_model(
            mlflow_server, sentiment_model, name=name, **{"scikit-learn": OTHER_SKLEARN}
        )
        failed = client.post("/admin/reload", headers=admin)
        assert failed.status_code == 409
        assert failed.json()["model_version"] == second
        assert f"scikit-learn {OTHER_SKLEARN}" in failed.json()["error"]

        card = client.get("/model").json()
        assert card["version"] == second
        assert card["last_reload"]["outcome"] == "failed"
        assert card["last_reload"]["version"] == mismatched
        assert client.post("/predict", json={"text": "good"}).json()["model_version"] == second
        metrics = client.get("/metrics").text.splitlines()
        assert "amazon_sentiment_model_last_reload_failed 1.0" in metrics
        assert 'amazon_sentiment_model_reloads_total{outcome="failed"} 1.0' in metrics
        assert f"amazon_sentiment_model_version {float(second)}" in metrics


def test_a_model_promoted_after_start_up_is_picked_up(
    mlflow_server: str, sentiment_model: Pipeline
) -> None:
    name = "promoted_later_model"
    version = register_model(mlflow_server, sentiment_model, name=name, alias=None)
    settings = Settings(
        mlflow_tracking_uri=mlflow_server,
        model_name=name,
        reload_interval_seconds=0,
        registry_deadline_seconds=300,
    )

    with TestClient(create_app(settings)) as client:
        wait_until(
            lambda: "alias 'production'" in str(client.get("/ready").json()["reason"]),
            timeout=60,
            what="readiness naming the missing alias",
        )
        assert client.get("/ready").status_code == 503
        MlflowClient(mlflow_server).set_registered_model_alias(name, "production", version)
        wait_ready(client)
        assert client.post("/predict", json={"text": "good"}).json()["model_version"] == version

"""The production topology for real: training records runs and registry rows in
PostgreSQL and model files in S3, the API loads @production through the MLflow server,
and a rollback moves the alias back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.deploy.conftest import (
    ARTIFACTS_PREFIX,
    ProductionRegistry,
    TrainedModel,
    client_env,
)
from tests.fixtures.processes import free_port, http_ok, running, wait_until
from tests.fixtures.serving import fit_sentiment_model, register_model

pytestmark = pytest.mark.slow

API_STARTUP_SECONDS = 300.0


def test_training_records_runs_in_postgres_and_model_files_in_s3(
    production_registry: ProductionRegistry, trained_production_model: TrainedModel
) -> None:
    connection = production_registry.postgres.connect(production_registry.database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT version FROM registered_model_aliases WHERE name = %s AND alias = %s",
                (trained_production_model.name, "production"),
            )
            aliased = cursor.fetchall()
            # The run that logged the promoted version, and the grid's other runs.
            cursor.execute(
                "SELECT runs.status, experiments.name FROM model_versions"
                " JOIN runs ON runs.run_uuid = model_versions.run_id"
                " JOIN experiments ON experiments.experiment_id = runs.experiment_id"
                " WHERE model_versions.name = %s AND model_versions.version = %s",
                (trained_production_model.name, int(trained_production_model.version)),
            )
            source_run = cursor.fetchall()
            cursor.execute(
                "SELECT count(*) FROM runs JOIN experiments USING (experiment_id)"
                " WHERE experiments.name = %s AND runs.status = 'FINISHED'",
                (trained_production_model.experiment_name,),
            )
            (finished_runs,) = cursor.fetchone()
    finally:
        connection.close()
    assert aliased == [(int(trained_production_model.version),)]
    assert source_run == [("FINISHED", trained_production_model.experiment_name)]
    # A grid: a parent run and several candidates.
    assert finished_runs >= 3

    listing = production_registry.s3.client().list_objects_v2(
        Bucket=production_registry.bucket, Prefix=f"{ARTIFACTS_PREFIX}/"
    )
    stored = {Path(item["Key"]).name for item in listing.get("Contents", [])}
    # The skops file and the requirements the serving start-up check reads.
    assert {"MLmodel", "model.skops", "requirements.txt"} <= stored


def test_api_serves_the_trained_model_through_the_mlflow_server(
    production_registry: ProductionRegistry,
    trained_production_model: TrainedModel,
    tmp_path: Path,
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = client_env(
        production_registry.tracking_uri,
        AMAZON_SENTIMENT_MODEL_NAME=trained_production_model.name,
        AMAZON_SENTIMENT_RELOAD_INTERVAL_SECONDS="0",
    )
    args = ["amazon-sentiment", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(args, log_path=tmp_path / "serve.log", env=env, cwd=tmp_path) as process:
        wait_until(
            http_ok(f"{base_url}/ready"),
            timeout=API_STARTUP_SECONDS,
            what=f"amazon-sentiment serve (log: {tmp_path / 'serve.log'})",
            process=process,
        )
        response = httpx.post(
            f"{base_url}/predict",
            json={"texts": ["Terrible, broke after one day.", "Excellent sound, love it."]},
            timeout=10.0,
        )
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [prediction["label"] for prediction in predictions] == ["negative", "positive"]
    assert {(p["model_name"], p["model_version"]) for p in predictions} == {
        (trained_production_model.name, trained_production_model.version)
    }


def test_rolling_back_moves_the_alias_to_the_earlier_version(
    production_registry: ProductionRegistry, tmp_path: Path
) -> None:
    """docs/deploy.md's rollback: `amazon-sentiment promote --version N` against the server."""
    from mlflow import MlflowClient

    name = "rollback_drill_model"
    first = register_model(production_registry.tracking_uri, fit_sentiment_model(seed=1), name=name)
    second = register_model(
        production_registry.tracking_uri, fit_sentiment_model(seed=2), name=name
    )
    client = MlflowClient(tracking_uri=production_registry.tracking_uri)
    assert client.get_model_version_by_alias(name, "production").version == second

    env = client_env(production_registry.tracking_uri, AMAZON_SENTIMENT_MODEL_NAME=name)
    result = subprocess.run(
        ["amazon-sentiment", "promote", "--version", first],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert client.get_model_version_by_alias(name, "production").version == first

"""Training against real MLflow backends: a `mlflow server` process and the embedded
SQLite default, with registration, promotion, challenger, --force and rollback."""

from __future__ import annotations

import hashlib
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from amazon_sentiment.errors import TrackingError
from amazon_sentiment.model import TEXT_COLUMN
from amazon_sentiment.registry import load_sklearn_model
from amazon_sentiment.settings import Settings
from amazon_sentiment.text import CLEANING_RULES_VERSION
from amazon_sentiment.training.evaluation import PLOT_NAMES
from amazon_sentiment.training.job import TrainingOutcome, run_training
from tests.fixtures.processes import VENV_BIN, env_with_venv, free_port
from tests.training.support import TINY_GRID, WEAK_GRID, small_table, write_golden_sample

REVIEWS = ["great product", "awful, broke at once", "ok I guess", "love it", "waste of money"]


def server_settings(uri: str, model_name: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        mlflow_tracking_uri=uri, model_name=model_name, experiment_name=f"tests-{model_name}"
    )


def train(
    settings: Settings, golden_sample: Path, grid: Path, *, force: bool = False
) -> TrainingOutcome:
    return run_training(
        settings, golden_sample_path=str(golden_sample), config_path=str(grid), force=force
    )


def cli(*args: str, tracking_uri: str, model_name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "amazon-sentiment"), *args],
        env=env_with_venv(MLFLOW_TRACKING_URI=tracking_uri, AMAZON_SENTIMENT_MODEL_NAME=model_name),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def first_training(mlflow_server: str, golden_sample: Path) -> TrainingOutcome:
    return train(server_settings(mlflow_server, "tracked_model"), golden_sample, TINY_GRID)


def test_first_version_is_registered_and_takes_production(
    mlflow_server: str, golden_sample: Path, first_training: TrainingOutcome
) -> None:
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)

    assert first_training.alias == "production"
    assert client.get_model_version_by_alias("tracked_model", "production").version == "1"
    tags = client.get_model_version("tracked_model", "1").tags
    manifest_digest = hashlib.sha256((golden_sample / "_manifest.json").read_bytes()).hexdigest()
    assert tags["golden_sample_digest"] == manifest_digest
    assert tags["cleaning_rules_version"] == CLEANING_RULES_VERSION
    assert tags["scikit-learn_version"] == __import__("sklearn").__version__
    assert "git_commit" in tags
    assert float(tags["test_f1"]) == pytest.approx(first_training.test_metrics.f1, abs=1e-6)


def test_every_grid_run_is_a_nested_run_with_its_metrics_plots_and_dataset(
    mlflow_server: str, first_training: TrainingOutcome
) -> None:
    client = MlflowClient(tracking_uri=mlflow_server)

    children = client.search_runs(
        [first_training.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{first_training.parent_run_id}'",
    )

    assert len(children) == first_training.run_count == 2
    for child in children:
        for metric in ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"):
            assert 0.0 <= child.data.metrics[f"validation_{metric}"] <= 100.0
        assert child.data.metrics["vocabulary_size"] > 1000
        assert child.data.metrics["model_size_bytes"] > 0
        assert child.data.params["vectorizer.ngram_range"] == "(1, 2)"
        plots = {f.path for f in client.list_artifacts(child.info.run_id, "plots/validation")}
        assert plots == {f"plots/validation/{name}" for name in PLOT_NAMES}
        assert [d.dataset.name for d in child.inputs.dataset_inputs] == ["golden_sample"]
    reused = sorted(child.data.tags["vectorizer_reused"] for child in children)
    assert reused == ["false", "true"]
    parent = client.get_run(first_training.parent_run_id)
    assert parent.data.metrics["vectorizer_reuse_seconds_saved"] > 0.0
    assert parent.data.metrics["test_f1"] == pytest.approx(first_training.test_metrics.f1)
    best = client.get_run(first_training.best_run_id)
    assert "test_accuracy" in best.data.metrics
    assert best.data.metrics["model_load_seconds"] > 0.0


def test_registered_model_returns_one_prediction_per_row_in_every_flavour(
    mlflow_server: str, first_training: TrainingOutcome, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MLflow 3.17 refuses to load any scikit-learn model without this, even skops ones.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    mlflow.set_tracking_uri(mlflow_server)
    mlflow.set_registry_uri(mlflow_server)
    uri = "models:/tracked_model@production"
    reviews = pd.DataFrame({TEXT_COLUMN: REVIEWS})

    pyfunc_predictions = mlflow.pyfunc.load_model(uri).predict(reviews)
    native_predictions = mlflow.sklearn.load_model(uri).predict(reviews)
    own_predictions = load_sklearn_model(uri, tracking_uri=mlflow_server).predict(reviews)

    assert len(pyfunc_predictions) == len(REVIEWS)
    assert len(native_predictions) == len(REVIEWS)
    assert list(pyfunc_predictions) == list(native_predictions) == list(own_predictions)
    assert set(native_predictions) == {0, 1}


def test_worse_model_becomes_challenger_then_force_and_rollback(
    mlflow_server: str, golden_sample: Path, first_training: TrainingOutcome
) -> None:
    settings = server_settings(mlflow_server, "tracked_model")
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)

    weaker = train(settings, golden_sample, WEAK_GRID)

    assert weaker.test_metrics.f1 < first_training.test_metrics.f1
    assert (weaker.version, weaker.alias) == ("2", "challenger")
    assert "worse" in weaker.reason
    assert client.get_model_version_by_alias("tracked_model", "production").version == "1"
    assert client.get_model_version_by_alias("tracked_model", "challenger").version == "2"

    forced = train(settings, golden_sample, WEAK_GRID, force=True)

    assert (forced.version, forced.alias) == ("3", "production")
    assert client.get_model_version_by_alias("tracked_model", "production").version == "3"

    rollback = cli(
        "promote", "--version", "1", tracking_uri=mlflow_server, model_name="tracked_model"
    )

    assert rollback.returncode == 0, rollback.stderr
    assert "version 1 (was 3)" in rollback.stdout
    assert client.get_model_version_by_alias("tracked_model", "production").version == "1"


def test_promoting_a_missing_version_fails_cleanly(
    mlflow_server: str, first_training: TrainingOutcome
) -> None:
    result = cli(
        "promote", "--version", "99", tracking_uri=mlflow_server, model_name="tracked_model"
    )

    assert result.returncode != 0
    assert "has no version 99" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback port that accepts connections and never answers: a hung server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


# pytest-timeout turns a hang (MLflow's default retries last minutes) into a failure.
@pytest.mark.timeout(180)
def test_unreachable_or_hung_server_fails_with_one_message(
    tmp_path: Path, silent_server: str
) -> None:
    # The server is checked before the data is read; any valid golden sample will do.
    golden_sample = write_golden_sample(tmp_path / "golden", small_table())
    dead_uri = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(TrackingError, match="unreachable"):
        train(server_settings(dead_uri, "never_registered"), golden_sample, TINY_GRID)
    with pytest.raises(TrackingError, match=r"unreachable.*Timeout"):
        train(server_settings(silent_server, "never_registered"), golden_sample, TINY_GRID)

    result = cli(
        "train",
        "--golden-sample",
        str(golden_sample),
        "--config",
        str(TINY_GRID),
        tracking_uri=dead_uri,
        model_name="never_registered",
    )
    assert result.returncode != 0
    assert "unreachable" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--golden-sample", "/nonexistent/golden"), "does not exist"),
        (("--config", "tests/training/absent.yaml"), "absent.yaml does not exist"),
    ],
)
def test_cli_bad_input_exits_non_zero_with_one_message(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    golden_sample = write_golden_sample(tmp_path / "golden", small_table())
    defaults = {"--golden-sample": str(golden_sample), "--config": str(TINY_GRID)}
    given = dict(zip(args[::2], args[1::2], strict=True))
    options = [item for pair in (defaults | given).items() for item in pair]

    result = cli("train", *options, tracking_uri=f"sqlite:///{tmp_path / 'm.db'}", model_name="m")

    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_embedded_sqlite_default_registers_without_a_server(
    golden_sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("MLFLOW_TRACKING_URI", "AMAZON_SENTIMENT_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()  # type: ignore[call-arg]
    assert settings.mlflow_tracking_uri == "sqlite:///artifacts/mlflow.db"

    outcome = train(settings, golden_sample, TINY_GRID)

    assert (outcome.version, outcome.alias) == ("1", "production")
    assert (tmp_path / "artifacts" / "mlflow.db").is_file()
    logged_models = list((tmp_path / "artifacts" / "mlartifacts").rglob("model.skops"))
    assert len(logged_models) == 1
    model = load_sklearn_model(
        "models:/amazon_sentiment_model@production", tracking_uri=settings.mlflow_tracking_uri
    )
    assert len(model.predict(REVIEWS)) == len(REVIEWS)

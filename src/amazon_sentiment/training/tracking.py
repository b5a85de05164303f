"""Connecting to MLflow: the embedded SQLite store or a tracking server.

Nothing here runs at import. :func:`connect` checks a server answers before any work
starts (so a wrong URI fails in seconds, not after the grid), makes the local store's
folders, and points MLflow's fluent API at the URI for the current command.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import httpx

from amazon_sentiment.errors import ConfigError, TrackingError
from amazon_sentiment.settings import Settings

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 5.0

# MLflow retries a failed request for minutes by default; an unreachable server must
# fail within a bounded time. Users can still raise these through the environment.
_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "120",
}


def is_server_uri(uri: str) -> bool:
    return urlparse(uri).scheme in {"http", "https"}


def is_local_store(uri: str) -> bool:
    """A SQLite file or a plain folder on this machine (where we choose artifact folders)."""
    scheme = urlparse(uri).scheme
    return scheme in {"", "file", "sqlite"}


def connect(settings: Settings) -> MlflowClient:
    """A client for the configured tracking URI; MLflow's fluent API then uses it too."""
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = settings.mlflow_tracking_uri
    if not uri.strip():
        raise ConfigError(
            "the MLflow tracking URI is empty (MLFLOW_TRACKING_URI set to nothing?); "
            "unset it for the embedded default or give a server URL"
        )
    if is_server_uri(uri):
        for name, value in _HTTP_DEFAULTS.items():
            os.environ.setdefault(name, value)
        check_server(uri)
    else:
        _make_local_store_folders(uri)
    with tracking_errors(uri):
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextmanager
def tracking_errors(uri: str) -> Iterator[None]:
    """Turn MLflow's failures (store refused, server error mid-run) into one clear line."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as error:
        raise TrackingError(f"MLflow at {uri} failed: {error.message}") from error


def check_server(uri: str, *, timeout: float = HEALTH_TIMEOUT_SECONDS) -> None:
    """Raise TrackingError unless ``<uri>/health`` answers 200 within ``timeout`` seconds."""
    health_url = f"{uri.rstrip('/')}/health"
    try:
        response = httpx.get(health_url, timeout=timeout)
    except httpx.HTTPError as error:
        raise TrackingError(
            f"MLflow tracking server {uri} is unreachable ({type(error).__name__}: {error}); "
            "start it or point MLFLOW_TRACKING_URI at a running server"
        ) from None
    if response.status_code != 200:
        raise TrackingError(
            f"MLflow tracking server {uri} answered {response.status_code} on /health; "
            "is MLFLOW_TRACKING_URI the server's address?"
        )


def ensure_experiment(client: MlflowClient, settings: Settings) -> str:
    """The experiment's id, creating it (with our artifact folder, if local) when missing."""
    experiment = client.get_experiment_by_name(settings.experiment_name)
    if experiment is not None:
        return str(experiment.experiment_id)
    artifact_location = None
    if is_local_store(settings.mlflow_tracking_uri):
        artifact_root = Path(settings.mlflow_artifact_root).resolve()
        artifact_root.mkdir(parents=True, exist_ok=True)
        artifact_location = artifact_root.as_uri()
    log.info("creating MLflow experiment %r", settings.experiment_name)
    return str(client.create_experiment(settings.experiment_name, artifact_location))


def _make_local_store_folders(uri: str) -> None:
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        # sqlite:///relative/file.db and sqlite:////absolute/file.db
        database = uri.removeprefix("sqlite:///")
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    elif parsed.scheme in {"", "file"}:
        Path(parsed.path or uri).mkdir(parents=True, exist_ok=True)

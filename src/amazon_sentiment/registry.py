"""Loading a logged scikit-learn model safely, for training, serving and tests alike.

MLflow 3.17 refuses to load any scikit-learn model unless pickle deserialization is
allowed process-wide, and would trust the list of types stored beside the model. Here
the skops file is read directly, trusting only :data:`SKOPS_TRUSTED_TYPES` from this
code, and any model not saved with skops is refused.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml

from amazon_sentiment.errors import PipelineError, TrackingError
from amazon_sentiment.model import SKOPS_TRUSTED_TYPES


class ModelLoadError(PipelineError):
    """A logged model is missing, not saved with skops, or holds untrusted types."""


def load_sklearn_model(model_uri_or_dir: str | Path, *, tracking_uri: str | None = None) -> Any:
    """The fitted pipeline of an MLflow model: a local model folder or any model URI.

    ``models:/name@alias``, ``models:/name/3``, ``models:/m-<id>`` and ``runs:/`` URIs are
    downloaded first (from ``tracking_uri``, or MLflow's current one).
    """
    local = Path(model_uri_or_dir)
    if local.is_dir():
        return _load_from_folder(local)
    from mlflow.artifacts import download_artifacts
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory(prefix="amazon-sentiment-model-") as scratch:
        try:
            folder = download_artifacts(
                artifact_uri=str(model_uri_or_dir),
                dst_path=scratch,
                tracking_uri=tracking_uri,
                registry_uri=tracking_uri,
            )
        except MlflowException as error:
            raise TrackingError(f"cannot fetch model {model_uri_or_dir}: {error.message}") from None
        return _load_from_folder(Path(folder))


def model_folder_bytes(folder: Path) -> int:
    """Size on disk of a model folder, every file counted."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _load_from_folder(folder: Path) -> Any:
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    mlmodel_path = folder / "MLmodel"
    if not mlmodel_path.is_file():
        raise ModelLoadError(f"{folder} is not an MLflow model folder: it has no MLmodel file")
    description = yaml.safe_load(mlmodel_path.read_text(encoding="utf-8")) or {}
    flavor = (description.get("flavors") or {}).get("sklearn")
    if not flavor:
        raise ModelLoadError(f"model {folder} has no scikit-learn flavor")
    serialization = flavor.get("serialization_format")
    if serialization != "skops":
        raise ModelLoadError(
            f"model {folder} is saved as {serialization!r}; only skops models are loaded, "
            "since pickle can run arbitrary code"
        )
    model_file = folder / str(flavor.get("pickled_model", "model.skops"))
    try:
        return skops.io.load(model_file, trusted=SKOPS_TRUSTED_TYPES)
    except UntrustedTypesFoundException as error:
        raise ModelLoadError(
            f"model {folder} holds types this code does not trust: {error}"
        ) from None
    except FileNotFoundError:
        raise ModelLoadError(f"model {folder} lacks its file {model_file.name}") from None

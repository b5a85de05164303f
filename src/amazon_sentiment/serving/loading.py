"""Finding, checking and loading the model the service answers with.

The registry tells *which* version the alias points at; the artifacts say *how* it was
built. A model logged with another scikit-learn, MLflow or Python minor than the one
running here is refused (unless settings allow it), because a skops file read by a
different scikit-learn may load and still predict differently.
"""

from __future__ import annotations

import logging
import re
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import yaml
from sklearn.pipeline import Pipeline

from amazon_sentiment.errors import TrackingError
from amazon_sentiment.model import LABELS
from amazon_sentiment.registry import ModelLoadError, load_sklearn_model
from amazon_sentiment.settings import Settings

log = logging.getLogger(__name__)

#: Libraries whose logged version must equal the running one (pip names).
CHECKED_LIBRARIES = ("scikit-learn", "mlflow")

_PINNED = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)")


class ModelNotFoundError(ModelLoadError):
    """The registry has no such model or alias (yet): worth asking again later."""


class VersionMismatchError(ModelLoadError):
    """The model was logged with library versions other than the running ones."""


@dataclass(frozen=True)
class ModelRef:
    """Which model to load: a registry version, or a URI given in settings."""

    uri: str
    name: str
    version: str | None = None
    alias: str | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to answer; never changed after it is built, only replaced whole."""

    ref: ModelRef
    pipeline: Pipeline
    labels: tuple[str, ...]
    class_values: tuple[Any, ...]
    feature_names: np.ndarray
    logged_versions: dict[str, str]
    loaded_at: datetime
    training_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def version_label(self) -> str:
        return self.ref.version or "local"

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, one row per text, columns in the order of ``labels``."""
        probabilities: np.ndarray = self.pipeline.predict_proba(texts)
        return probabilities


def running_versions() -> dict[str, str]:
    """Versions of the checked libraries and Python in this process."""
    found = {"python": f"{sys.version_info.major}.{sys.version_info.minor}"}
    for library in (*CHECKED_LIBRARIES, "skops"):
        try:
            found[library] = version(library)
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            found[library] = "not installed"
    return found


def logged_versions(model_dir: Path) -> dict[str, str]:
    """Versions the model was logged with: pins in requirements.txt, then MLmodel."""
    mlmodel = _read_mlmodel(model_dir)
    logged: dict[str, str] = {}
    requirements = model_dir / "requirements.txt"
    if requirements.is_file():
        for line in requirements.read_text(encoding="utf-8").splitlines():
            match = _PINNED.match(line)
            if match:
                logged[_normalise(match.group(1))] = match.group(2)
    flavors = mlmodel.get("flavors", {})
    sklearn_version = flavors.get("sklearn", {}).get("sklearn_version")
    if sklearn_version and "scikit-learn" not in logged:
        logged["scikit-learn"] = str(sklearn_version)
    if mlmodel.get("mlflow_version") and "mlflow" not in logged:
        logged["mlflow"] = str(mlmodel["mlflow_version"])
    python_version = flavors.get("python_function", {}).get("python_version")
    if python_version is None:
        python_version = _python_from_env(model_dir / "python_env.yaml")
    if python_version:
        logged["python"] = ".".join(str(python_version).split(".")[:2])
    return logged


def check_versions(
    ref: ModelRef, logged: dict[str, str], running: dict[str, str], *, allow_mismatch: bool
) -> None:
    """Refuse (or warn about) a model logged with other library versions."""
    mismatches = [
        f"{library} {logged[library]} (running {running[library]})"
        for library in ("python", *CHECKED_LIBRARIES)
        if library in logged and logged[library] != running.get(library)
    ]
    unknown = [library for library in ("python", *CHECKED_LIBRARIES) if library not in logged]
    if unknown:
        log.warning(
            "model %s does not record the version of %s; cannot check it",
            _describe(ref),
            ", ".join(unknown),
        )
    if not mismatches:
        return
    message = f"model {_describe(ref)} was logged with " + ", ".join(mismatches)
    if allow_mismatch:
        log.warning("%s; loading anyway because allow_version_mismatch is set", message)
        return
    raise VersionMismatchError(
        f"{message}; refusing to load it. Retrain it in this environment, or set "
        "AMAZON_SENTIMENT_ALLOW_VERSION_MISMATCH=true to serve it with a warning."
    )


def resolve_ref(settings: Settings) -> ModelRef:
    """The model to serve: the registry alias, or ``settings.model_uri`` if given."""
    name: str = settings.model_name
    alias: str | None = settings.model_alias
    version: str | None = None
    if settings.model_uri:
        registered = _registered_model_parts(settings.model_uri)
        if registered is None:
            return ModelRef(uri=settings.model_uri, name=settings.model_name)
        name, alias, version = registered
    from mlflow.exceptions import MlflowException

    client = _client(settings)
    wanted = f"alias {alias!r}" if version is None else f"version {version}"
    try:
        if version is None:
            assert alias is not None
            version_info = client.get_model_version_by_alias(name, alias)
        else:
            version_info = client.get_model_version(name, version)
    except MlflowException as error:
        if _is_not_found(error):
            raise ModelNotFoundError(
                f"the registry has no model {name!r} with {wanted}: train and promote one "
                "first (amazon-sentiment train)"
            ) from error
        raise TrackingError(f"cannot reach the model registry: {_short(error)}") from error
    except OSError as error:
        raise TrackingError(f"cannot reach the model registry: {_short(error)}") from error
    return ModelRef(
        uri=f"models:/{name}/{version_info.version}",
        name=name,
        version=str(version_info.version),
        alias=alias,
        run_id=version_info.run_id,
    )


def _registered_model_parts(uri: str) -> tuple[str, str | None, str | None] | None:
    """``models:/name@alias`` or ``models:/name/3`` -> (name, alias, version); else None."""
    if not uri.startswith("models:/"):
        return None
    path = uri.removeprefix("models:/").strip("/")
    if "@" in path:
        name, alias = path.split("@", 1)
        return name, alias, None
    if "/" in path:
        name, version = path.split("/", 1)
        return name, None, version
    return None  # a logged model id (models:/m-...): downloaded as it is


def _client(settings: Settings) -> Any:
    from mlflow import MlflowClient

    uri = settings.mlflow_tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def load_model(ref: ModelRef, settings: Settings) -> LoadedModel:
    """Download, check and deserialise one model version."""
    with tempfile.TemporaryDirectory(prefix="amazon-sentiment-model-") as download_dir:
        model_dir = _local_model_dir(ref, settings, Path(download_dir))
        logged = logged_versions(model_dir)
        check_versions(
            ref, logged, running_versions(), allow_mismatch=settings.allow_version_mismatch
        )
        # Versions are checked first: the file is deserialised only once it is known to
        # match this scikit-learn (with our own list of trusted types).
        pipeline = load_sklearn_model(model_dir)
    labels, class_values = _labels(pipeline, ref)
    return LoadedModel(
        ref=ref,
        pipeline=pipeline,
        labels=labels,
        class_values=class_values,
        feature_names=pipeline.named_steps["tfidf"].get_feature_names_out(),
        logged_versions=logged,
        loaded_at=datetime.now(UTC),
        training_metrics=_training_metrics(ref, settings),
    )


def _local_model_dir(ref: ModelRef, settings: Settings, download_dir: Path) -> Path:
    parsed = urlparse(ref.uri)
    if parsed.scheme in ("", "file"):
        local = Path(parsed.path if parsed.scheme else ref.uri)
        if not local.is_dir():
            raise ModelLoadError(f"model folder {local} does not exist")
        return local
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    try:
        artifact_uri = ref.uri
        if ref.version is not None:
            # Asked of our own client: MLflow resolves models:/ URIs against its global
            # registry URI, whatever registry_uri it is given.
            artifact_uri = _client(settings).get_model_version_download_uri(ref.name, ref.version)
        return Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=artifact_uri,
                dst_path=str(download_dir),
                tracking_uri=settings.mlflow_tracking_uri,
                # Else models:/ URIs are looked up in MLflow's default registry.
                registry_uri=settings.mlflow_tracking_uri,
            )
        )
    except MlflowException as error:
        if _is_not_found(error):
            raise ModelNotFoundError(
                f"model {_describe(ref)} not found: {_short(error)}"
            ) from error
        raise TrackingError(f"cannot download model {_describe(ref)}: {_short(error)}") from error
    except OSError as error:
        raise ModelLoadError(f"cannot read model {_describe(ref)}: {error}") from error


def _read_mlmodel(model_dir: Path) -> dict[str, Any]:
    path = model_dir / "MLmodel"
    if not path.is_file():
        raise ModelLoadError(f"{model_dir} is not an MLflow model: it has no MLmodel file")
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(content, dict):
        raise ModelLoadError(f"{path} is not a YAML mapping")
    return content


def _labels(pipeline: Any, ref: ModelRef) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    if not isinstance(pipeline, Pipeline) or not {"tfidf", "classifier"} <= set(
        pipeline.named_steps
    ):
        raise ModelLoadError(
            f"model {_describe(ref)} is not the text -> tfidf -> classifier pipeline"
        )
    class_values = tuple(pipeline.named_steps["classifier"].classes_.tolist())
    if all(isinstance(value, str) for value in class_values):
        labels = tuple(str(value) for value in class_values)
    else:
        # Integer classes are indexes into LABELS (0 negative, 1 positive).
        labels = tuple(LABELS[int(value)] for value in class_values)
    if sorted(labels) != sorted(LABELS):
        raise ModelLoadError(
            f"model {_describe(ref)} predicts {list(labels)}, expected {list(LABELS)}"
        )
    return labels, class_values


def _training_metrics(ref: ModelRef, settings: Settings) -> dict[str, float]:
    if ref.run_id is None:
        return {}
    from mlflow.exceptions import MlflowException

    try:
        run = _client(settings).get_run(ref.run_id)
    except MlflowException as error:
        log.warning("cannot read the metrics of run %s: %s", ref.run_id, _short(error))
        return {}
    return dict(run.data.metrics)


def _python_from_env(path: Path) -> str | None:
    if not path.is_file():
        return None
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    return str(content["python"]) if isinstance(content, dict) and "python" in content else None


def _normalise(package: str) -> str:
    return re.sub(r"[-_.]+", "-", package).lower()


def _is_not_found(error: Exception) -> bool:
    code = getattr(error, "error_code", "")
    # A missing alias comes back as INVALID_PARAMETER_VALUE "... alias ... not found".
    return code in {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"} or (
        code == "INVALID_PARAMETER_VALUE" and "not found" in str(error)
    )


def _describe(ref: ModelRef) -> str:
    if ref.version is not None:
        return f"{ref.name} version {ref.version}"
    return ref.uri


def _short(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__

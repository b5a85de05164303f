"""Stage 2 end to end: grid search, logging, selection, registration, promotion.

Order matters for "nothing half-done": the winner's model is logged and loaded back
before it is registered, and the alias moves only after the loaded model was scored on
the test split. An interruption at any point leaves, at worst, a run marked FAILED or a
registered version without an alias, never an alias on a model that was not evaluated.
"""

from __future__ import annotations

import logging
import platform
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amazon_sentiment.model import SKOPS_TRUSTED_TYPES, TEXT_COLUMN, build_pipeline
from amazon_sentiment.registry import load_sklearn_model, model_folder_bytes
from amazon_sentiment.settings import Settings
from amazon_sentiment.text import CLEANING_RULES_VERSION
from amazon_sentiment.training.config import TrainConfig, load_train_config
from amazon_sentiment.training.evaluation import (
    ClassificationMetrics,
    evaluate,
    is_better,
    write_plots,
)
from amazon_sentiment.training.golden_sample import GoldenSample, read_golden_sample
from amazon_sentiment.training.grid import Candidate, search_grid
from amazon_sentiment.training.promotion import apply_decision, decide_promotion
from amazon_sentiment.training.tracking import connect, ensure_experiment, tracking_errors

if TYPE_CHECKING:
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.models.model import ModelInfo
    from mlflow.tracking import MlflowClient
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)

MODEL_ARTIFACT_NAME = "model"
# Exact versions of what loading the model needs; MLflow records the Python version.
PINNED_DISTRIBUTIONS = ("mlflow", "scikit-learn", "skops", "numpy", "scipy", "pandas")


@dataclass(frozen=True)
class TrainingOutcome:
    """What a training produced, for the CLI summary and for tests."""

    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    best_run_id: str
    best_description: str
    model_name: str
    version: str
    alias: str
    reason: str
    selection_metric: str
    validation_metrics: ClassificationMetrics
    test_metrics: ClassificationMetrics
    run_count: int
    vectorizer_reuse_seconds_saved: float
    grid_seconds: float
    model_size_bytes: int
    model_load_seconds: float


@dataclass
class _Best:
    candidate: Candidate
    metrics: ClassificationMetrics
    run_id: str


def run_training(
    settings: Settings,
    *,
    golden_sample_path: str,
    config_path: str | None = None,
    force: bool = False,
) -> TrainingOutcome:
    """Train the grid on a golden sample, register the winner and decide its alias."""
    config_file = config_path or settings.train_config_path
    # Cheap checks first: a typo in the grid or a server that is down fails in seconds.
    config = load_train_config(config_file)
    client = connect(settings)
    sample = read_golden_sample(golden_sample_path)
    log.info(
        "golden sample %s: %d rows (train %d, validation %d, test %d), digest %s",
        sample.path,
        sample.row_count,
        len(sample.train),
        len(sample.validation),
        len(sample.test),
        sample.digest[:12],
    )
    with tracking_errors(settings.mlflow_tracking_uri):
        return _train(settings, config, Path(config_file), sample, client, force=force)


def _train(
    settings: Settings,
    config: TrainConfig,
    config_file: Path,
    sample: GoldenSample,
    client: MlflowClient,
    *,
    force: bool,
) -> TrainingOutcome:
    import mlflow

    experiment_id = ensure_experiment(client, settings)
    # Runs, logged models and registrations all follow the active experiment.
    mlflow.set_experiment(experiment_id=experiment_id)
    dataset = _dataset_input(sample)
    metric = config.selection_metric
    run_count = config.run_count
    run_name = f"grid-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as parent:
        parent_run_id = parent.info.run_id
        mlflow.set_tags(_provenance_tags(sample))
        mlflow.log_params(
            {
                "selection_metric": metric,
                "run_count": run_count,
                "vectorizer_count": len(config.vectorizer_configs()),
                "golden_sample.path": sample.path,
                "golden_sample.rows": sample.row_count,
            }
        )
        mlflow.log_input(dataset, context="training")
        mlflow.log_artifact(str(config_file), "config")

        grid_started = time.perf_counter()
        reuse_saved = 0.0
        best: _Best | None = None
        progress = _GridProgress(
            run_count=run_count, vectorizer_count=len(config.vectorizer_configs())
        )
        for candidate in search_grid(sample, config):
            metrics = evaluate(sample.validation.labels, candidate.validation_probabilities)
            with mlflow.start_run(
                experiment_id=experiment_id, run_name=f"config-{candidate.index:02d}", nested=True
            ) as child:
                _log_candidate(candidate, metrics, sample, dataset, config)
            if candidate.vectorizer_reused:
                reuse_saved += candidate.vectorizer_seconds
            if best is None or is_better(metrics.value(metric), best.metrics.value(metric), metric):
                best = _Best(candidate, metrics, child.info.run_id)
            progress.record(candidate)
            _log_progress(candidate, metrics, best.metrics, metric, progress, grid_started)
        assert best is not None  # the config validator guarantees at least one run
        grid_seconds = time.perf_counter() - grid_started
        log.info(
            "grid done in %s; reusing each vectorizer's matrices saved %s of refitting",
            _duration(grid_seconds),
            _duration(reuse_saved),
        )
        mlflow.log_metrics(
            {
                "grid_seconds": grid_seconds,
                "vectorizer_reuse_seconds_saved": reuse_saved,
                f"best_validation_{metric}": best.metrics.value(metric),
            }
        )
        mlflow.set_tag("best_run_id", best.run_id)

        log.info("winner: %s (run %s)", best.candidate.describe(), best.run_id)
        with mlflow.start_run(run_id=best.run_id, experiment_id=experiment_id, nested=True):
            winner = _assemble_pipeline(best.candidate)
            model_info, size_bytes, load_seconds, loaded = _log_model(winner, sample, config)
            # Scored with the model as loaded back from MLflow: what serving will run.
            test_probabilities = loaded.predict_proba(sample.test.texts)[:, 1]
            test_metrics = evaluate(sample.test.labels, test_probabilities)
            mlflow.log_metrics(test_metrics.as_dict("test_"))
            _log_plots(sample.test.labels, test_probabilities, "plots/test", "test split")
        mlflow.log_metrics(
            test_metrics.as_dict("test_")
            | {"model_size_bytes": size_bytes, "model_load_seconds": load_seconds}
        )
        log.info(
            "test split: accuracy %.4f, F1 %.4f, ROC AUC %.4f",
            test_metrics.accuracy,
            test_metrics.f1,
            test_metrics.roc_auc,
        )

        registered = mlflow.register_model(
            model_info.model_uri,
            settings.model_name,
            tags=_version_tags(sample, config, best, test_metrics, parent_run_id),
        )
        version = str(registered.version)
        decision = decide_promotion(
            client,
            settings,
            new_version=version,
            new_test_metric=test_metrics.value(metric),
            metric=metric,
            test_split=sample.test,
            force=force,
        )
        apply_decision(client, settings, version, decision)
        mlflow.set_tags(
            {
                "registered_model": settings.model_name,
                "registered_version": version,
                "alias": decision.alias,
                "promotion_decision": decision.reason,
            }
        )
        log_decision = log.info if decision.alias == settings.model_alias else log.warning
        log_decision(
            "%s version %s -> alias %r: %s",
            settings.model_name,
            version,
            decision.alias,
            decision.reason,
        )
    return TrainingOutcome(
        tracking_uri=settings.mlflow_tracking_uri,
        experiment_id=experiment_id,
        parent_run_id=parent_run_id,
        best_run_id=best.run_id,
        best_description=best.candidate.describe(),
        model_name=settings.model_name,
        version=version,
        alias=decision.alias,
        reason=decision.reason,
        selection_metric=metric,
        validation_metrics=best.metrics,
        test_metrics=test_metrics,
        run_count=run_count,
        vectorizer_reuse_seconds_saved=reuse_saved,
        grid_seconds=grid_seconds,
        model_size_bytes=size_bytes,
        model_load_seconds=load_seconds,
    )


def _assemble_pipeline(candidate: Candidate) -> Pipeline:
    """The whole model (cleaner, fitted TF-IDF, fitted classifier) from a grid candidate."""
    pipeline = build_pipeline({}, {})
    pipeline.set_params(tfidf=candidate.vectorizer, classifier=candidate.classifier)
    return pipeline


def _log_candidate(
    candidate: Candidate,
    metrics: ClassificationMetrics,
    sample: GoldenSample,
    dataset: MetaDataset,
    config: TrainConfig,
) -> None:
    import mlflow
    import skops.io

    pipeline = _assemble_pipeline(candidate)
    mlflow.log_params(candidate.params())
    mlflow.set_tag("vectorizer_reused", str(candidate.vectorizer_reused).lower())
    mlflow.log_input(dataset, context="training")
    mlflow.log_metrics(
        metrics.as_dict("validation_")
        | {
            "vectorizer_fit_seconds": candidate.vectorizer_seconds,
            "classifier_fit_seconds": candidate.classifier_seconds,
            "fit_seconds": candidate.vectorizer_seconds + candidate.classifier_seconds,
            "vocabulary_size": candidate.vocabulary_size,
            # The serialized size of this run's whole pipeline, as the model would be saved.
            "model_size_bytes": len(skops.io.dumps(pipeline)),
        }
    )
    _log_plots(
        sample.validation.labels,
        candidate.validation_probabilities,
        "plots/validation",
        f"validation, run {candidate.index}",
    )
    if config.log_models == "all":
        _log_model(pipeline, sample, config)


def _log_plots(labels: Any, probabilities: Any, artifact_path: str, title: str) -> None:
    import mlflow

    with tempfile.TemporaryDirectory(prefix="amazon-sentiment-plots-") as folder:
        write_plots(labels, probabilities, Path(folder), title=title)
        mlflow.log_artifacts(folder, artifact_path)


def _log_model(
    pipeline: Pipeline, sample: GoldenSample, config: TrainConfig
) -> tuple[ModelInfo, int, float, Any]:
    """Log the pipeline with skops, then load it back; its info, size, load time, model."""
    import mlflow
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature

    examples = pd.DataFrame({TEXT_COLUMN: sample.train.texts[: config.input_example_rows]})
    signature = infer_signature(examples, pipeline.predict(examples))
    model_info = mlflow.sklearn.log_model(
        pipeline,
        name=MODEL_ARTIFACT_NAME,
        serialization_format="skops",
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
        signature=signature,
        input_example=examples,
        pip_requirements=pinned_requirements(),
    )
    with tempfile.TemporaryDirectory(prefix="amazon-sentiment-model-") as scratch:
        folder = Path(
            mlflow.artifacts.download_artifacts(artifact_uri=model_info.model_uri, dst_path=scratch)
        )
        size_bytes = model_folder_bytes(folder)
        started = time.perf_counter()
        loaded = load_sklearn_model(folder)
        load_seconds = time.perf_counter() - started
    mlflow.log_metrics({"model_artifact_bytes": size_bytes, "model_load_seconds": load_seconds})
    log.info(
        "logged model %s: %.1f MB, loads in %.2f s",
        model_info.model_uri,
        size_bytes / 1e6,
        load_seconds,
    )
    return model_info, size_bytes, load_seconds, loaded


def pinned_requirements() -> list[str]:
    return [f"{name}=={installed_version(name)}" for name in PINNED_DISTRIBUTIONS]


def _dataset_input(sample: GoldenSample) -> MetaDataset:
    import json

    from mlflow.data.dataset_source_registry import (
        get_dataset_source_from_json,
        resolve_dataset_source,
    )
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.types import ColSpec, Schema

    if "://" in sample.path:
        # MLflow knows s3:// (the same objects Spark calls s3a://).
        source = resolve_dataset_source(sample.path.replace("s3a://", "s3://", 1))
    else:
        # Named directly: resolving a local path warns that two sources could claim it.
        source = get_dataset_source_from_json(
            json.dumps({"uri": Path(sample.path).resolve().as_uri()}), source_type="local"
        )
    # MLflow's stubs mark `profile` abstract; MetaDataset implements it at runtime.
    return MetaDataset(  # type: ignore[abstract]
        source=source,
        name="golden_sample",
        # MLflow stores at most 36 characters of a dataset digest; tags keep the full one.
        digest=sample.digest[:32],
        schema=Schema(
            [ColSpec("string", "text"), ColSpec("long", "label"), ColSpec("string", "split")]
        ),
    )


def _provenance_tags(sample: GoldenSample) -> dict[str, str]:
    return {
        "golden_sample_path": sample.path,
        "golden_sample_digest": sample.digest,
        "git_commit": git_commit(),
        "cleaning_rules_version": CLEANING_RULES_VERSION,
        "python_version": platform.python_version(),
    } | {f"{name}_version": installed_version(name) for name in PINNED_DISTRIBUTIONS}


def _version_tags(
    sample: GoldenSample,
    config: TrainConfig,
    best: _Best,
    test_metrics: ClassificationMetrics,
    parent_run_id: str,
) -> dict[str, str]:
    metric = config.selection_metric
    return (
        _provenance_tags(sample)
        | {
            "training_run_id": best.run_id,
            "grid_run_id": parent_run_id,
            "selection_metric": metric,
            f"validation_{metric}": f"{best.metrics.value(metric):.6f}",
        }
        | {name: f"{value:.6f}" for name, value in test_metrics.as_dict("test_").items()}
    )


def git_commit() -> str:
    """The source tree's commit, or "unknown" outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


@dataclass
class _GridProgress:
    """Time spent so far, for an estimate of what remains.

    Vectorizer fits dominate on large samples and come in steps (one per vectorizer,
    then cheaper runs that reuse its matrices), so the two are estimated apart.
    """

    run_count: int
    vectorizer_count: int
    last_mark: float = field(default_factory=time.perf_counter)
    vectorizer_seconds: list[float] = field(default_factory=list)
    # Wall time of each run besides its vectorizer: classifier fit, scoring and logging.
    run_seconds: list[float] = field(default_factory=list)

    def record(self, candidate: Candidate) -> None:
        now = time.perf_counter()
        wall = now - self.last_mark
        self.last_mark = now
        if not candidate.vectorizer_reused:
            self.vectorizer_seconds.append(candidate.vectorizer_seconds)
            wall -= candidate.vectorizer_seconds
        self.run_seconds.append(max(wall, 0.0))

    def remaining_seconds(self) -> float:
        vectorizers_left = self.vectorizer_count - len(self.vectorizer_seconds)
        runs_left = self.run_count - len(self.run_seconds)
        return vectorizers_left * statistics.fmean(
            self.vectorizer_seconds
        ) + runs_left * statistics.fmean(self.run_seconds)


def _log_progress(
    candidate: Candidate,
    metrics: ClassificationMetrics,
    best: ClassificationMetrics,
    metric: str,
    progress: _GridProgress,
    started: float,
) -> None:
    elapsed = time.perf_counter() - started
    remaining = progress.remaining_seconds()
    log.info(
        "run %d of %d: %s -> validation %s %.4f (best %.4f); elapsed %s, about %s left",
        candidate.index,
        progress.run_count,
        candidate.describe(),
        metric,
        metrics.value(metric),
        best.value(metric),
        _duration(elapsed),
        _duration(remaining),
    )


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{seconds:.1f}s"

"""Training benchmark: quality and wall time of the default grid, and a 1M-row run.

    uv run python bench/train.py quality   # golden sample from all of amazon_reviews_dev
    uv run python bench/train.py scale     # 1,000,000 resampled reviews, peak RSS

Results are printed and written as JSON under bench/results/ (not committed); the
figures in docs/benchmarks.md come from these commands. Each training uses a fresh
embedded MLflow store in a temporary folder, so runs do not see each other's models.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import typer

from amazon_sentiment.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DEV_REVIEWS = REPO_ROOT.parent / "shared" / "data" / "amazon_reviews_dev"
RESULTS = REPO_ROOT / "bench" / "results"
DEFAULT_CONFIG = REPO_ROOT / "configs" / "train.yaml"
WORKDIR = Path(tempfile.gettempdir()) / "amazon-sentiment-bench"

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("bench.train")


@app.callback()
def main() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def build_dev_golden_sample(output: Path) -> Path:
    """The ETL over every dev review; a target far above what exists keeps them all."""
    from amazon_sentiment.etl.job import run_etl

    if (output / "_manifest.json").is_file():
        log.info("reusing the dev golden sample in %s", output)
        return output
    run_etl(
        Settings(  # type: ignore[call-arg]
            etl_input=str(DEV_REVIEWS),
            golden_sample_path=str(output),
            target_rows=10_000_000,
            spark_master="local[2]",
            spark_shuffle_partitions=4,
        )
    )
    return output


def train_once(golden_sample: Path, config: Path, store: Path) -> dict[str, Any]:
    from amazon_sentiment.training.job import run_training

    settings = Settings(  # type: ignore[call-arg]
        mlflow_tracking_uri=f"sqlite:///{store / 'mlflow.db'}",
        mlflow_artifact_root=str(store / "mlartifacts"),
    )
    started = time.perf_counter()
    outcome = run_training(settings, golden_sample_path=str(golden_sample), config_path=str(config))
    return {
        "wall_seconds": time.perf_counter() - started,
        "grid_seconds": outcome.grid_seconds,
        "vectorizer_reuse_seconds_saved": outcome.vectorizer_reuse_seconds_saved,
        "test_accuracy": outcome.test_metrics.accuracy,
        "test_f1": outcome.test_metrics.f1,
        "test_roc_auc": outcome.test_metrics.roc_auc,
        "validation_f1": outcome.validation_metrics.f1,
        "winner": outcome.best_description,
        "model_size_bytes": outcome.model_size_bytes,
        "model_load_seconds": outcome.model_load_seconds,
        "run_count": outcome.run_count,
        "parent_run_id": outcome.parent_run_id,
        "store": str(store),
    }


def plain_vocabulary_peer(store: Path) -> dict[str, float]:
    """The winner saved with a plain TfidfVectorizer (vocabulary as a dict), for size."""
    import skops.io
    from sklearn.feature_extraction.text import TfidfVectorizer

    from amazon_sentiment.model import SKOPS_TRUSTED_TYPES

    model_file = next((store / "mlartifacts").rglob("model.skops"))
    pipeline = skops.io.load(model_file, trusted=SKOPS_TRUSTED_TYPES)
    compact = pipeline.named_steps["tfidf"]
    plain = TfidfVectorizer()
    plain.__dict__.update(compact.__dict__)
    pipeline.steps[1] = ("tfidf", plain)
    started = time.perf_counter()
    payload = skops.io.dumps(pipeline)
    dump_seconds = time.perf_counter() - started
    started = time.perf_counter()
    skops.io.loads(payload, trusted=[*SKOPS_TRUSTED_TYPES])
    return {
        "plain_model_bytes": len(payload),
        "plain_dump_seconds": dump_seconds,
        "plain_load_seconds": time.perf_counter() - started,
        "compact_model_file_bytes": model_file.stat().st_size,
    }


@app.command()
def quality(
    repeats: Annotated[int, typer.Option(min=1, help="Trainings to take the median of.")] = 3,
    config: Annotated[Path, typer.Option(help="Grid config.")] = DEFAULT_CONFIG,
    workdir: Annotated[Path, typer.Option(help="Where the dev golden sample is kept.")] = WORKDIR,
) -> None:
    """Default grid on a golden sample from all of amazon_reviews_dev; median of repeats."""
    golden_sample = build_dev_golden_sample(workdir / "dev_golden_sample")
    manifest = json.loads((golden_sample / "_manifest.json").read_text())
    runs = []
    for repeat in range(repeats):
        store = Path(tempfile.mkdtemp(prefix=f"bench-train-{repeat}-", dir=workdir))
        runs.append(train_once(golden_sample, config, store))
        log.info("repeat %d: %s", repeat + 1, runs[-1])
    peer = plain_vocabulary_peer(Path(runs[-1]["store"]))
    summary = {
        "benchmark": "training quality on all of amazon_reviews_dev",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "golden_sample_rows": manifest.get("rows_written"),
        "split_counts": manifest.get("split_counts"),
        "config": str(config),
        "median": {
            key: statistics.median(run[key] for run in runs)
            for key in runs[0]
            if isinstance(runs[0][key], float | int)
        },
        "runs": runs,
        "plain_vocabulary_peer": peer,
    }
    _write("train_quality", summary)


def resample_golden_sample(source: Path, output: Path, rows: int, *, seed: int = 7) -> Path:
    """``rows`` new reviews, each made of sentences of same-split, same-label dev reviews.

    Sentence counts follow the originals; texts are new combinations of real sentences,
    so the vocabulary grows as with real reviews rather than repeating whole texts.
    Splits never mix, so test sentences never come from training reviews' pools.
    """
    if (output / "_manifest.json").is_file():
        log.info("reusing the resampled golden sample in %s", output)
        return output
    rng = np.random.default_rng(seed)
    table = pq.read_table(source, columns=["text", "label", "split"]).to_pandas()
    fractions = table["split"].value_counts(normalize=True)
    texts, labels, splits = [], [], []
    for (split, label), group in table.groupby(["split", "label"]):
        wanted = round(rows * fractions[split] / 2)
        reviews = [review.split(". ") for review in group["text"]]
        pool = np.array([sentence for review in reviews for sentence in review], dtype=object)
        lengths = np.array([len(review) for review in reviews])
        counts = rng.choice(lengths, size=wanted)
        picks = rng.integers(0, len(pool), size=int(counts.sum()))
        offsets = np.concatenate([[0], np.cumsum(counts)])
        for start, end in itertools.pairwise(offsets):
            texts.append(". ".join(pool[picks[start:end]]))
        labels.extend([int(label)] * wanted)
        splits.extend([str(split)] * wanted)
    output.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "review_id": pa.array([f"resampled-{i}" for i in range(len(texts))]),
                "text": pa.array(texts, pa.string()),
                "label": pa.array(labels, pa.int32()),
                "split": pa.array(splits, pa.string()),
            }
        ),
        output / "part-00000.parquet",
        row_group_size=100_000,
    )
    manifest = {"rows_written": len(texts), "source": str(source), "resampled": True, "seed": seed}
    (output / "_manifest.json").write_text(json.dumps(manifest))
    return output


@app.command()
def scale(
    rows: Annotated[int, typer.Option(min=1000, help="Rows of the resampled sample.")] = 1_000_000,
    config: Annotated[Path, typer.Option(help="Grid config.")] = DEFAULT_CONFIG,
    workdir: Annotated[Path, typer.Option(help="Where the samples are kept.")] = WORKDIR,
) -> None:
    """The default grid on ``rows`` resampled reviews, in a child process; peak RSS."""
    source = build_dev_golden_sample(workdir / "dev_golden_sample")
    golden_sample = resample_golden_sample(source, workdir / f"resampled_{rows}", rows)
    store = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=workdir))
    command = [
        str(Path(sys.executable).parent / "amazon-sentiment"),
        "train",
        "--golden-sample",
        str(golden_sample),
        "--config",
        str(config),
    ]
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(Path.home()),
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
        "AMAZON_SENTIMENT_MLFLOW_ARTIFACT_ROOT": str(store / "mlartifacts"),
    }
    log_path = store / "train.log"
    started = time.perf_counter()
    with log_path.open("w") as train_log:
        completed = subprocess.run(
            command, env=env, stdout=subprocess.PIPE, stderr=train_log, text=True, check=False
        )
    wall_seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        log.error("training failed; see %s", log_path)
        raise typer.Exit(completed.returncode)
    _write(
        "train_scale",
        {
            "benchmark": f"default grid on {rows:,} resampled reviews",
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": _machine(),
            "rows": rows,
            "wall_seconds": wall_seconds,
            # CPU time is what the grid costs; wall time also counts waiting for the
            # cores other processes hold.
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss_gib": usage.ru_maxrss / 1024**2,
            "load_average_at_end": os.getloadavg(),
            "cli_summary": completed.stdout,
            "train_log": str(log_path),
        },
    )


def _machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3),
        "python": platform.python_version(),
        "note": "2 cores shared with other helpers' test runs",
    }


def _write(name: str, summary: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(summary, indent=2, default=str))
    typer.echo(json.dumps(summary, indent=2, default=str))
    log.info("wrote %s", path)


if __name__ == "__main__":
    app()

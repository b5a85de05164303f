"""Benchmark: batch scoring on Spark against one process calling predict_proba.

Both score the same reviews (a make-dataset folder) with the same model: a pipeline
with the production grid's shape (word 1-2-grams, sublinear tf, min_df 2, liblinear
logistic regression) fitted on the bundled sample, logged with skops to a throwaway
SQLite MLflow store and registered with alias ``production``.

* ``spark``  ``python -m amazon_sentiment score`` (local[*]): wall time of the whole
             command (JVM start, model download, read, score, write) and the job's
             own duration from its manifest;
* ``single`` one Python process: read the texts with pyarrow, then
             ``predict_proba`` in batches of 10,000 (Spark's Arrow batch size);
             wall time of the read + predict, and of predict alone.

Usage::

    .venv/bin/python bench/score.py --input /work/bench-data/reviews-0.5gb-seed42 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLED_SAMPLE = REPO / "data" / "sample" / "amazon_reviews"
MODEL_NAME = "bench_scoring_model"
BATCH_ROWS = 10_000
log = logging.getLogger("bench.score")


def raw_texts(folder: Path) -> list[str]:
    """Headline and body joined as the scorer joins them; reviews without text left out."""
    import pyarrow.dataset as ds

    from amazon_sentiment.text import join_review

    reviews = ds.dataset(folder, format="parquet", partitioning="hive").to_table(
        columns=["review_headline", "review_body"]
    )
    texts = (
        join_review(headline, body)
        for headline, body in zip(
            reviews["review_headline"].to_pylist(), reviews["review_body"].to_pylist(), strict=True
        )
        if headline is not None or body is not None
    )
    return [text for text in texts if text.strip()]


def register_model(tracking_uri: str) -> None:
    """Fit the benchmark model on the bundled sample and make it @production."""
    import mlflow
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    from mlflow import MlflowClient

    from amazon_sentiment.model import SKOPS_TRUSTED_TYPES, TEXT_COLUMN, build_pipeline
    from amazon_sentiment.text import join_review

    reviews = ds.dataset(BUNDLED_SAMPLE).to_table(
        columns=["star_rating", "review_headline", "review_body"]
    )
    reviews = reviews.filter(
        pc.and_(pc.not_equal(reviews["star_rating"], 3), pc.is_valid(reviews["review_body"]))
    )
    texts = [
        join_review(headline, body)
        for headline, body in zip(
            reviews["review_headline"].to_pylist(), reviews["review_body"].to_pylist(), strict=True
        )
    ]
    labels = (np.asarray(reviews["star_rating"]) >= 4).astype(int)
    pipeline = build_pipeline(
        {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True, "max_features": 500_000},
        {"C": 4.0, "solver": "liblinear", "max_iter": 1000, "random_state": 42},
    )
    pipeline.fit(pd.DataFrame({TEXT_COLUMN: texts}), labels)
    mlflow.set_tracking_uri(tracking_uri)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            serialization_format="skops",
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
    version = mlflow.register_model(info.model_uri, MODEL_NAME).version
    MlflowClient(tracking_uri, tracking_uri).set_registered_model_alias(
        MODEL_NAME, "production", version
    )


def single_process(tracking_uri: str, folder: Path) -> dict[str, float]:
    from amazon_sentiment.serving.loading import load_model, resolve_ref
    from amazon_sentiment.settings import Settings

    settings = Settings(mlflow_tracking_uri=tracking_uri, model_name=MODEL_NAME)
    model = load_model(resolve_ref(settings), settings)
    started = time.perf_counter()
    texts = raw_texts(folder)
    predicting = time.perf_counter()
    for start in range(0, len(texts), BATCH_ROWS):
        model.pipeline.predict_proba(texts[start : start + BATCH_ROWS])
    finished = time.perf_counter()
    return {
        "rows": len(texts),
        "seconds": finished - started,
        "predict_seconds": finished - predicting,
    }


def spark_scoring(tracking_uri: str, folder: Path, output: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "AMAZON_SENTIMENT_MODEL_NAME": MODEL_NAME,
        "PYSPARK_PYTHON": sys.executable,
    }
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "amazon_sentiment",
            "score",
            f"--input={folder}",
            f"--output={output}",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    manifest = json.loads((output / "_manifest.json").read_text())
    return {
        "rows": manifest["rows_scored"],
        "seconds": seconds,
        "job_seconds": manifest["duration_seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, required=True, help="A make-dataset folder.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--note", default="", help="Free text stored with the results.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")

    started = datetime.now(UTC)
    results: dict[str, list[dict[str, float]]] = {"single": [], "spark": []}
    with tempfile.TemporaryDirectory(prefix="bench-score-") as scratch:
        tracking_uri = f"sqlite:///{scratch}/mlflow.db"
        register_model(tracking_uri)
        for repeat in range(args.repeats):
            results["single"].append(single_process(tracking_uri, args.input))
            log.info("single process: %s", results["single"][-1])
            results["spark"].append(
                spark_scoring(tracking_uri, args.input, Path(scratch) / f"scores-{repeat}")
            )
            log.info("spark: %s", results["spark"][-1])

    results_dir = REPO / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    result_file = results_dir / f"score-{started:%Y%m%dT%H%M%SZ}.json"
    result_file.write_text(
        json.dumps(
            {
                "command": " ".join(sys.argv),
                "started": started.isoformat(),
                "cores": os.cpu_count(),
                "load_average_at_end": os.getloadavg(),
                "note": args.note,
                "results": results,
            },
            indent=2,
        )
    )
    print("| engine | rows | median s | rows/s | median s (job / predict only) | rows/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for engine, inner_key in (("spark", "job_seconds"), ("single", "predict_seconds")):
        runs = results[engine]
        rows = runs[0]["rows"]
        seconds = statistics.median(run["seconds"] for run in runs)
        inner = statistics.median(run[inner_key] for run in runs)
        print(
            f"| {engine} | {rows:,.0f} | {seconds:.1f} | {rows / seconds:,.0f} "
            f"| {inner:.1f} | {rows / inner:,.0f} |"
        )
    print(f"\nresults: {result_file}")


if __name__ == "__main__":
    main()

"""``amazon-sentiment score``: predictions for every review of a dataset, on Spark.

Output: Parquet with ``review_id``, ``label`` (1 positive, 0 negative), ``probability``
(that the review is positive) and ``model_version``, plus ``_manifest.json``. It is
published like the golden sample: written to a staging folder and swapped into place
only when complete, so a failed run leaves the previous scores as they were.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from pyspark import Broadcast
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)
from pyspark.sql import types as T  # noqa: N812

from amazon_sentiment.errors import InputDataError
from amazon_sentiment.etl.io import MANIFEST_NAME, HadoopPath, reading_errors, staged_output
from amazon_sentiment.etl.session import build_spark_session
from amazon_sentiment.model import LABELS
from amazon_sentiment.scoring.udf import prediction_column
from amazon_sentiment.settings import Settings
from amazon_sentiment.text import HEADLINE_SEPARATOR

log = logging.getLogger(__name__)

#: The scores' declared schema.
SCORES_SCHEMA = T.StructType(
    [
        T.StructField("review_id", T.StringType(), nullable=True),
        T.StructField("label", T.IntegerType(), nullable=True),
        T.StructField("probability", T.DoubleType(), nullable=True),
        T.StructField("model_version", T.StringType(), nullable=False),
    ]
)


@dataclass(frozen=True)
class ScoringManifest:
    input_path: str
    output_path: str
    model_uri: str
    model_name: str
    model_version: str
    model_run_id: str | None
    rows_read: int
    rows_scored: int
    rows_without_text: int
    spark_version: str
    started_at: str
    duration_seconds: float


def run_scoring(settings: Settings, *, input_path: str, output_path: str) -> ScoringManifest:
    """Score every review in ``input_path`` with the registry's production model.

    The model is ``settings.model_uri`` if set, else ``models:/<model_name>@<model_alias>``,
    pinned to the version the alias names when the job starts.
    """
    from amazon_sentiment.serving.loading import load_model, resolve_ref

    started_at = datetime.now(UTC)
    clock = time.monotonic()
    ref = resolve_ref(settings)
    model = load_model(ref, settings)
    log.info("scoring with model %s (version %s)", ref.uri, model.version_label)
    spark = build_spark_session(settings)
    reviews = read_review_texts(spark, input_path)
    broadcast_model = spark.sparkContext.broadcast(model.pipeline)
    try:
        with reading_errors(input_path), staged_output(spark, output_path) as staging:
            scores = score_reviews(
                reviews,
                broadcast_model,
                positive_index=model.labels.index(LABELS[1]),
                model_version=model.version_label,
            )
            scores.write.parquet(str(staging))
            rows_scored = spark.read.parquet(str(staging)).count()
            rows_read = reviews.count()
            manifest = ScoringManifest(
                input_path=input_path,
                output_path=output_path,
                model_uri=ref.uri,
                model_name=ref.name,
                model_version=model.version_label,
                model_run_id=ref.run_id,
                rows_read=rows_read,
                rows_scored=rows_scored,
                rows_without_text=rows_read - rows_scored,
                spark_version=spark.version,
                started_at=started_at.isoformat(),
                duration_seconds=round(time.monotonic() - clock, 1),
            )
            staging.child(MANIFEST_NAME).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    finally:
        broadcast_model.destroy()
    log.info(
        "scored %d reviews (%d without text skipped) into %s in %.1f s",
        manifest.rows_scored,
        manifest.rows_without_text,
        output_path,
        manifest.duration_seconds,
    )
    return manifest


def read_review_texts(spark: SparkSession, input_path: str) -> DataFrame:
    """``review_id`` and ``text`` of each review in ``input_path``.

    ``text`` is the column of that name (a golden sample) or, for raw reviews, the
    headline and body joined as the ETL joins them; the model cleans it itself.
    """
    if not HadoopPath(spark, input_path).glob():
        raise InputDataError(f"input path does not exist: {input_path}")
    with reading_errors(input_path):
        reviews = spark.read.parquet(input_path)
    columns = set(reviews.columns)
    if "text" in columns:
        text = F.col("text")
    elif "review_body" in columns:
        headline = F.col("review_headline") if "review_headline" in columns else F.lit(None)
        text = F.concat_ws(HEADLINE_SEPARATOR, headline, F.col("review_body"))
    else:
        raise InputDataError(
            f"{input_path} has neither a 'text' nor a 'review_body' column to score "
            f"(columns found: {', '.join(sorted(columns))})"
        )
    review_id = F.col("review_id") if "review_id" in columns else F.lit(None)
    return reviews.select(
        review_id.cast(T.StringType()).alias("review_id"), text.cast(T.StringType()).alias("text")
    )


def score_reviews(
    reviews: DataFrame, model: Broadcast[Any], *, positive_index: int, model_version: str
) -> DataFrame:
    """The scores of reviews with a non-blank text, in :data:`SCORES_SCHEMA`."""
    prediction = prediction_column(F.col("text"), model, positive_index=positive_index)
    return (
        reviews.filter(F.length(F.trim(F.col("text"))) > 0)
        .select("review_id", prediction.alias("prediction"))
        .select(
            "review_id",
            F.col("prediction.label").alias("label"),
            F.col("prediction.probability").alias("probability"),
            F.lit(model_version).alias("model_version"),
        )
    )

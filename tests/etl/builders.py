"""Small review DataFrames for the ETL tests, in the shape the transforms receive."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from amazon_sentiment.etl import transforms
from amazon_sentiment.etl.schemas import GOLDEN_SAMPLE_SCHEMA

#: The conformed input: what io.read_reviews hands to the first transform.
REVIEWS_SCHEMA = T.StructType(
    [
        T.StructField("star_rating", T.IntegerType()),
        T.StructField("review_body", T.StringType()),
        T.StructField("review_id", T.StringType()),
        T.StructField("review_headline", T.StringType()),
        T.StructField("product_category", T.StringType()),
        T.StructField("review_date", T.DateType()),
    ]
)

#: What the transforms hand to deduplication (after drop_marked): the golden sample's
#: columns before a split is assigned.
KEPT_SCHEMA = T.StructType([field for field in GOLDEN_SAMPLE_SCHEMA if field.name != "split"])

DAY = dt.date(2015, 8, 31)
FRACTIONS = {"train": 0.8, "validation": 0.1, "test": 0.1}


def review(
    stars: int | None,
    body: str | None,
    *,
    review_id: str | None = None,
    headline: str | None = None,
    category: str | None = "Books",
    date: dt.date | None = DAY,
) -> tuple[Any, ...]:
    return (stars, body, review_id, headline, category, date)


def reviews_frame(spark: SparkSession, rows: Iterable[tuple[Any, ...]]) -> DataFrame:
    return spark.createDataFrame(list(rows), REVIEWS_SCHEMA)


def kept_frame(spark: SparkSession, rows: Sequence[tuple[str | None, str, int]]) -> DataFrame:
    """Deduplication input from (review_id, text, label) triples, with its keys."""
    frame = spark.createDataFrame(
        [(rid, text, label, 5 if label else 1, "Books", DAY) for rid, text, label in rows],
        KEPT_SCHEMA,
    )
    return transforms.with_draws(transforms.with_keys(frame), fractions=FRACTIONS, seed=0)

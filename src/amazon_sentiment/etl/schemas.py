"""Declared schemas: what the ETL needs from its input and what it promises to write."""

from __future__ import annotations

from pyspark.sql import types as T

#: Columns without which a review cannot be labelled or read.
REQUIRED_INPUT_COLUMNS: tuple[str, ...] = ("star_rating", "review_body")

#: Columns used when present; absent ones become typed nulls.
OPTIONAL_INPUT_COLUMNS: dict[str, T.DataType] = {
    "review_id": T.StringType(),
    "review_headline": T.StringType(),
    "product_category": T.StringType(),
    "review_date": T.DateType(),
}

#: Input types accepted per column (anything else is an input error). Ratings may come
#: as any number; non-integral values are dropped row by row as invalid ratings.
#: Dates may come as dates, timestamps or ISO ``yyyy-MM-dd`` strings.
ACCEPTED_INPUT_TYPES: dict[str, tuple[type[T.DataType], ...]] = {
    "star_rating": (T.NumericType,),
    "review_body": (T.StringType,),
    "review_id": (T.StringType,),
    "review_headline": (T.StringType,),
    "product_category": (T.StringType,),
    "review_date": (T.DateType, T.TimestampType, T.TimestampNTZType, T.StringType),
}

SPLITS: tuple[str, ...] = ("train", "validation", "test")
LABELS: dict[int, str] = {0: "negative", 1: "positive"}

#: The golden sample: the seam between Spark (stage 1) and scikit-learn (stage 2).
#: ``text``, ``label``, ``star_rating`` and ``split`` are never null, but Spark reads
#: every Parquet column back as nullable, so the declaration says nullable throughout
#: and the data-contract tests check the nulls.
GOLDEN_SAMPLE_SCHEMA = T.StructType(
    [
        T.StructField("review_id", T.StringType()),
        T.StructField("text", T.StringType()),
        T.StructField("label", T.IntegerType()),
        T.StructField("star_rating", T.IntegerType()),
        T.StructField("product_category", T.StringType()),
        T.StructField("review_date", T.DateType()),
        T.StructField("split", T.StringType()),
    ]
)

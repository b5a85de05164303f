"""Pure DataFrame -> DataFrame steps of the ETL, in the order the job applies them.

Row-level problems are not filtered away silently: the first steps *mark* each row
with a ``drop_reason`` so that one aggregation counts every reason for the manifest,
and :func:`drop_marked` then removes them. The deduplication steps likewise carry the
number of rows each surviving row stands for, so one pass counts what they removed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from amazon_sentiment.etl.cleaning import (
    TEXT_KEYS,
    joined_review,
    text_key_columns,
    with_clean_text_and_keys,
)
from amazon_sentiment.etl.schemas import SPLITS

# Why a row was dropped before deduplication, in the order the checks apply.
NULL_RATING = "null_rating"
INVALID_RATING = "invalid_rating"
NULL_TEXT = "null_text"
NEUTRAL_RATING = "neutral_rating"
TOO_SHORT = "too_short"
ROW_DROP_REASONS: tuple[str, ...] = (
    NULL_RATING,
    INVALID_RATING,
    NULL_TEXT,
    NEUTRAL_RATING,
    TOO_SHORT,
)

# 2**53: a non-negative 53-bit integer divided by it is an exact double in [0, 1).
_UNIT_INTERVAL_SCALE = float(2**53)


def unit_hash(*columns: Column, seed: int, purpose: str) -> Column:
    """A deterministic uniform number in [0, 1) from ``columns``, ``seed`` and ``purpose``.

    ``purpose`` salts the hash so that the split a text lands in and its place in the
    balancing order are independent draws.
    """
    hashed = F.xxhash64(F.lit(purpose), F.lit(seed), *columns)
    return F.shiftrightunsigned(hashed, 11) / F.lit(_UNIT_INTERVAL_SCALE)


def label_by_rating(
    reviews: DataFrame, *, positive_min_stars: int, negative_max_stars: int
) -> DataFrame:
    """Add ``label`` (1 positive, 0 negative) and mark unusable ratings and texts.

    Ratings must be whole stars from 1 to 5; ``star_rating`` becomes an int. Neutral
    ratings (between the thresholds) are marked, not labelled.
    """
    stars = F.col("star_rating")
    whole_star = (stars >= 1) & (stars <= 5) & (stars == F.floor(stars))
    reason = (
        F.when(stars.isNull(), F.lit(NULL_RATING))
        .when(~whole_star, F.lit(INVALID_RATING))
        .when(F.col("review_body").isNull(), F.lit(NULL_TEXT))
        .when((stars > negative_max_stars) & (stars < positive_min_stars), F.lit(NEUTRAL_RATING))
    )
    label = rating_label(
        stars, positive_min_stars=positive_min_stars, negative_max_stars=negative_max_stars
    )
    return reviews.withColumns(
        {
            "drop_reason": _first_reason(reviews, reason),
            "label": F.when(reason.isNull(), label).cast(T.IntegerType()),
            "star_rating": F.when(whole_star, stars).cast(T.IntegerType()),
        }
    )


def rating_label(stars: Column, *, positive_min_stars: int, negative_max_stars: int) -> Column:
    """1 for a positive rating, 0 for a negative one, null for neutral (and for null)."""
    return F.when(stars >= positive_min_stars, 1).when(stars <= negative_max_stars, 0)


def clean_reviews(reviews: DataFrame) -> DataFrame:
    """Add ``text``: headline and body joined and cleaned by the shared rules, and its
    keys ``text_key`` and ``text_check`` (see :func:`with_keys`), computed in the same
    call by the JVM cleaner.

    Rows already marked for dropping are not cleaned (their ``text`` is null), which
    also keeps them small if the marked data is cached.
    """
    raw_text = joined_review(F.col("review_headline"), F.col("review_body"))
    return with_clean_text_and_keys(
        reviews, F.when(F.col("drop_reason").isNull(), raw_text).cast(T.StringType())
    )


def mark_short_texts(reviews: DataFrame, *, min_text_chars: int) -> DataFrame:
    """Mark rows whose cleaned text has fewer than ``min_text_chars`` characters.

    Counting characters walks the whole UTF-8 text, so the byte length, free to read,
    settles most rows: a character takes one to four bytes.
    """
    text = F.col("text")
    bytes_ = F.octet_length(text)
    is_short = (
        F.when(bytes_ < min_text_chars, True)
        .when(bytes_ >= 4 * min_text_chars, False)
        .otherwise(F.length(text) < min_text_chars)
    )
    too_short = F.when(is_short, F.lit(TOO_SHORT))
    return reviews.withColumn("drop_reason", _first_reason(reviews, too_short))


def drop_marked(reviews: DataFrame) -> DataFrame:
    """Keep the rows no check marked, without the marker column."""
    return reviews.filter(F.col("drop_reason").isNull()).drop("drop_reason")


def with_keys(reviews: DataFrame) -> DataFrame:
    """Add the hashes that stand in for a row's text from here on: no shuffle carries text.

    * ``text_key`` and ``text_check``: two independent hashes of the normalised text
      (:func:`~amazon_sentiment.etl.cleaning.text_key_columns`), its identity, unless
      :func:`clean_reviews` brought them already. Two texts are told apart by 128
      bits: among the 17 million texts of a 5 GB input, the chance that two different
      ones collide is below 10**-24;
    * ``id_key`` and ``id_check``: the same for ``review_id`` (null without one);
    * ``row_key``: the identity of the row's output (id, text, label, stars, category
      and date): rows alike in every column share it.

    Fixed-width values all, so that deduplication runs as hash aggregations.
    """
    if not set(TEXT_KEYS) <= set(reviews.columns):
        reviews = reviews.withColumns(
            dict(zip(TEXT_KEYS, text_key_columns(F.col("text")), strict=True))
        )
    review_id = F.col("review_id")
    content = [
        part
        for name in ("review_id", "text", "label", "star_rating", "product_category", "review_date")
        for part in (F.col(name), F.col(name).isNull())  # a null must not hash like a shift
    ]
    return reviews.withColumns(
        {
            "id_key": F.when(review_id.isNotNull(), F.xxhash64(F.lit("id"), review_id)),
            "id_check": F.when(review_id.isNotNull(), F.xxhash64(F.lit("id check"), review_id)),
            "row_key": F.xxhash64(F.lit("row"), *content),
        }
    )


def with_draws(reviews: DataFrame, *, fractions: Mapping[str, float], seed: int) -> DataFrame:
    """Add ``split`` and ``sampling_key``, both drawn from ``text_key`` (so from the text).

    See :func:`assign_split` and :func:`with_sampling_key`. Drawn from the key, they
    can be added after deduplication, which then never carries them.
    """
    return with_sampling_key(assign_split(reviews, fractions=fractions, seed=seed), seed=seed)


def dedupe_by_review_id(reviews: DataFrame) -> DataFrame:
    """One row per review id (``id_key``, ``id_check``); rows without an id pass through.

    The row kept is the one with the smallest ``row_key``: a hash of its content, so a
    choice that depends neither on the partitioning nor on which copy was read first.
    ``review_id_duplicates`` counts the copies removed, and ``has_review_id`` tells
    :func:`dedupe_by_text` which rows have an id. One hash aggregation, every other
    column taken from the row kept (``min_by``): on fixed-width columns it stays in
    Spark's hash aggregate, far cheaper than sorting every row into a window (a string
    column, such as ``review_id`` itself, is carried too, but sorts). Needs the columns
    of :func:`with_keys`.
    """
    keys = ("id_key", "id_check")
    carried = [name for name in reviews.columns if name not in (*keys, "row_key")]
    kept = (
        reviews.filter(F.col("id_key").isNotNull())
        .groupBy(*keys)
        .agg(
            *[F.min_by(name, "row_key").alias(name) for name in carried],
            F.min("row_key").alias("row_key"),
            (F.count(F.lit(1)) - 1).alias("review_id_duplicates"),
        )
    )
    without_id = reviews.filter(F.col("id_key").isNull()).withColumn(
        "review_id_duplicates", F.lit(0).cast(T.LongType())
    )
    return (
        kept.unionByName(without_id)
        .select(*reviews.columns, "review_id_duplicates")
        .withColumn("has_review_id", F.col("id_key").isNotNull())
    )


def dedupe_by_text(reviews: DataFrame) -> DataFrame:
    """One row per normalised text (its keys), flagging texts that carry both labels.

    Adds ``text_rows`` (rows sharing that text), ``review_id_duplicates`` (summed over
    them) and ``conflicting_labels``. The row kept prefers one with a review id, then
    goes by ``row_key`` (a hash of its content). Conflicting rows are kept here,
    flagged, so that they can be counted; drop them with :func:`drop_conflicting_labels`.
    One hash aggregation, as in :func:`dedupe_by_review_id`; the id's and the order's
    columns are not carried (fewer bytes to shuffle). Needs the output of
    :func:`dedupe_by_review_id`.
    """
    # Rows with an id first, then by row_key: one non-negative 63-bit order.
    preference = F.when(F.col("has_review_id"), F.lit(0)).otherwise(F.lit(1 << 62)) + (
        F.shiftrightunsigned("row_key", 2)
    )
    keys = ("text_key", "text_check")
    consumed = ("review_id_duplicates", "has_review_id", "row_key", "id_key", "id_check")
    carried = [name for name in reviews.columns if name not in keys + consumed]
    return (
        reviews.withColumn("_preference", preference)
        .groupBy(*keys)
        .agg(
            *[F.min_by(name, "_preference").alias(name) for name in carried],
            F.count(F.lit(1)).alias("text_rows"),
            F.sum("review_id_duplicates").alias("review_id_duplicates"),
            (F.min("label") != F.max("label")).alias("conflicting_labels"),
        )
    )


def drop_conflicting_labels(reviews: DataFrame) -> DataFrame:
    return reviews.filter(~F.col("conflicting_labels"))


def assign_split(reviews: DataFrame, *, fractions: Mapping[str, float], seed: int) -> DataFrame:
    """Add ``split`` from ``text_key`` (a hash of the normalised text) and ``seed``.

    Equal texts always hash alike, so a text can never sit in two splits; ``fractions``
    (train, validation, test, summing to 1) give each split's share of the hash range.
    """
    draw = unit_hash(F.col("text_key"), seed=seed, purpose="split")
    split: Column | None = None
    upper = 0.0
    for name in SPLITS[:-1]:
        upper += fractions[name]
        condition = draw < upper
        split = F.when(condition, name) if split is None else split.when(condition, name)
    assert split is not None
    return reviews.withColumn("split", split.otherwise(SPLITS[-1]))


def with_sampling_key(reviews: DataFrame, *, seed: int) -> DataFrame:
    """Add ``sampling_key``, the row's deterministic place in the balancing order."""
    return reviews.withColumn(
        "sampling_key", unit_hash(F.col("text_key"), seed=seed, purpose="balance")
    )


def prefilter_strata(
    reviews: DataFrame, *, key_fractions: Mapping[tuple[str, int], float]
) -> DataFrame:
    """Keep rows whose ``sampling_key`` is below their (split, label) stratum's fraction.

    This is ``sampleBy`` with a deterministic key instead of a per-partition random
    generator: a stratum keeps about ``fraction`` of its rows, and always the same ones.
    """
    threshold: Column | None = None
    for (split, label), fraction in key_fractions.items():
        condition = (F.col("split") == split) & (F.col("label") == label)
        value = F.lit(float(fraction))
        threshold = (
            F.when(condition, value) if threshold is None else threshold.when(condition, value)
        )
    if threshold is None:
        return reviews.limit(0)
    return reviews.filter(F.col("sampling_key") < threshold.otherwise(F.lit(-1.0)))


def take_lowest_keys(candidates: DataFrame, *, rows_per_class: Mapping[str, int]) -> DataFrame:
    """Exactly ``rows_per_class[split]`` rows of each label in each split: the lowest keys.

    Ties of the hash are broken by ``text_key``, unique after deduplication, so the
    order is total and the result does not depend on partitioning.
    """
    quota: Column = F.lit(0)
    for split, rows in rows_per_class.items():
        quota = F.when(F.col("split") == split, F.lit(rows)).otherwise(quota)
    order = Window.partitionBy("split", "label").orderBy("sampling_key", "text_key")
    # One shuffle partition per stratum (hash-placed; the two large train strata land
    # apart): adaptive execution would otherwise merge these small partitions and rank
    # every stratum in one task.
    spread = candidates.repartition(len(SPLITS) * 2, "split", "label")
    return (
        spread.withColumn("stratum_rank", F.row_number().over(order))
        .filter(F.col("stratum_rank") <= quota)
        .drop("stratum_rank")
    )


def _first_reason(reviews: DataFrame, reason: Column) -> Column:
    """Keep a row's earlier drop reason; otherwise use ``reason``."""
    if "drop_reason" not in reviews.columns:
        return reason.cast(T.StringType())
    return F.coalesce(F.col("drop_reason"), reason).cast(T.StringType())


def split_quotas(total: int, fractions: Mapping[str, float]) -> dict[str, int]:
    """``total`` shared among the splits by ``fractions`` with largest remainders.

    The parts are whole numbers summing to ``total``; ties go to the earlier split.
    """
    shares = {split: total * fractions[split] for split in SPLITS}
    quotas = {split: math.floor(share) for split, share in shares.items()}
    by_remainder = sorted(
        SPLITS, key=lambda split: (-(shares[split] - quotas[split]), SPLITS.index(split))
    )
    for split in by_remainder[: total - sum(quotas.values())]:
        quotas[split] += 1
    return quotas


def balanced_rows_per_class(
    stratum_counts: Mapping[tuple[str, int], int],
    *,
    target_rows: int,
    fractions: Mapping[str, float],
) -> dict[str, int]:
    """Rows of *each* label to keep per split, so every split is exactly 50/50.

    Half of ``target_rows`` is shared among the splits by ``fractions``; a split then
    keeps no more per label than its scarcer label has.
    """
    quotas = split_quotas(target_rows // 2, fractions)
    return {
        split: min(quota, stratum_counts.get((split, 0), 0), stratum_counts.get((split, 1), 0))
        for split, quota in quotas.items()
    }


def prefilter_fraction(wanted: int, available: int) -> float:
    """The key threshold that lets ``wanted`` of ``available`` rows through, with margin.

    Keys are uniform, so about ``available * fraction`` rows pass; six standard
    deviations on top make a shortfall (handled by widening to 1) vanishingly rare.
    """
    if wanted <= 0 or available <= 0:
        return 0.0
    return min(1.0, (wanted + 6.0 * math.sqrt(wanted) + 10.0) / available)

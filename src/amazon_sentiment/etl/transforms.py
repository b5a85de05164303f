"""Pure DataFrame -> DataFrame steps of the ETL, in the order the job applies them.

Row-level problems are not filtered away silently: the first steps *mark* each row
with a ``drop_reason`` so that one aggregation counts every reason for the manifest,
and :func:`drop_marked` then removes them. The deduplication steps likewise carry the
number of rows each surviving row stands for, so one pass counts what they removed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from pyspark.sql import Column, DataFrame
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

#: A stratum of balancing: (split, label).
Stratum = tuple[str, int]
#: The order balancing takes a stratum's rows in: by sampling key, then (for equal keys,
#: which only a collision of 64-bit hashes gives) by the text's two keys, which
#: deduplication leaves unique. A total order, so the rows taken never depend on how
#: rows are spread over partitions.
BALANCING_ORDER = ("sampling_key", "text_key", "text_check")


class Cutoff(NamedTuple):
    """The last row a stratum keeps, in :data:`BALANCING_ORDER`."""

    sampling_key: float
    text_key: int
    text_check: int


class KeyBand(NamedTuple):
    """Sampling keys from ``low`` (included) to ``high`` (excluded)."""

    low: float
    high: float


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


def expected_band(wanted: int, available: int) -> KeyBand:
    """Sampling keys that hold a stratum's ``wanted``-th lowest key, but for ~1 run in 10**9.

    Keys are uniform in [0, 1): about ``available * x`` of the stratum's keys lie below
    ``x``, give or take the square root of that. Six standard deviations either side of
    ``wanted / available`` (and ten rows) make the band miss as rarely as
    :func:`prefilter_fraction` falls short.
    """
    if wanted <= 0 or available <= 0:
        return KeyBand(0.0, 1.0)
    high = prefilter_fraction(wanted, available)
    low = (wanted - _six_sigma(wanted)) / available
    return KeyBand(min(high, max(0.0, low)), high)


def widened_band(band: KeyBand) -> KeyBand:
    """``band`` with four times its width added on either side (within [0, 1])."""
    width = max(band.high - band.low, 1e-9)
    return KeyBand(max(0.0, band.low - 4 * width), min(1.0, band.high + 4 * width))


def below_bands(reviews: DataFrame, bands: Mapping[Stratum, KeyBand]) -> DataFrame:
    """Rows whose sampling key is below the end of their (split, label) stratum's band;
    none of strata without one."""
    high = _by_stratum({stratum: band.high for stratum, band in bands.items()}, default=-1.0)
    return reviews.filter(F.col("sampling_key") < high)


def band_summary(reviews: DataFrame, bands: Mapping[Stratum, KeyBand]) -> DataFrame:
    """Per (split, label) stratum with a band: ``below``, its rows with a sampling key
    below the band, and ``band``, the balancing order (:data:`BALANCING_ORDER`) of each
    row in it. Strata without a band are left out."""
    key = F.col("sampling_key")
    low = _by_stratum({stratum: band.low for stratum, band in bands.items()}, default=-1.0)
    return (
        below_bands(reviews, bands)
        .withColumn("_low", low)
        .groupBy("split", "label")
        .agg(
            F.count_if(key < F.col("_low")).alias("below"),
            F.collect_list(F.when(key >= F.col("_low"), F.struct(*BALANCING_ORDER))).alias("band"),
        )
    )


def cutoff_in_band(wanted: int, below: int, band: Iterable[Cutoff]) -> Cutoff | None:
    """The ``wanted``-th row of a stratum in balancing order, from the ``below`` rows before
    its band and the rows in it; None when the band does not hold it."""
    position = wanted - below - 1
    in_order = sorted(band)
    if not 0 <= position < len(in_order):
        return None
    return in_order[position]


def at_or_below_cutoffs(reviews: DataFrame, cutoffs: Mapping[Stratum, Cutoff]) -> DataFrame:
    """Rows at or before their (split, label) stratum's cutoff in balancing order; rows of
    strata without one are dropped."""
    key, text_key, text_check = (F.col(name) for name in BALANCING_ORDER)
    keep: Column = F.lit(False)
    for (split, label), (top_key, top_text_key, top_text_check) in cutoffs.items():
        in_stratum = (F.col("split") == split) & (F.col("label") == label)
        at_or_below = (key < F.lit(top_key)) | (
            (key == F.lit(top_key))
            & (
                (text_key < F.lit(top_text_key))
                | ((text_key == F.lit(top_text_key)) & (text_check <= F.lit(top_text_check)))
            )
        )
        keep = F.when(in_stratum, at_or_below).otherwise(keep)
    return reviews.filter(keep)


def output_file(
    rows_per_class: Mapping[str, int], top_keys: Mapping[Stratum, float], files: int
) -> Column:
    """A chosen row's output file, 0 to ``files - 1``: each file holds a run of the output
    order (split, then sampling key), the runs about equal in size.

    The row's place in that order is estimated from its key: keys are uniform, so about
    ``rows * key / top`` of a stratum's ``rows`` chosen rows, whose highest key is
    ``top``, lie below ``key``. The estimate never decreases along the order, so each
    file's rows come before the next file's.
    """
    key = F.col("sampling_key")
    place: Column | None = None
    before = 0
    for split in sorted(SPLITS):  # the order Spark sorts the split names in
        within: Column = F.lit(float(before))
        for (stratum_split, _label), top in top_keys.items():
            if stratum_split == split:
                share = F.lit(1.0) if top <= 0 else F.least(F.lit(1.0), key / F.lit(top))
                within = within + share * F.lit(float(rows_per_class[split]))
        is_split = F.col("split") == split
        place = F.when(is_split, within) if place is None else place.when(is_split, within)
        before += 2 * rows_per_class[split]
    assert place is not None
    rows_per_file = max(before, 1) / files
    return F.least(F.lit(files - 1), F.floor(place / F.lit(rows_per_file))).cast(T.IntegerType())


def _by_stratum(values: Mapping[Stratum, float], *, default: float) -> Column:
    """A column holding the value of each row's (split, label) stratum, else ``default``."""
    column: Column = F.lit(default)
    for (split, label), value in values.items():
        in_stratum = (F.col("split") == split) & (F.col("label") == label)
        column = F.when(in_stratum, F.lit(float(value))).otherwise(column)
    return column


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
    deviations on top make a shortfall (the caller's to handle) vanishingly rare.
    """
    if wanted <= 0 or available <= 0:
        return 0.0
    return min(1.0, (wanted + _six_sigma(wanted)) / available)


def _six_sigma(wanted: int) -> float:
    """Six standard deviations of how many uniform keys fall below an expected ``wanted``
    (a Poisson count), plus ten rows for small counts."""
    return 6.0 * math.sqrt(wanted) + 10.0

"""Unit tests of each ETL transform on small DataFrames in the shared session."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

from amazon_sentiment.etl import job, transforms
from amazon_sentiment.etl.job import KEY_COLUMNS
from tests.etl.builders import DAY, KEPT_SCHEMA, kept_frame, review, reviews_frame

FRACTIONS = {"train": 0.8, "validation": 0.1, "test": 0.1}


def labelled(frame: DataFrame, **thresholds: int) -> list[tuple[object, ...]]:
    result = transforms.label_by_rating(
        frame,
        positive_min_stars=thresholds.get("positive_min_stars", 4),
        negative_max_stars=thresholds.get("negative_max_stars", 2),
    )
    return [
        (row["review_body"], row["star_rating"], row["label"], row["drop_reason"])
        for row in result.orderBy("review_body").collect()
    ]


def test_label_by_rating_marks_each_row_problem(spark: SparkSession) -> None:
    frame = reviews_frame(
        spark,
        [
            review(5, "a five"),
            review(4, "b four"),
            review(3, "c three"),
            review(2, "d two"),
            review(1, "e one"),
            review(None, "f no rating"),
            review(0, "g zero"),
            review(6, "h six"),
            review(5, None, headline="i headline only"),
        ],
    )
    assert labelled(frame) == [
        (None, 5, None, "null_text"),
        ("a five", 5, 1, None),
        ("b four", 4, 1, None),
        ("c three", 3, None, "neutral_rating"),
        ("d two", 2, 0, None),
        ("e one", 1, 0, None),
        ("f no rating", None, None, "null_rating"),
        ("g zero", None, None, "invalid_rating"),
        ("h six", None, None, "invalid_rating"),
    ]


def test_label_by_rating_follows_configured_thresholds(spark: SparkSession) -> None:
    frame = reviews_frame(spark, [review(stars, f"{stars} stars") for stars in range(1, 6)])
    labels = [row[2] for row in labelled(frame, positive_min_stars=5, negative_max_stars=1)]
    assert labels == [0, None, None, None, 1]


def test_label_by_rating_rejects_fractional_ratings(spark: SparkSession) -> None:
    frame = spark.createDataFrame(
        [(4.5, "half star"), (4.0, "whole star")], "star_rating double, review_body string"
    )
    assert labelled(frame) == [
        ("half star", None, None, "invalid_rating"),
        ("whole star", 4, 1, None),
    ]


def test_clean_reviews_joins_headline_and_body(spark: SparkSession) -> None:
    frame = transforms.label_by_rating(
        reviews_frame(
            spark,
            [
                review(5, "Works<br />great &amp; fast", headline="Five stars"),
                review(1, "  Broke after a day  "),
                review(3, "neutral <b>text</b>", headline="Meh"),
            ],
        ),
        positive_min_stars=4,
        negative_max_stars=2,
    )
    texts = [
        row["text"] for row in transforms.clean_reviews(frame).orderBy("star_rating").collect()
    ]
    # The neutral row is already marked, so it is not cleaned at all.
    assert texts == ["Broke after a day", None, "Five stars Works great & fast"]


def test_mark_short_texts_keeps_earlier_reasons(spark: SparkSession) -> None:
    frame = spark.createDataFrame(
        [("123456789", None), ("1234567890", None), ("x", "neutral_rating")],
        "text string, drop_reason string",
    )
    marked = transforms.mark_short_texts(frame, min_text_chars=10)
    assertDataFrameEqual(
        marked,
        [("123456789", "too_short"), ("1234567890", None), ("x", "neutral_rating")],
        checkRowOrder=False,
    )
    assert transforms.drop_marked(marked).collect() == [("1234567890",)]


@pytest.mark.parametrize(
    ("text", "short"),
    [
        ("\u00e9" * 9, True),  # 18 bytes, 9 characters
        ("\u00e9" * 10, False),
        ("\U0001f600" * 9, True),  # 36 bytes, 9 characters
        ("\U0001f600" * 10, False),  # 40 bytes: settled by the byte length alone
        ("a" * 39, False),
    ],
)
def test_short_texts_are_counted_in_characters_not_bytes(
    spark: SparkSession, text: str, short: bool
) -> None:
    frame = spark.createDataFrame([(text,)], "text string")
    marked = transforms.mark_short_texts(frame, min_text_chars=10).first()
    assert marked is not None
    assert (marked["drop_reason"] == "too_short") is short


def test_dedupe_by_review_id_keeps_one_row_per_id(spark: SparkSession) -> None:
    frame = kept_frame(
        spark,
        [
            ("R1", "second copy text", 1),
            ("R1", "first copy text", 1),
            ("R1", "third copy text", 0),
            ("R2", "other review", 0),
            (None, "no id one", 1),
            (None, "no id one", 1),
        ],
    )
    deduped = transforms.dedupe_by_review_id(frame)
    rows = deduped.select("review_id", "text", "review_id_duplicates").collect()
    by_id = sorted((row["review_id"] or "", row["review_id_duplicates"]) for row in rows)
    assert by_id == [("", 0), ("", 0), ("R1", 2), ("R2", 0)]
    # The copy kept is the one with the smallest row key, whichever order the rows came in.
    r1 = frame.filter(F.col("review_id") == "R1").orderBy("row_key").first()
    assert r1 is not None
    assert [row["text"] for row in rows if row["review_id"] == "R1"] == [r1["text"]]
    assertDataFrameEqual(
        deduped, transforms.dedupe_by_review_id(frame.repartition(3)), checkRowOrder=False
    )
    assert deduped.columns[: len(frame.columns)] == frame.columns
    assert [row["review_id"] is not None for row in deduped.collect()].count(True) == 2


def test_deduplication_runs_as_hash_aggregations(spark: SparkSession) -> None:
    """On the job's fixed-width columns neither step sorts: no window, no sort aggregate."""
    frame = kept_frame(spark, [("R1", "a text", 1), ("R1", "a text", 1), (None, "b text", 0)])
    keys = frame.withColumn("row_id", F.monotonically_increasing_id()).select(*KEY_COLUMNS)
    by_id = transforms.dedupe_by_review_id(keys)
    deduped = transforms.dedupe_by_text(by_id)
    plan = deduped._jdf.queryExecution().executedPlan().toString()
    assert "HashAggregate" in plan
    assert "Window" not in plan
    assert "SortAggregate" not in plan
    assert "ObjectHashAggregate" not in plan
    assert deduped.count() == 2


def test_deduplication_aggregates_once_after_each_shuffle_and_only_under_its_settings(
    spark: SparkSession,
) -> None:
    """Its keys are nearly all distinct, so no partial aggregation before the shuffles;
    the session's settings are back as they were afterwards."""
    before = {key: spark.conf.get(key) for key in job.DEDUPLICATION_CONF}
    frame = kept_frame(spark, [("R1", "a text", 1), ("R1", "a text", 1), (None, "b text", 0)])
    keyed = frame.withColumn("row_id", F.monotonically_increasing_id())
    eligible, dropped, strata = job.deduplicate(keyed, fractions=FRACTIONS, seed=0)
    try:
        # Run already: the plan shows its final form, then the initial one.
        plan = eligible._jdf.queryExecution().executedPlan().toString()
        final_plan = plan.split("== Initial Plan ==")[0]
        assert {key: spark.conf.get(key) for key in job.DEDUPLICATION_CONF} == before
        assert before["spark.sql.execution.bypassPartialAggregation"] == "false"
        assert final_plan.count("HashAggregate") == 2
        assert "partial_" not in plan
        assert eligible.columns == list(job.ELIGIBLE_COLUMNS)
        assert eligible.count() == 2
        assert dropped == {"duplicate_review_id": 1, "duplicate_text": 0, "conflicting_labels": 0}
        assert sum(strata.values()) == 2
    finally:
        eligible.unpersist()


def test_dedupe_by_text_merges_case_variants_and_flags_conflicts(spark: SparkSession) -> None:
    frame = transforms.dedupe_by_review_id(
        kept_frame(
            spark,
            [
                (None, "Great product", 1),
                ("R9", "great PRODUCT", 1),
                ("R1", "great product", 1),
                (None, "Love it or hate it", 1),
                ("R2", "love it or hate it", 0),
                (None, "Unique text", 0),
            ],
        )
    )
    deduped = transforms.dedupe_by_text(frame).select(
        "review_id", "text", "text_rows", "conflicting_labels"
    )
    with_id = frame.filter(F.col("review_id").isin("R1", "R9")).orderBy("row_key").first()
    assert with_id is not None
    preferred, preferred_text = with_id["review_id"], with_id["text"]
    assertDataFrameEqual(
        deduped,
        [
            # A row with an id is preferred (here R1 or R9, by row key).
            (preferred, preferred_text, 3, False),
            ("R2", "love it or hate it", 2, True),
            (None, "Unique text", 1, False),
        ],
        checkRowOrder=False,
    )
    kept = transforms.drop_conflicting_labels(deduped)
    assert sorted(row["text"] for row in kept.collect()) == sorted(["Unique text", preferred_text])


def test_keys_tell_texts_and_rows_apart(spark: SparkSession) -> None:
    frame = kept_frame(
        spark,
        [
            ("R1", "Same words", 1),
            ("R2", "same WORDS", 1),
            ("R2", "same WORDS", 1),
            (None, "R3", 1),
        ],
    ).collect()
    first, case_variant, copy, shifted = frame
    assert first["text_key"] == case_variant["text_key"]  # compared lower-cased
    assert first["text_check"] == case_variant["text_check"]
    assert first["text_check"] != first["text_key"]  # two hashes, not one twice
    assert first["sampling_key"] == case_variant["sampling_key"]
    assert first["split"] == case_variant["split"]
    assert first["row_key"] != case_variant["row_key"]  # but they are different rows
    assert copy["row_key"] == case_variant["row_key"]
    # A value moved to the next column (past a null) makes another row, not the same hash.
    moved = transforms.with_keys(
        spark.createDataFrame([("R3", None, 1, 5, "Books", DAY)], KEPT_SCHEMA)
    ).first()
    assert moved is not None
    assert shifted["row_key"] != moved["row_key"]


def test_unit_hash_is_uniform_on_the_unit_interval(spark: SparkSession) -> None:
    draws = spark.range(20_000).select(
        transforms.unit_hash(F.col("id").cast("string"), seed=7, purpose="test").alias("u")
    )
    stats = draws.agg(F.min("u"), F.max("u"), F.avg("u"), F.count_if(F.col("u") < 0.1)).first()
    assert stats is not None
    low, high, mean, below_tenth = stats
    assert 0.0 <= low < 0.001
    assert 0.999 < high < 1.0
    assert mean == pytest.approx(0.5, abs=0.01)
    assert below_tenth == pytest.approx(2_000, abs=200)


def texts_frame(spark: SparkSession, count: int) -> DataFrame:
    return spark.range(count).select(
        F.concat(F.lit("review number "), F.col("id").cast("string")).alias("text"),
        (F.col("id") % 2).cast(T.IntegerType()).alias("label"),
    )


def keyed_texts_frame(spark: SparkSession, count: int) -> DataFrame:
    return texts_frame(spark, count).withColumns(
        {
            "text_key": F.xxhash64(F.lit("text"), F.lower("text")),
            "text_check": F.xxhash64(F.lit("check"), F.lower("text")),
        }
    )


def test_assign_split_follows_fractions_and_text(spark: SparkSession) -> None:
    frame = keyed_texts_frame(spark, 20_000)
    split = transforms.assign_split(frame, fractions=FRACTIONS, seed=42)
    shares = {
        row["split"]: row["count"] / 20_000 for row in split.groupBy("split").count().collect()
    }
    assert shares == pytest.approx(FRACTIONS, abs=0.015)
    # The split depends on the text and seed only: equal texts agree, another seed moves rows.
    again = transforms.assign_split(frame.repartition(7), fractions=FRACTIONS, seed=42)
    assertDataFrameEqual(split, again, checkRowOrder=False)
    other_seed = transforms.assign_split(frame, fractions=FRACTIONS, seed=43)
    moved = split.join(other_seed.withColumnRenamed("split", "other"), ["text", "label"])
    assert moved.filter(F.col("split") != F.col("other")).count() > 5_000


def test_split_quotas_use_largest_remainders() -> None:
    assert transforms.split_quotas(5, FRACTIONS) == {"train": 4, "validation": 1, "test": 0}
    assert transforms.split_quotas(500_000, FRACTIONS) == {
        "train": 400_000,
        "validation": 50_000,
        "test": 50_000,
    }
    assert transforms.split_quotas(7, {"train": 0.5, "validation": 0.3, "test": 0.2}) == {
        "train": 4,
        "validation": 2,
        "test": 1,
    }


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(
    total=st.integers(min_value=0, max_value=10_000_000),
    train=st.floats(min_value=0.01, max_value=0.98),
    validation_share=st.floats(min_value=0.01, max_value=0.99),
)
def test_split_quotas_sum_to_total(total: int, train: float, validation_share: float) -> None:
    validation = (1 - train) * validation_share
    fractions = {"train": train, "validation": validation, "test": 1 - train - validation}
    quotas = transforms.split_quotas(total, fractions)
    assert sum(quotas.values()) == total
    for split, quota in quotas.items():
        assert abs(quota - total * fractions[split]) < 1 + 1e-6


def test_balanced_rows_per_class_caps_by_the_scarcer_label() -> None:
    counts = {
        ("train", 0): 300,
        ("train", 1): 5_000,
        ("validation", 0): 40,
        ("validation", 1): 600,
        ("test", 0): 45,
        ("test", 1): 20,
    }
    rows = transforms.balanced_rows_per_class(counts, target_rows=1_000, fractions=FRACTIONS)
    assert rows == {"train": 300, "validation": 40, "test": 20}
    rows = transforms.balanced_rows_per_class(counts, target_rows=100, fractions=FRACTIONS)
    assert rows == {"train": 40, "validation": 5, "test": 5}


def test_prefilter_fraction_leaves_a_margin() -> None:
    assert transforms.prefilter_fraction(0, 100) == 0.0
    assert transforms.prefilter_fraction(100, 100) == 1.0
    fraction = transforms.prefilter_fraction(1_000, 100_000)
    assert 0.01 < fraction < 0.0125


def test_expected_band_surrounds_the_expected_cutoff() -> None:
    assert transforms.expected_band(0, 100) == (0.0, 1.0)
    assert transforms.expected_band(100, 100).high == 1.0
    low, high = transforms.expected_band(10_000, 1_000_000)
    assert 0.009 < low < 0.01 < high < 0.011
    assert transforms.expected_band(1_000, 10) == (1.0, 1.0)  # counts that are off
    band = transforms.KeyBand(0.5, 0.5)
    for _ in range(30):
        band = transforms.widened_band(band)
    assert band == (0.0, 1.0)


def test_cutoff_in_band_counts_the_rows_below_it() -> None:
    band = [
        transforms.Cutoff(0.30, 5, 1),
        transforms.Cutoff(0.20, 9, 9),
        transforms.Cutoff(0.20, 3, 7),
        transforms.Cutoff(0.20, 3, 2),
    ]
    # Ten rows lie below the band; in order the band reads (0.20, 3, 2), (0.20, 3, 7), ...
    assert transforms.cutoff_in_band(11, 10, band) == (0.20, 3, 2)
    assert transforms.cutoff_in_band(12, 10, band) == (0.20, 3, 7)
    assert transforms.cutoff_in_band(14, 10, band) == (0.30, 5, 1)
    assert transforms.cutoff_in_band(10, 10, band) is None  # before the band
    assert transforms.cutoff_in_band(15, 10, band) is None  # past it


def lowest_rows(frame: DataFrame, rows_per_class: dict[str, int]) -> set[tuple[str, int, str]]:
    """The balancing rule spelled out on the driver: each stratum's first rows in order."""
    by_stratum: dict[tuple[str, int], list[tuple[float, int, int, str]]] = {}
    for row in frame.collect():
        by_stratum.setdefault((row["split"], row["label"]), []).append(
            (row["sampling_key"], row["text_key"], row["text_check"], row["text"])
        )
    return {
        (split, label, text)
        for (split, label), rows in by_stratum.items()
        for *_order, text in sorted(rows)[: rows_per_class[split]]
    }


def chosen_rows(
    frame: DataFrame, counts: dict[tuple[str, int], int], rows_per_class: dict[str, int]
) -> set[tuple[str, int, str]]:
    chosen, _cutoffs, candidates = job.choose_rows(frame, counts, rows_per_class)
    try:
        return {(row["split"], row["label"], row["text"]) for row in chosen.collect()}
    finally:
        candidates.unpersist()


def test_balancing_keeps_each_stratums_lowest_keys_exactly(spark: SparkSession) -> None:
    frame = transforms.with_draws(keyed_texts_frame(spark, 6_000), fractions=FRACTIONS, seed=1)
    counts = {
        (row["split"], row["label"]): row["count"]
        for row in frame.groupBy("split", "label").count().collect()
    }
    rows_per_class = {"train": 1_000, "validation": 120, "test": 80}
    expected = lowest_rows(frame, rows_per_class)
    assert len(expected) == 2 * sum(rows_per_class.values())
    assert chosen_rows(frame, counts, rows_per_class) == expected
    # However the rows are spread, and even when the counts the bands come from are off
    # (the band misses and is widened until it holds the cutoff).
    assert chosen_rows(frame.repartition(5), counts, rows_per_class) == expected
    for factor in (10, 0.1):
        wrong = {stratum: max(1, int(rows * factor)) for stratum, rows in counts.items()}
        assert chosen_rows(frame, wrong, rows_per_class) == expected
    # A stratum that keeps all its rows, and one that keeps none.
    everything = {
        "train": min(counts[("train", 0)], counts[("train", 1)]),
        "validation": 0,
        "test": 5,
    }
    assert chosen_rows(frame, counts, everything) == lowest_rows(frame, everything)


def test_balancing_tells_a_stratum_with_too_few_rows(spark: SparkSession) -> None:
    frame = transforms.with_draws(keyed_texts_frame(spark, 200), fractions=FRACTIONS, seed=1)
    counts = {(split, label): 1_000 for split in FRACTIONS for label in (0, 1)}
    with pytest.raises(RuntimeError, match="balancing bug"):
        job.choose_rows(frame, counts, {"train": 500, "validation": 1, "test": 1})


def test_output_files_are_runs_of_the_output_order_of_about_equal_size(
    spark: SparkSession,
) -> None:
    frame = transforms.with_draws(keyed_texts_frame(spark, 20_000), fractions=FRACTIONS, seed=3)
    counts = {
        (row["split"], row["label"]): row["count"]
        for row in frame.groupBy("split", "label").count().collect()
    }
    rows_per_class = {"train": 4_000, "validation": 500, "test": 500}
    chosen, cutoffs, candidates = job.choose_rows(frame, counts, rows_per_class)
    top_keys = {stratum: cutoff.sampling_key for stratum, cutoff in cutoffs.items()}
    placed = chosen.withColumn("file", transforms.output_file(rows_per_class, top_keys, 4))
    try:
        files = [row["file"] for row in placed.orderBy("split", "sampling_key").collect()]
    finally:
        candidates.unpersist()
    assert files == sorted(files)  # never back to an earlier file along the order
    sizes = [files.count(index) for index in range(4)]
    assert all(2_000 < size < 3_000 for size in sizes), sizes

"""Stage 1 orchestration: read -> label -> clean -> deduplicate -> split -> balance -> publish."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark import StorageLevel
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from amazon_sentiment.errors import InputDataError
from amazon_sentiment.etl import transforms
from amazon_sentiment.etl.io import (
    MANIFEST_NAME,
    read_reviews,
    reading_errors,
    staged_output,
)
from amazon_sentiment.etl.manifest import (
    BALANCING,
    CONFLICTING_LABELS,
    DUPLICATE_REVIEW_ID,
    DUPLICATE_TEXT,
    ClassCounts,
    GoldenSampleManifest,
)
from amazon_sentiment.etl.schemas import GOLDEN_SAMPLE_SCHEMA, LABELS, SPLITS
from amazon_sentiment.etl.session import build_spark_session
from amazon_sentiment.settings import Settings
from amazon_sentiment.text import CLEANING_RULES_VERSION

log = logging.getLogger(__name__)

# Rows per output file: few files, each small enough for one task to write.
ROWS_PER_OUTPUT_FILE = 500_000

ETL_SETTINGS = (
    "etl_input",
    "golden_sample_path",
    "target_rows",
    "seed",
    "positive_min_stars",
    "negative_max_stars",
    "min_text_chars",
    "train_fraction",
    "validation_fraction",
    "test_fraction",
    "spark_master",
    "spark_driver_memory",
    "spark_shuffle_partitions",
)

Stratum = tuple[str, int]


@dataclass(frozen=True)
class EtlResult:
    """Where the golden sample was published, and its manifest."""

    output_path: str
    manifest: GoldenSampleManifest


def run_etl(settings: Settings) -> EtlResult:
    """Build the golden sample from ``settings.etl_input`` into ``settings.golden_sample_path``.

    Raises :class:`~amazon_sentiment.errors.InputDataError` for unusable input; the
    previous golden sample, if any, is untouched unless the whole run succeeds.
    """
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    spark = build_spark_session(settings)
    fractions = {
        "train": settings.train_fraction,
        "validation": settings.validation_fraction,
        "test": settings.test_fraction,
    }
    cached: list[DataFrame] = []
    try:
        with (
            staged_output(spark, settings.golden_sample_path) as staging,
            reading_errors(settings.etl_input),
        ):
            reviews = read_reviews(spark, settings.etl_input)
            input_files = sorted(reviews.inputFiles())
            log.info("reading %s (%d files)", settings.etl_input, len(input_files))

            marked = transforms.mark_short_texts(
                transforms.clean_reviews(
                    transforms.label_by_rating(
                        reviews,
                        positive_min_stars=settings.positive_min_stars,
                        negative_max_stars=settings.negative_max_stars,
                    )
                ),
                min_text_chars=settings.min_text_chars,
            )
            # The drop reasons are counted as the rows stream into deduplication (an
            # observation), so the cleaned rows are neither cached nor read twice.
            drop_reasons = Observation("drop_reasons")
            marked = _observe_drop_reasons(marked, drop_reasons)
            # Headline and body live on in ``text``, and ``normalised_text`` is cheap to
            # derive again: not carrying them through the shuffles and the cache
            # divides what those hold by about three.
            deduped = (
                transforms.with_sampling_key(
                    transforms.assign_split(
                        transforms.dedupe_by_text(
                            transforms.dedupe_by_review_id(
                                transforms.drop_marked(
                                    marked.drop("review_headline", "review_body")
                                )
                            )
                        ),
                        fractions=fractions,
                        seed=settings.seed,
                    ),
                    seed=settings.seed,
                )
                .drop("normalised_text")
                # On local disk, not the heap: the sorts of balancing need the heap, and
                # this grows with the input (2.5 GB from a 2 GB input).
                .persist(StorageLevel.DISK_ONLY)
            )
            cached.append(deduped)
            dedup_dropped, stratum_counts = _count_deduplication(deduped)
            rows_dropped = _drop_reason_counts(drop_reasons)
            rows_kept = rows_dropped.pop("")
            rows_read = rows_kept + sum(rows_dropped.values())
            if rows_read == 0:
                raise InputDataError(f"no reviews in {settings.etl_input}: its files hold no rows")
            log.info("read %d reviews; dropped %s", rows_read, _describe(rows_dropped))
            rows_dropped.update(dedup_dropped)
            log.info("deduplicated: dropped %s", _describe(dedup_dropped))
            before = _class_counts(stratum_counts)
            log.info("class counts before balancing: %s", _describe(before))
            for label, name in LABELS.items():
                if before[name] == 0:
                    raise InputDataError(
                        f"no {name} reviews left in {settings.etl_input} after cleaning and "
                        f"deduplication (label {label}); cannot balance the classes"
                    )

            eligible = transforms.drop_conflicting_labels(deduped).withColumn(
                "normalised_text", transforms.normalised_text(F.col("text"))
            )
            rows_per_class = transforms.balanced_rows_per_class(
                stratum_counts, target_rows=settings.target_rows, fractions=fractions
            )
            golden_sample = transforms.take_lowest_keys(
                _balancing_candidates(eligible, stratum_counts, rows_per_class),
                rows_per_class=rows_per_class,
            )
            _write_golden_sample(golden_sample, staging.text, sum(rows_per_class.values()) * 2)
            split_counts = _written_split_counts(spark.read.parquet(staging.text))
            expected = {
                split: dict.fromkeys(LABELS.values(), rows)
                for split, rows in rows_per_class.items()
            }
            if split_counts != expected:
                raise RuntimeError(f"balancing bug: wrote {split_counts}, expected {expected}")
            rows_written = 2 * sum(rows_per_class.values())
            rows_dropped[BALANCING] = sum(before.values()) - rows_written
            log.info("balanced: %d rows per class, split %s", rows_written // 2, split_counts)

            manifest = GoldenSampleManifest(
                input_path=settings.etl_input,
                input_files=input_files,
                output_path=settings.golden_sample_path,
                rows_read=rows_read,
                rows_dropped=rows_dropped,
                class_counts_before_balancing=before,
                split_counts_before_balancing={
                    split: {
                        name: stratum_counts.get((split, label), 0)
                        for label, name in LABELS.items()
                    }
                    for split in SPLITS
                },
                rows_per_class=rows_written // 2,
                class_counts_after_balancing=dict.fromkeys(LABELS.values(), rows_written // 2),
                split_counts=split_counts,
                rows_written=rows_written,
                seed=settings.seed,
                target_rows=settings.target_rows,
                cleaning_rules_version=CLEANING_RULES_VERSION,
                spark_version=spark.version,
                started_at=started_at.isoformat(timespec="seconds"),
                duration_seconds=round(time.monotonic() - clock, 3),
                settings=settings.model_dump(include=set(ETL_SETTINGS)),
            )
            staging.child(MANIFEST_NAME).write_text(manifest.to_json())
    finally:
        for frame in cached:
            frame.unpersist()
    log.info(
        "golden sample: %d rows in %s (%.1f s)",
        manifest.rows_written,
        settings.golden_sample_path,
        manifest.duration_seconds,
    )
    return EtlResult(output_path=settings.golden_sample_path, manifest=manifest)


def _observe_drop_reasons(marked: DataFrame, observation: Observation) -> DataFrame:
    """``marked``, counting its rows per drop reason when an action runs it."""
    reason = F.col("drop_reason")
    return marked.observe(
        observation,
        F.count_if(reason.isNull()).alias("kept"),
        *[F.count_if(reason == name).alias(name) for name in transforms.ROW_DROP_REASONS],
    )


def _drop_reason_counts(observation: Observation) -> dict[str, int]:
    """Rows per drop reason; kept rows are counted under ``""``.

    An input with no rows may run no task at all (adaptive execution prunes the empty
    plan), and then Spark has no metrics to give: every count is zero.
    """
    try:
        counts = observation.get
    except Py4JJavaError:
        log.debug("no metrics observed: the input produced no rows", exc_info=True)
        counts = {}
    dropped = {name: int(counts.get(name, 0)) for name in transforms.ROW_DROP_REASONS}
    dropped[""] = int(counts.get("kept", 0))
    return dropped


def _count_deduplication(deduped: DataFrame) -> tuple[dict[str, int], dict[Stratum, int]]:
    """Rows removed by each deduplication step, and distinct texts per (split, label).

    One aggregation over the deduplicated rows, which carry the counts of the rows
    they stand for.
    """
    conflicting = F.col("conflicting_labels")
    totals = deduped.agg(
        F.sum("review_id_duplicates").alias(DUPLICATE_REVIEW_ID),
        F.sum(F.when(~conflicting, F.col("text_rows") - 1)).alias(DUPLICATE_TEXT),
        F.sum(F.when(conflicting, F.col("text_rows"))).alias(CONFLICTING_LABELS),
        *[
            F.count_if(~conflicting & (F.col("split") == split) & (F.col("label") == label)).alias(
                f"{split}_{label}"
            )
            for split in SPLITS
            for label in LABELS
        ],
    ).first()
    assert totals is not None
    dropped = {
        reason: int(totals[reason] or 0)
        for reason in (DUPLICATE_REVIEW_ID, DUPLICATE_TEXT, CONFLICTING_LABELS)
    }
    strata = {
        (split, label): int(totals[f"{split}_{label}"]) for split in SPLITS for label in LABELS
    }
    return dropped, strata


def _class_counts(stratum_counts: dict[Stratum, int]) -> ClassCounts:
    return {
        name: sum(
            rows for (_, stratum_label), rows in stratum_counts.items() if stratum_label == label
        )
        for label, name in LABELS.items()
    }


def _balancing_candidates(
    eligible: DataFrame, stratum_counts: dict[Stratum, int], rows_per_class: dict[str, int]
) -> DataFrame:
    """Rows with a low enough key to hold each stratum's lowest ``rows_per_class`` keys.

    Any threshold passing at least the wanted number of rows yields the same final
    selection (the lowest keys are all below it); a stratum that falls short is
    widened to all its rows.
    """
    fractions = {
        stratum: transforms.prefilter_fraction(rows_per_class[stratum[0]], available)
        for stratum, available in stratum_counts.items()
    }
    passed = {
        (row["split"], row["label"]): int(row["rows"])
        for row in transforms.prefilter_strata(eligible, key_fractions=fractions)
        .groupBy("split", "label")
        .agg(F.count(F.lit(1)).alias("rows"))
        .collect()
    }
    for stratum in fractions:
        if passed.get(stratum, 0) < rows_per_class[stratum[0]]:
            log.info("prefilter kept too few rows of %s: widening to all", stratum)
            fractions[stratum] = 1.0
    return transforms.prefilter_strata(eligible, key_fractions=fractions)


def _write_golden_sample(golden_sample: DataFrame, path: str, rows: int) -> None:
    """Write in the declared schema, in a stable order, as a few files."""
    files = max(1, -(-rows // ROWS_PER_OUTPUT_FILE))
    order = ["split", "sampling_key", "normalised_text"]
    (
        golden_sample.repartitionByRange(files, *order)
        .sortWithinPartitions(*order)
        .select(
            *[
                F.col(field.name).cast(field.dataType).alias(field.name)
                for field in GOLDEN_SAMPLE_SCHEMA
            ]
        )
        .write.mode("errorifexists")
        .parquet(path)
    )


def _written_split_counts(written: DataFrame) -> dict[str, ClassCounts]:
    counts = {
        (row["split"], row["label"]): int(row["rows"])
        for row in written.groupBy("split", "label").agg(F.count(F.lit(1)).alias("rows")).collect()
    }
    return {
        split: {name: counts.get((split, label), 0) for label, name in LABELS.items()}
        for split in SPLITS
    }


def _describe(counts: dict[str, Any]) -> str:
    return ", ".join(f"{name} {value}" for name, value in counts.items()) or "nothing"

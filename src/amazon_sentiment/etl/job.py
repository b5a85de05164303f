"""Stage 1 orchestration: read -> label -> clean -> deduplicate -> split -> balance -> publish."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Observation, SparkSession
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
from amazon_sentiment.etl.transforms import Stratum
from amazon_sentiment.settings import Settings
from amazon_sentiment.text import CLEANING_RULES_VERSION

log = logging.getLogger(__name__)

# Rows per output file: few files, each small enough for one task to write.
ROWS_PER_OUTPUT_FILE = 250_000

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


#: What deduplication works on: the id and a few fixed-width values per row, never text.
KEY_COLUMNS = (
    "id_key",
    "id_check",
    "label",
    "text_key",
    "text_check",
    "row_key",
    "row_id",
)
#: What deduplication leaves of each row balancing may choose: its text's keys (from
#: which its split and sampling key follow), its label, and which input row it is.
ELIGIBLE_COLUMNS = ("text_key", "text_check", "label", "row_id")
#: Share of a label's rows assumed to survive cleaning and deduplication when choosing
#: which texts to keep through deduplication. If fewer survive, the job reads the
#: chosen rows' texts again: slower, never wrong.
ASSUMED_SURVIVAL = 0.5
#: Spark settings while deduplication is planned and run, and only then. Its two
#: aggregations group by keys that are nearly all distinct (review ids, texts), so an
#: aggregation before the shuffle removes next to nothing and costs a hash-map insert
#: per row: run one aggregation after the shuffle instead. Smaller post-shuffle
#: partitions keep each task's hash map small. Measured on 1 GB: 12.4 s -> 8.2 s
#: (docs/benchmarks.md). The counts by label or stratum elsewhere, with a handful of
#: groups, keep their partial step (and Spark never skips it for a global aggregation).
DEDUPLICATION_CONF: Mapping[str, str] = {
    "spark.sql.execution.bypassPartialAggregation": "true",
    "spark.sql.adaptive.advisoryPartitionSizeInBytes": "16m",
}


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

            labelled = transforms.label_by_rating(
                reviews,
                positive_min_stars=settings.positive_min_stars,
                negative_max_stars=settings.negative_max_stars,
            )
            marked = transforms.mark_short_texts(
                transforms.clean_reviews(labelled), min_text_chars=settings.min_text_chars
            )
            # The drop reasons are counted as the rows stream past (an observation), so
            # the cleaned rows are neither cached nor read twice.
            drop_reasons = Observation("drop_reasons")
            marked = _observe_drop_reasons(marked, drop_reasons)
            text_thresholds = _text_thresholds(reviews, settings, fractions)
            log.info("keeping texts with sampling keys below %s", text_thresholds)
            # One pass over the input: every row reduced to its keys, and the text
            # kept only where balancing may pick it. On local disk, not the heap.
            keyed = _keyed_rows(
                transforms.drop_marked(marked),
                text_thresholds,
                seed=settings.seed,
            ).persist(StorageLevel.DISK_ONLY)
            cached.append(keyed)
            eligible, dedup_dropped, stratum_counts = deduplicate(
                keyed, fractions=fractions, seed=settings.seed
            )
            cached.append(eligible)
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

            rows_per_class = transforms.balanced_rows_per_class(
                stratum_counts, target_rows=settings.target_rows, fractions=fractions
            )
            chosen, cutoffs, candidates = choose_rows(
                transforms.with_draws(eligible, fractions=fractions, seed=settings.seed),
                stratum_counts,
                rows_per_class,
            )
            cached.append(candidates)
            if all(
                cutoff.sampling_key < text_thresholds[label]
                for (_split, label), cutoff in cutoffs.items()
            ):
                texts = keyed.filter(F.col("text").isNotNull())
            else:
                # More rows were dropped than the thresholds allowed for: read the
                # input again, keeping every text this time (same rows, same keys).
                log.info("balancing chose rows whose text was not kept: reading them again")
                texts = _keyed_rows(
                    transforms.drop_marked(marked),
                    dict.fromkeys(LABELS, 1.0),
                    seed=settings.seed,
                )
            golden_sample = transforms.with_draws(
                texts.join(F.broadcast(chosen.select("row_id")), "row_id", "left_semi"),
                fractions=fractions,
                seed=settings.seed,
            )
            _write_golden_sample(golden_sample, staging.text, rows_per_class, cutoffs)
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


def deduplicate(
    keyed: DataFrame, *, fractions: dict[str, float], seed: int
) -> tuple[DataFrame, dict[str, int], dict[Stratum, int]]:
    """The rows balancing may choose from, cached: one per review id, then per text, none
    whose text carries both labels, each as :data:`ELIGIBLE_COLUMNS` (its split and
    sampling key follow from ``text_key``: :func:`transforms.with_draws`); the rows each
    step removed, and the eligible texts per (split, label).

    Planned and run under :data:`DEDUPLICATION_CONF`: adaptive execution plans each stage
    again as the previous one finishes. One action builds the cache and, as the rows
    stream into it, counts them (an observation): no pass over the cache only to count.
    """
    with session_conf(keyed.sparkSession, DEDUPLICATION_CONF):
        by_id = transforms.dedupe_by_review_id(keyed.select(*KEY_COLUMNS))
        deduped = transforms.with_draws(
            transforms.dedupe_by_text(by_id), fractions=fractions, seed=seed
        )
        counts = Observation("deduplication")
        eligible = (
            transforms.drop_conflicting_labels(_observe_deduplication(deduped, counts))
            .select(*ELIGIBLE_COLUMNS)
            .persist(StorageLevel.DISK_ONLY)
        )
        try:
            eligible.write.format("noop").mode("overwrite").save()
        except BaseException:
            eligible.unpersist()
            raise
    dropped, stratum_counts = _deduplication_counts(_observed(counts))
    return eligible, dropped, stratum_counts


@contextmanager
def session_conf(spark: SparkSession, conf: Mapping[str, str]) -> Iterator[None]:
    """Set ``conf`` on the session for the block, then put back what was there."""
    previous: dict[str, str | None] = {key: spark.conf.get(key, None) for key in conf}
    for key, value in conf.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, old in previous.items():
            if old is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, old)


def _text_thresholds(
    reviews: DataFrame, settings: Settings, fractions: dict[str, float]
) -> dict[int, float]:
    """Per label, the sampling key below which a row's text is kept through deduplication.

    Balancing takes the lowest keys of each (split, label) stratum, so it will pick
    below the threshold that lets about its quota through. Counting the labels first
    (from the ratings column alone, a small fraction of the input's bytes) tells the
    stratum sizes before deduplication; :data:`ASSUMED_SURVIVAL` allows for the rows
    that cleaning and deduplication remove.
    """
    label = transforms.rating_label(
        F.col("star_rating"),
        positive_min_stars=settings.positive_min_stars,
        negative_max_stars=settings.negative_max_stars,
    )
    counts = {
        int(row["label"]): int(row["rows"])
        for row in reviews.select(label.alias("label"))
        .filter(F.col("label").isNotNull())
        .groupBy("label")
        .agg(F.count(F.lit(1)).alias("rows"))
        .collect()
    }
    quotas = transforms.split_quotas(settings.target_rows // 2, fractions)
    return {
        label: max(
            transforms.prefilter_fraction(
                quotas[split], int(counts.get(label, 0) * fractions[split] * ASSUMED_SURVIVAL)
            )
            if counts.get(label, 0)
            else 1.0
            for split in SPLITS
        )
        for label in LABELS
    }


def _keyed_rows(kept: DataFrame, text_thresholds: dict[int, float], *, seed: int) -> DataFrame:
    """``kept`` as its :data:`KEY_COLUMNS`, and the output columns (id, text, stars,
    category, date) where its sampling key is below the label's threshold.

    ``row_id`` tells apart copies of one row (alike in every column, ``row_key`` too),
    so that the text of exactly one of them is picked up again. It numbers the rows in
    the order they are read: the same on every evaluation of the same input.
    """
    keyed = transforms.with_sampling_key(transforms.with_keys(kept), seed=seed).withColumn(
        "row_id", F.monotonically_increasing_id()
    )
    threshold: Column = F.lit(-1.0)
    for label, value in text_thresholds.items():
        threshold = F.when(F.col("label") == label, F.lit(value)).otherwise(threshold)
    wanted = F.col("sampling_key") < threshold
    return keyed.select(
        *KEY_COLUMNS,
        *[
            F.when(wanted, F.col(name)).alias(name)
            for name in ("review_id", "text", "star_rating", "product_category", "review_date")
        ],
    )


def _observe_drop_reasons(marked: DataFrame, observation: Observation) -> DataFrame:
    """``marked``, counting its rows per drop reason when an action runs it."""
    reason = F.col("drop_reason")
    return marked.observe(
        observation,
        F.count_if(reason.isNull()).alias("kept"),
        *[F.count_if(reason == name).alias(name) for name in transforms.ROW_DROP_REASONS],
    )


def _drop_reason_counts(observation: Observation) -> dict[str, int]:
    """Rows per drop reason; kept rows are counted under ``""``."""
    counts = _observed(observation)
    dropped = {name: int(counts.get(name, 0)) for name in transforms.ROW_DROP_REASONS}
    dropped[""] = int(counts.get("kept", 0))
    return dropped


def _observed(observation: Observation) -> dict[str, Any]:
    """What ``observation`` saw; nothing at all for an empty input.

    An input with no rows may run no task at all (adaptive execution prunes the empty
    plan), and then Spark has no metrics to give.
    """
    try:
        return dict(observation.get)
    except Py4JJavaError:
        log.debug("no metrics observed: the input produced no rows", exc_info=True)
        return {}


def _observe_deduplication(deduped: DataFrame, observation: Observation) -> DataFrame:
    """``deduped``, summing as it streams past the rows each deduplication step removed
    and counting the texts per (split, label) that no conflict removes.

    The deduplicated rows carry the counts of the rows they stand for.
    """
    conflicting = F.col("conflicting_labels")
    return deduped.observe(
        observation,
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
    )


def _deduplication_counts(
    totals: Mapping[str, Any],
) -> tuple[dict[str, int], dict[Stratum, int]]:
    """Rows removed by each deduplication step, and eligible texts per (split, label)."""
    dropped = {
        reason: int(totals.get(reason) or 0)
        for reason in (DUPLICATE_REVIEW_ID, DUPLICATE_TEXT, CONFLICTING_LABELS)
    }
    strata = {
        (split, label): int(totals.get(f"{split}_{label}") or 0)
        for split in SPLITS
        for label in LABELS
    }
    return dropped, strata


def _class_counts(stratum_counts: dict[Stratum, int]) -> ClassCounts:
    return {
        name: sum(
            rows for (_, stratum_label), rows in stratum_counts.items() if stratum_label == label
        )
        for label, name in LABELS.items()
    }


def choose_rows(
    eligible: DataFrame, stratum_counts: Mapping[Stratum, int], rows_per_class: Mapping[str, int]
) -> tuple[DataFrame, dict[Stratum, transforms.Cutoff], DataFrame]:
    """The rows of the golden sample, the last row each (split, label) stratum keeps, and
    the cached rows they were picked from (the caller unpersists them).

    Each stratum keeps its ``rows_per_class[split]`` first rows in
    :data:`transforms.BALANCING_ORDER`, lowest sampling key first. Ranking a whole
    stratum would sort it in one task. Instead: keys are uniform, so a stratum's cutoff
    lies near ``wanted / available``; one pass counts each stratum's rows below a band
    around it (:func:`transforms.expected_band`) and collects the few thousand in it, and
    the cutoff is found among those. The same pass caches the rows below each band's
    end (about the sample's size), from which the chosen rows are then picked. A band
    that misses (about one run in a billion, or counts that are off) is widened and the
    pass repeated; any band holding the cutoff gives the same rows.
    """
    wanted = {stratum: rows_per_class[stratum[0]] for stratum in stratum_counts}
    bands = {
        stratum: transforms.expected_band(rows, stratum_counts[stratum])
        for stratum, rows in wanted.items()
        if rows > 0
    }
    cutoffs: dict[Stratum, transforms.Cutoff] = {}
    while True:
        candidates = transforms.below_bands(eligible, bands).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            summary = {
                (row["split"], int(row["label"])): row
                for row in transforms.band_summary(candidates, bands).collect()
            }
        except BaseException:
            candidates.unpersist()
            raise
        missed: dict[Stratum, transforms.KeyBand] = {}
        for stratum, band in bands.items():
            row = summary.get(stratum)
            below = int(row["below"]) if row is not None else 0
            orders = row["band"] if row is not None else []
            in_band = [transforms.Cutoff(*order) for order in orders]
            cutoff = transforms.cutoff_in_band(wanted[stratum], below, in_band)
            if cutoff is not None:
                cutoffs[stratum] = cutoff
            elif band == (0.0, 1.0):
                candidates.unpersist()
                raise RuntimeError(
                    f"balancing bug: stratum {stratum} has {below + len(in_band)} rows, "
                    f"fewer than the {wanted[stratum]} it should keep"
                )
            else:
                missed[stratum] = transforms.widened_band(band)
        if not missed:
            return transforms.at_or_below_cutoffs(candidates, cutoffs), cutoffs, candidates
        log.info("balancing: the cutoff of %s lay outside its band: widening", sorted(missed))
        candidates.unpersist()
        bands.update(missed)


def _write_golden_sample(
    golden_sample: DataFrame,
    path: str,
    rows_per_class: Mapping[str, int],
    cutoffs: Mapping[Stratum, transforms.Cutoff],
) -> None:
    """Write in the declared schema, in a stable order (split, sampling key, row), as a few
    files, each a run of that order (:func:`transforms.output_file`), without sampling
    the rows for range boundaries first."""
    files = max(1, -(-2 * sum(rows_per_class.values()) // ROWS_PER_OUTPUT_FILE))
    output_file = transforms.output_file(
        rows_per_class, {stratum: cutoff.sampling_key for stratum, cutoff in cutoffs.items()}, files
    )
    (
        golden_sample.repartitionById(files, output_file)
        .sortWithinPartitions("split", "sampling_key", "row_id")
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

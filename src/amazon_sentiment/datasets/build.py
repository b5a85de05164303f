"""Write a resampled reviews dataset laid out like ``amazon-reviews-pds``'s Parquet.

Layout: ``<output>/product_category=<category>/part-<chunk>.snappy.parquet`` (one file
per chunk and category, so many files per category, as in the public dataset) and
``<output>/_dataset.json`` describing how it was made (Spark, pyarrow and DuckDB skip
files starting with an underscore). The folder is built in a staging folder beside
the output and moved into place only when complete.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from amazon_sentiment.datasets.pools import STAR_RATINGS, build_pools, read_source_reviews
from amazon_sentiment.datasets.synthesis import RatingMix, resampled_reviews
from amazon_sentiment.errors import ConfigError, PipelineError

log = logging.getLogger(__name__)

#: Rows generated (and written) per step. Part of what a seed means: changing it
#: changes the rows a seed gives.
CHUNK_ROWS = 500_000
DESCRIPTION_FILE = "_dataset.json"
PARTITION_COLUMN = "product_category"
# Hive's default partition name for a null value, as Spark writes and reads it.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
# Characters Spark escapes in partition folder names (ExternalCatalogUtils.escapePathName).
_ESCAPED_IN_PATHS = frozenset("\"#%'*/:=?\\\x7f{[]^") | frozenset(chr(code) for code in range(0x20))


@dataclass(frozen=True)
class DatasetRequest:
    rows: int
    positive_share: float
    seed: int
    output: Path
    source: str
    positive_min_stars: int = 4
    negative_max_stars: int = 2


@dataclass(frozen=True)
class DatasetDescription:
    """What ``_dataset.json`` records about a built dataset."""

    rows: int
    positive_share: float
    seed: int
    source: str
    source_reviews: int
    star_rating_counts: dict[str, int]
    category_counts: dict[str, int]
    files: int
    bytes_on_disk: int
    seconds: float
    chunk_rows: int = CHUNK_ROWS
    note: str = field(
        default="Resampled text: every review_body is real sentences from source reviews with "
        "the same star_rating, recombined; ids are new; other fields are copied from one "
        "real review with that rating. Not collected reviews."
    )


def make_dataset(request: DatasetRequest) -> DatasetDescription:
    """Build the dataset described by ``request`` and move it into ``request.output``."""
    _check_request(request)
    started = time.perf_counter()
    pools = build_pools(read_source_reviews(request.source))
    try:
        mix = RatingMix.for_positive_share(
            pools.rating_counts,
            positive_share=request.positive_share,
            positive_min_stars=request.positive_min_stars,
            negative_max_stars=request.negative_max_stars,
        )
    except ValueError as error:
        raise ConfigError(
            f"cannot reach positive share {request.positive_share}: {error}"
        ) from None

    output = request.output
    staging = output.parent / f".{output.name}.staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        rating_counts = np.zeros(len(STAR_RATINGS), dtype=np.int64)
        category_counts: dict[str, int] = {}
        files = 0
        for chunk_index, first_row in enumerate(range(0, request.rows, CHUNK_ROWS)):
            reviews = resampled_reviews(
                pools,
                mix,
                first_row=first_row,
                rows=min(CHUNK_ROWS, request.rows - first_row),
                seed=request.seed,
                chunk_index=chunk_index,
            )
            rating_counts += np.bincount(reviews["star_rating"].to_numpy() - 1, minlength=5)
            for category, rows in _write_partitioned(reviews, staging, chunk_index).items():
                category_counts[category] = category_counts.get(category, 0) + rows
                files += 1
            log.info(
                "wrote rows %d-%d of %d", first_row, first_row + reviews.num_rows, request.rows
            )
        description = DatasetDescription(
            rows=request.rows,
            positive_share=request.positive_share,
            seed=request.seed,
            source=request.source,
            source_reviews=pools.source_rows,
            star_rating_counts={
                str(star): int(n) for star, n in zip(STAR_RATINGS, rating_counts, strict=True)
            },
            category_counts=dict(sorted(category_counts.items())),
            files=files,
            bytes_on_disk=sum(path.stat().st_size for path in staging.rglob("*.parquet")),
            seconds=round(time.perf_counter() - started, 1),
        )
        (staging / DESCRIPTION_FILE).write_text(json.dumps(asdict(description), indent=2) + "\n")
        _replace(output, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info(
        "dataset of %d rows (%.1f MB in %d files) written to %s in %.0f s",
        description.rows,
        description.bytes_on_disk / 1e6,
        description.files,
        output,
        description.seconds,
    )
    return description


def partition_folder(category: str | None) -> str:
    """The Hive-style folder name Spark would give this category."""
    if category is None:
        return f"{PARTITION_COLUMN}={NULL_PARTITION}"
    escaped = "".join(
        f"%{ord(char):02X}" if char in _ESCAPED_IN_PATHS else char for char in category
    )
    return f"{PARTITION_COLUMN}={escaped}"


def _write_partitioned(reviews: pa.Table, folder: Path, chunk_index: int) -> dict[str, int]:
    """One Snappy Parquet file per category of this chunk; rows per category written."""
    categories = reviews[PARTITION_COLUMN]
    written: dict[str, int] = {}
    for category in sorted(
        pc.unique(categories).to_pylist(), key=lambda value: (value is None, value or "")
    ):
        in_category = pc.is_null(categories) if category is None else pc.equal(categories, category)
        rows = reviews.filter(in_category).drop_columns([PARTITION_COLUMN])
        partition = folder / partition_folder(category)
        partition.mkdir(exist_ok=True)
        pq.write_table(
            rows, partition / f"part-{chunk_index:05d}.snappy.parquet", compression="snappy"
        )
        written[NULL_PARTITION if category is None else category] = rows.num_rows
    return written


def _check_request(request: DatasetRequest) -> None:
    if request.rows < 1:
        raise ConfigError(f"--rows must be at least 1 (got {request.rows})")
    if not 0.0 <= request.positive_share <= 1.0:
        raise ConfigError(
            f"--positive-share must be between 0 and 1 (got {request.positive_share})"
        )
    output = request.output
    if output.exists() and not (output / DESCRIPTION_FILE).exists():
        # Only ever replace a dataset this command made: never someone's real data.
        raise PipelineError(
            f"{output} exists and is not a dataset made by make-dataset (no {DESCRIPTION_FILE}):"
            " choose another --output or remove it"
        )


def _replace(output: Path, staging: Path) -> None:
    """Move ``staging`` to ``output``; an earlier dataset there goes only after that worked."""
    previous = output.parent / f".{output.name}.previous-{uuid.uuid4().hex[:8]}"
    if output.exists():
        output.rename(previous)
    try:
        staging.rename(output)
    except OSError:
        if previous.exists():
            previous.rename(output)
        raise
    shutil.rmtree(previous, ignore_errors=True)

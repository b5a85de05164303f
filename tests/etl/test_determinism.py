"""The same input and seed give the same golden sample however the input is partitioned."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from amazon_sentiment.etl.io import MANIFEST_NAME
from amazon_sentiment.etl.job import run_etl
from amazon_sentiment.etl.manifest import RUN_FIELDS
from tests.fixtures.golden_sample import BUNDLED_SAMPLE, golden_sample_settings

# Small enough that balancing really undersamples both classes (bands below the top key).
TARGET_ROWS = 3_000


def rewrite(spark: SparkSession, files: int, folder: Path) -> Path:
    reviews = spark.read.parquet(str(BUNDLED_SAMPLE))
    # A different row order and file layout for each copy.
    laid_out = reviews.coalesce(1) if files == 1 else reviews.repartition(files)
    laid_out.write.parquet(str(folder))
    assert len(list(folder.glob("part-*.parquet"))) == files
    return folder


@pytest.mark.parametrize("layouts", [(1, 7)])
def test_partitioning_does_not_change_the_sample(
    spark: SparkSession, tmp_path: Path, layouts: tuple[int, int]
) -> None:
    samples = []
    manifests = []
    for files in layouts:
        source = rewrite(spark, files, tmp_path / f"input_{files}")
        output = tmp_path / f"golden_{files}"
        run_etl(golden_sample_settings(output, etl_input=str(source), target_rows=TARGET_ROWS))
        samples.append(pd.read_parquet(output))
        manifest = json.loads((output / MANIFEST_NAME).read_text())
        manifests.append({key: value for key, value in manifest.items() if key not in RUN_FIELDS})

    one_file, seven_files = samples
    assert len(one_file) == TARGET_ROWS
    pd.testing.assert_frame_equal(one_file, seven_files)
    assert manifests[0] == manifests[1]
    assert manifests[0]["rows_per_class"] == TARGET_ROWS // 2


def test_texts_dropped_early_are_read_again_when_deduplication_removes_more(
    spark: SparkSession, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Four copies of every review: deduplication keeps a quarter, below the share
    assumed when choosing which texts to carry, so the chosen rows' texts are read
    again. The sample is the one the input without copies gives."""
    original = rewrite(spark, 3, tmp_path / "original")
    copies = tmp_path / "copies"
    reviews = spark.read.parquet(str(original))
    reviews.unionByName(reviews).unionByName(reviews).unionByName(reviews).repartition(
        5
    ).write.parquet(str(copies))

    samples = []
    for source in (original, copies):
        output = tmp_path / f"golden_{source.name}"
        with caplog.at_level("INFO", logger="amazon_sentiment.etl.job"):
            caplog.clear()
            run_etl(golden_sample_settings(output, etl_input=str(source), target_rows=TARGET_ROWS))
        read_again = "reading them again" in caplog.text
        assert read_again is (source == copies)
        samples.append(pd.read_parquet(output))
    assert len(samples[0]) == TARGET_ROWS
    pd.testing.assert_frame_equal(samples[0], samples[1])

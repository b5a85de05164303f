"""What several scale tests compare against: the golden sample local mode makes."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest
from pyspark.sql import SparkSession

from amazon_sentiment.etl.job import run_etl
from amazon_sentiment.settings import Settings
from tests.fixtures.spark import TEST_SPARK_SETTINGS

BUNDLED_SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "amazon_reviews"
#: Target rows and seed of every reference run: small, so the cluster and S3 runs are quick.
REFERENCE_TARGET_ROWS = 3_000
REFERENCE_SEED = 11


def read_golden_sample(path: str, filesystem: pafs.FileSystem | None = None) -> pa.Table:
    """A golden sample's rows in one canonical order, for equality checks."""
    table = ds.dataset(path, format="parquet", filesystem=filesystem).to_table()
    return table.sort_by([("split", "ascending"), ("text", "ascending")])


@pytest.fixture(scope="session")
def local_golden_sample(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    """The bundled sample's golden sample from local mode (the test session's Spark)."""
    output = tmp_path_factory.mktemp("local_golden_sample") / "golden_sample"
    run_etl(
        Settings(
            **TEST_SPARK_SETTINGS,  # type: ignore[arg-type]
            etl_input=str(BUNDLED_SAMPLE),
            golden_sample_path=str(output),
            target_rows=REFERENCE_TARGET_ROWS,
            seed=REFERENCE_SEED,
        )
    )
    return read_golden_sample(str(output))

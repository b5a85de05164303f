"""The ETL submitted to a real standalone cluster gives the golden sample local mode gives."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

from tests.fixtures.spark_cluster import EXECUTOR_MEMORY, WORKER_CORES, WORKERS, SparkCluster
from tests.scale.conftest import (
    BUNDLED_SAMPLE,
    REFERENCE_SEED,
    REFERENCE_TARGET_ROWS,
    read_golden_sample,
)

# The file spark-submit runs: `python -m amazon_sentiment`, the CLI.
ENTRY_POINT = importlib.util.find_spec("amazon_sentiment.__main__").origin  # type: ignore[union-attr]

pytestmark = pytest.mark.slow


def driver_errors(log: str) -> str:
    """The lines of a driver log worth reading when a submission failed."""
    wanted = ("ERROR", "Error", "Traceback", "Exception")
    return "\n".join(line for line in log.splitlines() if any(word in line for word in wanted))


def test_etl_submitted_to_the_cluster_matches_local_mode(
    spark_cluster: SparkCluster, local_golden_sample: pa.Table, tmp_path: Path
) -> None:
    cluster_output = tmp_path / "cluster_golden_sample"
    app_name = f"etl-cluster-test-{tmp_path.name}"

    submitted = subprocess.run(
        [
            str(spark_cluster.spark_home / "bin" / "spark-submit"),
            f"--master={spark_cluster.master_url}",
            f"--name={app_name}",
            f"--executor-memory={EXECUTOR_MEMORY}",
            f"--total-executor-cores={WORKERS * WORKER_CORES}",
            "--driver-memory=1g",
            "--conf=spark.ui.enabled=false",
            str(ENTRY_POINT),
            "etl",
            f"--input={BUNDLED_SAMPLE}",
            f"--output={cluster_output}",
            f"--target-rows={REFERENCE_TARGET_ROWS}",
            f"--seed={REFERENCE_SEED}",
        ],
        env={**spark_cluster.submit_env(), "AMAZON_SENTIMENT_SPARK_APP_NAME": app_name},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    (tmp_path / "driver.log").write_text(submitted.stderr)
    assert submitted.returncode == 0, driver_errors(submitted.stderr)

    cluster_sample = read_golden_sample(str(cluster_output))
    assert cluster_sample.num_rows == REFERENCE_TARGET_ROWS
    assert cluster_sample.equals(local_golden_sample)
    # The executors cleaned with the JVM cleaner: its jar reached them through spark.jars.
    # (spark-submit merges the Python driver's stderr, where the CLI logs, into stdout.)
    assert "cleaning with the JVM cleaner" in submitted.stdout
    # It really ran on the cluster, with executors on both workers.
    finished = [app for app in spark_cluster.completed_applications() if app["name"] == app_name]
    assert len(finished) == 1
    assert finished[0]["cores"] == WORKERS * WORKER_CORES

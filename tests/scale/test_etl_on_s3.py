"""The ETL reads s3a:// input and writes s3a:// output on a real S3 server (SeaweedFS).

The ETL runs as the CLI in its own process: s3a needs hadoop-aws on the JVM's class
path from the start, which the test session's shared JVM does not have.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pytest

from tests.fixtures.processes import env_with_venv
from tests.fixtures.s3 import S3Server
from tests.scale.conftest import (
    BUNDLED_SAMPLE,
    REFERENCE_SEED,
    REFERENCE_TARGET_ROWS,
    read_golden_sample,
)

REPO = Path(__file__).parents[2]
S3A_JARS = [
    REPO / ".cache" / "jars" / "hadoop-aws-3.3.1.jar",
    REPO / ".cache" / "jars" / "aws-java-sdk-bundle-1.11.901.jar",
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def s3a_jars() -> str:
    missing = [str(jar) for jar in S3A_JARS if not jar.exists()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `make jars` (scripts/fetch-s3a-jars.sh)")
    return ",".join(str(jar) for jar in S3A_JARS)


def s3a_env(s3_server: S3Server, jars: str) -> dict[str, str]:
    """The settings a user sets to point the ETL at an S3-compatible store."""
    return env_with_venv(
        AMAZON_SENTIMENT_SPARK_JARS=jars,
        AMAZON_SENTIMENT_S3_ENDPOINT_URL=s3_server.endpoint_url,
        AMAZON_SENTIMENT_S3_PATH_STYLE_ACCESS="true",
        AMAZON_SENTIMENT_S3_ACCESS_KEY_ID=s3_server.access_key,
        AMAZON_SENTIMENT_S3_SECRET_ACCESS_KEY=s3_server.secret_key,
        AMAZON_SENTIMENT_SPARK_MASTER="local[2]",
        AMAZON_SENTIMENT_SPARK_SHUFFLE_PARTITIONS="2",
        AMAZON_SENTIMENT_SPARK_DRIVER_MEMORY="1g",
    )


def upload_folder(s3_server: S3Server, folder: Path, bucket: str, prefix: str) -> None:
    client = s3_server.client()
    for file in sorted(folder.glob("*.parquet")):
        client.upload_file(str(file), bucket, f"{prefix}/{file.name}")


def pyarrow_s3(s3_server: S3Server) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        endpoint_override=s3_server.endpoint_url,
        region=s3_server.region,
    )


def run_cli_etl(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amazon_sentiment", "etl", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_etl_from_s3_to_s3_matches_local_mode(
    s3_server: S3Server, s3a_jars: str, local_golden_sample: pa.Table
) -> None:
    bucket = s3_server.create_bucket("etl")
    upload_folder(s3_server, BUNDLED_SAMPLE, bucket, "input")

    on_s3 = run_cli_etl(
        [
            f"--input=s3a://{bucket}/input/",
            f"--output=s3a://{bucket}/golden/",
            f"--target-rows={REFERENCE_TARGET_ROWS}",
            f"--seed={REFERENCE_SEED}",
        ],
        env=s3a_env(s3_server, s3a_jars),
    )
    assert on_s3.returncode == 0, on_s3.stderr[-3000:]

    s3 = pyarrow_s3(s3_server)
    from_s3 = read_golden_sample(f"{bucket}/golden", filesystem=s3)
    assert from_s3.num_rows == REFERENCE_TARGET_ROWS
    assert from_s3.equals(local_golden_sample)
    with s3.open_input_stream(f"{bucket}/golden/_manifest.json") as manifest_file:
        manifest = json.loads(manifest_file.read())
    assert manifest["seed"] == REFERENCE_SEED
    # Published by a move: nothing but the input and the golden sample is left behind.
    keys = [item["Key"] for item in s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert {key.split("/")[0] for key in keys} == {"input", "golden"}
    # The secret never reaches the logs.
    assert s3_server.secret_key not in on_s3.stderr + on_s3.stdout


def test_a_wrong_secret_fails_with_one_clear_message(
    s3_server: S3Server, s3a_jars: str, tmp_path: Path
) -> None:
    bucket = s3_server.create_bucket("denied")
    upload_folder(s3_server, BUNDLED_SAMPLE, bucket, "input")
    env = s3a_env(s3_server, s3a_jars)
    env["AMAZON_SENTIMENT_S3_SECRET_ACCESS_KEY"] = "wrong-" + s3_server.secret_key

    denied = run_cli_etl(
        [f"--input=s3a://{bucket}/input/", f"--output=s3a://{bucket}/golden/"], env=env
    )

    assert denied.returncode != 0
    assert f"s3a://{bucket}/" in denied.stderr
    assert "Traceback" not in denied.stderr
    assert env["AMAZON_SENTIMENT_S3_SECRET_ACCESS_KEY"] not in denied.stderr

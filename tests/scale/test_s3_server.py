"""The S3 server fixture is a real S3 endpoint: boto3 and pyarrow both talk to it."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from tests.fixtures.s3 import S3Server


def test_objects_round_trip_through_boto3(s3_server: S3Server) -> None:
    bucket = s3_server.create_bucket("roundtrip")
    client = s3_server.client()

    client.put_object(Bucket=bucket, Key="input/part-0.txt", Body=b"five stars")

    listed = client.list_objects_v2(Bucket=bucket, Prefix="input/")
    assert [item["Key"] for item in listed["Contents"]] == ["input/part-0.txt"]
    assert client.get_object(Bucket=bucket, Key="input/part-0.txt")["Body"].read() == b"five stars"


def test_a_wrong_secret_is_refused(s3_server: S3Server) -> None:
    impostor = S3Server(
        endpoint_url=s3_server.endpoint_url,
        access_key=s3_server.access_key,
        secret_key="not-" + s3_server.secret_key,
    )

    with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
        impostor.client().list_buckets()


def test_parquet_round_trips_through_pyarrow_s3_filesystem(s3_server: S3Server) -> None:
    bucket = s3_server.create_bucket("parquet")
    filesystem = pafs.S3FileSystem(
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        endpoint_override=s3_server.endpoint_url,
        region=s3_server.region,
    )
    reviews = pa.table({"star_rating": [5, 1], "review_body": ["Loved it", "Broke in a day"]})

    pq.write_table(reviews, f"{bucket}/reviews/part-0.parquet", filesystem=filesystem)

    assert pq.read_table(f"{bucket}/reviews", filesystem=filesystem).equals(reviews)

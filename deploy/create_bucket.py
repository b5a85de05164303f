"""Create MLflow's artifact bucket if it does not exist yet (compose's one-shot `s3-init`).

Reads the endpoint, keys and bucket name from the environment: AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, MLFLOW_BUCKET. Safe to run again: an
existing bucket owned by the same keys is left as it is. Runs with the serving image's
Python, which has boto3.
"""

from __future__ import annotations

import os
import sys
import time

import boto3
from botocore.exceptions import BotoCoreError, ClientError

ATTEMPTS = 30
ALREADY_THERE = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}


def main() -> int:
    bucket = os.environ.get("MLFLOW_BUCKET", "mlflow")
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    client = boto3.client("s3", endpoint_url=endpoint)
    # The S3 gateway may answer its health check before it accepts writes.
    for attempt in range(1, ATTEMPTS + 1):
        try:
            client.create_bucket(Bucket=bucket)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ALREADY_THERE:
                print(f"bucket {bucket!r} already exists at {endpoint}")
                return 0
            problem: Exception = error
        except BotoCoreError as error:
            problem = error
        else:
            print(f"created bucket {bucket!r} at {endpoint}")
            return 0
        print(f"attempt {attempt}/{ATTEMPTS}: {problem}", file=sys.stderr)
        time.sleep(2)
    print(f"could not create bucket {bucket!r} at {endpoint}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

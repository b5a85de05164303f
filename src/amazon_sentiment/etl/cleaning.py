"""The shared cleaning rules (:data:`amazon_sentiment.text.CLEANING_RULES`) on Spark.

Two engines run the same rules, in the rules' order, with ``java.util.regex``, and give
the strings :func:`amazon_sentiment.text.clean_text` gives (the parity tests in
tests/etl check both on every review of the bundled sample):

* ``jvm``: one call per text of the ``RuleCleaner`` UDF (:mod:`amazon_sentiment.etl.jvm`),
  which decodes each text once and checks the guards in plain Java;
* ``sql``: one ``regexp_replace`` per rule, each behind its guards, built from Spark
  SQL expressions; several times slower (docs/benchmarks.md), and the fallback when
  the UDF's jar is not on the session's classpath.

The text keys that deduplication compares (:func:`text_key_columns`) are defined here
too: the JVM engine computes them in the same call as the cleaning
(:func:`with_clean_text_and_keys`), with the same values as the SQL definition.

Neither is a Python UDF: cleaning never leaves the JVM.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Iterable, Sequence
from functools import reduce
from typing import Literal

from py4j.java_gateway import JavaObject
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from amazon_sentiment.etl.jvm import CLASS_NAME, rule_cleaner_jar
from amazon_sentiment.text import CLEANING_RULES, HEADLINE_SEPARATOR, CleaningRule

log = logging.getLogger(__name__)

Engine = Literal["auto", "jvm", "sql"]

#: The name the JVM cleaner is registered under in a session.
RULE_CLEANER_FUNCTION = "amazon_sentiment_clean_text"
#: The JVM cleaner that also returns the text keys (a struct: text, key0, key1).
KEYED_CLEANER_FUNCTION = "amazon_sentiment_clean_text_with_keys"

#: Salts of the two text keys, independent 64-bit hashes of the normalised text.
TEXT_KEY_SALTS = ("text", "check")
#: The columns the text keys go into by default.
TEXT_KEYS = ("text_key", "text_check")


def normalised_text(text: Column) -> Column:
    """The form two texts are compared in: the cleaned text, lower-cased."""
    return F.lower(text)


def text_key_columns(text: Column) -> list[Column]:
    """The text keys of ``text``: ``xxhash64(salt, normalised text)`` per salt.

    The one definition; the JVM cleaner computes the same values (Spark's own lower-case
    and hash functions), which the parity tests check.
    """
    normalised = normalised_text(text)
    return [F.xxhash64(F.lit(salt), normalised) for salt in TEXT_KEY_SALTS]


def with_clean_text_and_keys(
    frame: DataFrame,
    raw_text: Column,
    *,
    output: str = "text",
    keys: Sequence[str] = TEXT_KEYS,
    engine: Engine = "auto",
) -> DataFrame:
    """:func:`with_clean_text` plus the columns ``keys``: :func:`text_key_columns` of it.

    The JVM engine cleans and hashes in one call, on the text it has decoded once; the
    SQL engine lower-cases and hashes the cleaned column.
    """
    if len(keys) != len(TEXT_KEY_SALTS):
        raise ValueError(f"one key column per salt of {TEXT_KEY_SALTS}, got {list(keys)}")
    if _uses_jvm(frame, engine):
        cleaned = F.col("_cleaned_with_keys")
        return (
            frame.withColumn(
                "_cleaned_with_keys", F.call_function(KEYED_CLEANER_FUNCTION, raw_text)
            )
            .withColumns(
                {
                    output: cleaned.getField("text"),
                    **{key: cleaned.getField(f"key{i}") for i, key in enumerate(keys)},
                }
            )
            .drop("_cleaned_with_keys")
        )
    cleaned_frame = _with_clean_text_sql(frame, raw_text, output)
    return cleaned_frame.withColumns(dict(zip(keys, text_key_columns(F.col(output)), strict=True)))


def with_clean_text(
    frame: DataFrame, raw_text: Column, *, output: str = "text", engine: Engine = "auto"
) -> DataFrame:
    """``frame`` with column ``output``: ``raw_text`` with every cleaning rule applied.

    ``auto`` uses the JVM cleaner when the session can load it, else the SQL form;
    ``jvm`` insists on it (an error when it is missing).
    """
    if _uses_jvm(frame, engine):
        return frame.withColumn(output, F.call_function(RULE_CLEANER_FUNCTION, raw_text))
    return _with_clean_text_sql(frame, raw_text, output)


def _uses_jvm(frame: DataFrame, engine: Engine) -> bool:
    """Whether ``engine`` runs as the JVM cleaner in ``frame``'s session (registering it);
    an error if ``jvm`` was asked for and cannot be had."""
    if engine == "sql":
        return False
    if register_rule_cleaner(frame.sparkSession):
        return True
    if engine == "jvm":
        raise RuntimeError(
            f"the JVM cleaner ({CLASS_NAME}) is not on this session's classpath; see "
            "amazon_sentiment.etl.jvm"
        )
    return False


def register_rule_cleaner(spark: SparkSession) -> bool:
    """Register the JVM cleaner as :data:`RULE_CLEANER_FUNCTION`; whether it could be.

    The session must have been built with the cleaner's jar in ``spark.jars`` (as
    :func:`~amazon_sentiment.etl.session.build_spark_session` does), which ships it to
    the executors. The driver loads the class from the same jar through a class loader
    of its own: under ``spark-submit`` the jars the application adds to ``spark.jars``
    reach the executors but not the driver's class path.
    """
    if spark.catalog.functionExists(RULE_CLEANER_FUNCTION):
        return True
    jar = rule_cleaner_jar()
    if jar is None:  # no JDK: rule_cleaner_jar has said so
        return False
    shipped = spark.sparkContext.getConf().get("spark.jars", "") or ""
    if str(jar) not in shipped.split(","):
        log.warning(
            "the JVM cleaner is not in this session's spark.jars: cleaning with Spark SQL "
            "expressions, several times slower (build the session with "
            "amazon_sentiment.etl.session.build_spark_session)"
        )
        return False
    gateway = spark.sparkContext._gateway  # PySpark has no public way to a JVM object
    assert gateway is not None
    jvm = gateway.jvm
    urls = gateway.new_array(jvm.java.net.URL, 1)
    urls[0] = jvm.java.io.File(str(jar)).toURI().toURL()
    parent = jvm.java.lang.Thread.currentThread().getContextClassLoader()
    cleaner_class = jvm.java.net.URLClassLoader(urls, parent).loadClass(CLASS_NAME)

    def java_list(items: Iterable[object]) -> JavaObject:
        result = jvm.java.util.ArrayList()
        for item in items:
            result.add(item)
        return result

    arguments = [
        java_list(rule.pattern for rule in CLEANING_RULES),
        java_list(rule.replacement for rule in CLEANING_RULES),
        java_list(java_list(rule.needs_any) for rule in CLEANING_RULES),
        java_list(rule.needs_non_ascii for rule in CLEANING_RULES),
        java_list(rule.needs_chars for rule in CLEANING_RULES),
        java_list(rule.anchored for rule in CLEANING_RULES),
        java_list(rule.native or "" for rule in CLEANING_RULES),
    ]
    packed = gateway.new_array(jvm.java.lang.Object, len(arguments))
    for index, argument in enumerate(arguments):
        packed[index] = argument
    (constructor,) = cleaner_class.getConstructors()
    cleaner = constructor.newInstance(packed)
    types = jvm.org.apache.spark.sql.types.DataTypes
    spark._jsparkSession.udf().register(RULE_CLEANER_FUNCTION, cleaner, types.StringType)
    keyed_class = jvm.java.lang.Class.forName(
        f"{CLASS_NAME}$WithKeys", True, cleaner_class.getClassLoader()
    )
    (keyed_constructor,) = keyed_class.getConstructors()
    keyed_arguments = gateway.new_array(jvm.java.lang.Object, 2)
    keyed_arguments[0] = cleaner
    keyed_arguments[1] = java_list(TEXT_KEY_SALTS)
    keyed_type = T.StructType(
        [T.StructField("text", T.StringType())]
        + [T.StructField(f"key{i}", T.LongType(), False) for i in range(len(TEXT_KEY_SALTS))]
    )
    spark._jsparkSession.udf().register(
        KEYED_CLEANER_FUNCTION,
        keyed_constructor.newInstance(keyed_arguments),
        spark._jsparkSession.parseDataType(keyed_type.json()),
    )
    log.info("cleaning with the JVM cleaner from %s", jar)
    return True


def _with_clean_text_sql(frame: DataFrame, raw_text: Column, output: str) -> DataFrame:
    """The ``sql`` engine: rules run only where their guards allow.

    ``contains`` searches the UTF-8 bytes in place and comparing the byte length with
    the character length tells a pure ASCII text, both cheaper than a regex pass (which
    converts the text to a Java string and back), but each is still a pass over the
    text: consecutive rules with the same guard share one check (see
    :func:`guarded_groups`). A rule with a ``native`` equivalent runs as that Spark
    function. Each group is its own projection over the previous one's column: written
    as one nested expression, the guard and the fallback would each repeat the whole
    chain below them, doubling it at every step.
    """
    frame = frame.withColumn(output, raw_text)
    for group in guarded_groups(CLEANING_RULES):
        text = F.col(output)
        replaced = text
        for rule in group:
            replaced = _replace(rule, replaced)
        guard = _guard(group[0], text)
        frame = frame.withColumn(
            output, replaced if guard is None else F.when(guard, replaced).otherwise(text)
        )
    return frame


def guarded_groups(rules: Sequence[CleaningRule]) -> list[list[CleaningRule]]:
    """``rules`` in order, consecutive rules with the same (non-empty) guards together.

    One check of the guard holds for the whole group: a text that fails it cannot be
    changed by the group's first rule, so it reaches the second unchanged and fails
    its guard too, and so on. Unguarded rules stay alone.
    """
    groups: list[list[CleaningRule]] = []
    for rule in rules:
        previous = groups[-1][-1] if groups else None
        if previous is not None and _has_guard(rule) and _guard_key(previous) == _guard_key(rule):
            groups[-1].append(rule)
        else:
            groups.append([rule])
    return groups


def _guard_key(rule: CleaningRule) -> tuple[tuple[str, ...], bool]:
    return rule.needs_any, rule.needs_non_ascii


def _has_guard(rule: CleaningRule) -> bool:
    return bool(rule.needs_any) or rule.needs_non_ascii


def _guard(rule: CleaningRule, text: Column) -> Column | None:
    guards: list[Column] = []
    if rule.needs_non_ascii:
        guards.append(F.octet_length(text) != F.length(text))
    if rule.needs_any:
        guards.append(reduce(operator.or_, (text.contains(needle) for needle in rule.needs_any)))
    return reduce(operator.and_, guards) if guards else None


def _replace(rule: CleaningRule, text: Column) -> Column:
    if rule.native == "trim_spaces":
        return F.trim(text)  # strips plain spaces only, as the rule's regex does
    if rule.native is not None:
        raise ValueError(f"rule {rule.name!r}: no Spark form for native {rule.native!r}")
    return F.regexp_replace(text, rule.pattern, rule.replacement)


def joined_review(headline: Column, body: Column) -> Column:
    """Headline and body joined as :func:`amazon_sentiment.text.join_review` does."""
    return F.concat_ws(HEADLINE_SEPARATOR, headline, body)

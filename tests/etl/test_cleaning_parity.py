"""Parity: both Spark engines (etl.cleaning) and plain Python (text.clean_text) agree."""

from __future__ import annotations

import random

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from amazon_sentiment.etl.cleaning import (
    Engine,
    joined_review,
    with_clean_text,
    with_clean_text_and_keys,
)
from amazon_sentiment.text import clean_text, join_review
from tests.fixtures.golden_sample import BUNDLED_SAMPLE
from tests.text.test_rules import INTERESTING_PIECES

# Cases the bundled sample may lack: every rule, Unicode edges, rule interactions.
EDGE_CASES: list[tuple[str | None, str | None]] = [
    ("Great<br /><br />product", "Tom &amp; Jerry&#39;s &quot;best&quot; &#x27;x&#X27;"),
    (None, "escaped &lt;br&gt;tag &LT;p&GT; &amp;lt;b&amp;gt; double-escaped"),
    ("", "see HTTPS://Example.com/a?b=1 and WWW.shop.com/x now http://x.y<br>z"),
    ("tabs\tand", "new\nlines\r\nand \x0b vertical \x0c feed"),
    (" ", "no\u00a0break\u2003em\u3000ideographic\u2028line\u2029para\u202fnarrow"),
    ("zero\u200bwidth\ufeff", "joiner\u200d\u2060word"),
    ("bell\x07and\x1bescape", "next line\x85and\x9fc1 \x7f delete"),
    ("I <3 this", "a < b > c, <not a tag>, < p>, <p\nclass='x'>multi-line tag</p>"),
    ("   padded   ", "caf\u00e9 \U0001f600 emoji \u0130stanbul \u212a kelvin"),
    ("&nbsp;&#160;&#xa0;", "&unknown; &#12345; &#x1F600; & alone &amp"),
    ("\u00c9T\u00c9 &AMP; \u00e9t\u00e9", "<A HREF='http://x'>Link</A> <Br/>"),
    ("now. how. WwW.shop.com/a", "aww. wWw.x.y wW. Ww. \u00a0\u200b\x00"),
    (
        "\u039f\u0394\u039f\u03a3 \u03a3\u0391\u03a3",
        "STRASSE Stra\u00dfe \u0130I\u0131i \u01c5 \u1e9e \U00010400",
    ),
    ("&&amp;;&&#39; &amp;amp; &&&", "<<br>> <<<p>x   y     z \x00\x01 \x02w\u00a0\u00a0\u2003x"),
    (None, None),
]


@pytest.mark.parametrize("engine", ["jvm", "sql"])
def test_spark_and_python_clean_every_review_of_the_bundled_sample_alike(
    spark: SparkSession, engine: Engine
) -> None:
    reviews = spark.read.parquet(str(BUNDLED_SAMPLE)).select("review_headline", "review_body")
    edge_cases = spark.createDataFrame(EDGE_CASES, "review_headline string, review_body string")
    cleaned = (
        with_clean_text(
            reviews.unionByName(edge_cases),
            joined_review(F.col("review_headline"), F.col("review_body")),
            output="spark_text",
            engine=engine,
        )
        .toArrow()  # Arrow batches: much cheaper than collecting 18,000 Row objects
        .to_pylist()
    )
    assert len(cleaned) == 18_000 + len(EDGE_CASES)
    mismatches = [
        (row["review_headline"], row["review_body"], row["spark_text"], python_text)
        for row in cleaned
        if row["spark_text"]
        != (python_text := clean_text(join_review(row["review_headline"], row["review_body"])))
    ]
    assert mismatches == []
    # The rules did real work on the sample: a parity test over untouched text proves little.
    changed = sum(
        1
        for row in cleaned
        if row["spark_text"] != join_review(row["review_headline"], row["review_body"])
    )
    assert changed > 1_000


def test_the_jvm_cleaner_agrees_with_python_on_texts_made_of_what_the_rules_look_for(
    spark: SparkSession,
) -> None:
    """Texts that pack needles, classes and their neighbours together, where the JVM
    cleaner's one-scan prefilter and anchored search could part from the plain regexes:
    a needle split over two pieces, runs of entities, a rule's output feeding the next."""
    draw = random.Random(20261127)
    texts = [
        "".join(draw.choice(INTERESTING_PIECES) for _ in range(draw.randrange(1, 16)))
        for _ in range(5_000)
    ]
    frame = spark.createDataFrame([(text,) for text in texts], "raw string")
    cleaned = with_clean_text(frame, F.col("raw"), output="spark_text", engine="jvm")
    rows = cleaned.toArrow().to_pylist()
    mismatches = [
        (row["raw"], row["spark_text"], clean_text(row["raw"]))
        for row in rows
        if row["spark_text"] != clean_text(row["raw"])
    ]
    assert mismatches == []
    assert sum(row["spark_text"] != row["raw"] for row in rows) > 2_500


def test_the_jvm_cleaner_computes_the_text_keys_sql_computes(spark: SparkSession) -> None:
    """The keyed JVM cleaner (text and keys in one call) against the SQL definition of
    the keys (``text_key_columns``: Spark's lower and xxhash64) on the bundled sample,
    the edge cases (Greek final sigma, dotted and dotless i, sharp s, an astral letter)
    and texts made of the rules' pieces."""
    draw = random.Random(7)
    pieces = [
        "".join(draw.choice(INTERESTING_PIECES) for _ in range(draw.randrange(1, 16)))
        for _ in range(2_000)
    ]
    raw = (
        spark.read.parquet(str(BUNDLED_SAMPLE))
        .select("review_headline", "review_body")
        .unionByName(
            spark.createDataFrame(EDGE_CASES, "review_headline string, review_body string")
        )
        .unionByName(
            spark.createDataFrame(
                [(None, text) for text in pieces], "review_headline string, review_body string"
            )
        )
        .select(joined_review(F.col("review_headline"), F.col("review_body")).alias("raw"))
        .withColumn("row", F.monotonically_increasing_id())
    )
    columns = ["row", "text", "text_key", "text_check"]
    jvm = with_clean_text_and_keys(raw, F.col("raw"), engine="jvm").select(*columns)
    sql = with_clean_text_and_keys(raw, F.col("raw"), engine="sql").select(*columns)
    plan = jvm._jdf.queryExecution().executedPlan().toString()
    assert "amazon_sentiment_clean_text_with_keys" in plan
    assert "lower(" not in plan  # the keys really came from the JVM
    differing = jvm.exceptAll(sql).count() + sql.exceptAll(jvm).count()
    assert differing == 0
    assert jvm.count() == 18_000 + len(EDGE_CASES) + 2_000
    assert jvm.select("text_key").distinct().count() > 15_000

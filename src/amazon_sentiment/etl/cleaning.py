"""The shared cleaning rules (:data:`amazon_sentiment.text.CLEANING_RULES`) as Spark columns.

Each rule becomes one ``regexp_replace``, applied in the rules' order: native JVM
expressions, no Python UDF, so cleaning runs at Spark speed and gives the same strings
as :func:`amazon_sentiment.text.clean_text` (the parity test in tests/etl checks this
on every review of the bundled sample).
"""

from __future__ import annotations

import operator
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from amazon_sentiment.text import CLEANING_RULES, HEADLINE_SEPARATOR


def with_clean_text(frame: DataFrame, raw_text: Column, *, output: str = "text") -> DataFrame:
    """``frame`` with column ``output``: ``raw_text`` with every cleaning rule applied.

    A rule with ``needs_any`` runs only on texts containing one of those substrings:
    ``contains`` searches the UTF-8 bytes in place, far cheaper than a regex pass (which
    also converts the text to a Java string and back). Each rule is its own projection
    over the previous one's column: written as one nested expression, the guard and the
    fallback would each repeat the whole chain below them, doubling it at every rule.
    """
    frame = frame.withColumn(output, raw_text)
    for rule in CLEANING_RULES:
        current = F.col(output)
        replaced = F.regexp_replace(current, rule.pattern, rule.replacement)
        if rule.needs_any:
            guard = reduce(operator.or_, (current.contains(needle) for needle in rule.needs_any))
            replaced = F.when(guard, replaced).otherwise(current)
        frame = frame.withColumn(output, replaced)
    return frame


def joined_review(headline: Column, body: Column) -> Column:
    """Headline and body joined as :func:`amazon_sentiment.text.join_review` does."""
    return F.concat_ws(HEADLINE_SEPARATOR, headline, body)

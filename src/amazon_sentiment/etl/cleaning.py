"""The shared cleaning rules (:data:`amazon_sentiment.text.CLEANING_RULES`) as Spark columns.

Each rule becomes one ``regexp_replace``, applied in the rules' order: native JVM
expressions, no Python UDF, so cleaning runs at Spark speed and gives the same strings
as :func:`amazon_sentiment.text.clean_text` (the parity test in tests/etl checks this
on every review of the bundled sample).
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from amazon_sentiment.text import CLEANING_RULES, HEADLINE_SEPARATOR


def clean_text_column(text: Column) -> Column:
    """``text`` with every cleaning rule applied, in order."""
    for rule in CLEANING_RULES:
        text = F.regexp_replace(text, rule.pattern, rule.replacement)
    return text


def review_text_column(headline: Column, body: Column) -> Column:
    """Headline and body joined as :func:`amazon_sentiment.text.join_review` does, cleaned."""
    return clean_text_column(F.concat_ws(HEADLINE_SEPARATOR, headline, body))

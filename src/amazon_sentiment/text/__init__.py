"""Text-cleaning rules shared by every engine that cleans review text.

The rules are data (:data:`CLEANING_RULES`); :func:`clean_text` applies them in plain
Python (at prediction time, inside the model) and :mod:`amazon_sentiment.etl.cleaning`
applies the very same list as Spark column expressions.
"""

from amazon_sentiment.text.rules import (
    CLEANING_RULES,
    CLEANING_RULES_VERSION,
    HEADLINE_SEPARATOR,
    CleaningRule,
    clean_text,
    clean_texts,
    join_review,
)

__all__ = [
    "CLEANING_RULES",
    "CLEANING_RULES_VERSION",
    "HEADLINE_SEPARATOR",
    "CleaningRule",
    "clean_text",
    "clean_texts",
    "join_review",
]

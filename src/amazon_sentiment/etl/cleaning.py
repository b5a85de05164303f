"""The shared cleaning rules (:data:`amazon_sentiment.text.CLEANING_RULES`) as Spark columns.

Each rule becomes one ``regexp_replace``, applied in the rules' order: native JVM
expressions, no Python UDF, so cleaning runs at Spark speed and gives the same strings
as :func:`amazon_sentiment.text.clean_text` (the parity test in tests/etl checks this
on every review of the bundled sample).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from amazon_sentiment.text import CLEANING_RULES, HEADLINE_SEPARATOR, CleaningRule


def with_clean_text(frame: DataFrame, raw_text: Column, *, output: str = "text") -> DataFrame:
    """``frame`` with column ``output``: ``raw_text`` with every cleaning rule applied.

    Rules run only where their guards allow. ``contains`` searches the UTF-8 bytes in
    place and comparing the byte length with the character length tells a pure ASCII
    text, both cheaper than a regex pass (which converts the text to a Java string and
    back), but each is still a pass over the text: consecutive rules with the same
    guard share one check (see :func:`guarded_groups`). A rule with a ``native``
    equivalent runs as that Spark function. Each group is its own projection over the
    previous one's column: written as one nested expression, the guard and the fallback
    would each repeat the whole chain below them, doubling it at every step.
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

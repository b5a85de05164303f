"""The shared cleaning rules, in plain Python (the Spark parity test is in tests/etl)."""

from __future__ import annotations

import pytest

from amazon_sentiment.text import CLEANING_RULES, CleaningRule, clean_text, join_review


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Great<br /><br />product", "Great product"),
        ("Tom &amp; Jerry&#39;s &quot;best&quot;", 'Tom & Jerry\'s "best"'),
        ("escaped &lt;br&gt;tag", "escaped tag"),
        ("see https://example.com/a?b=1 and www.shop.com/x now", "see and now"),
        ("tabs\tand\nnew\r\nlines", "tabs and new lines"),
        ("no\u00a0break\u2003em\u3000ideographic", "no break em ideographic"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("bell\x07and\x1bescape", "bell and escape"),
        ("I <3 this", "I <3 this"),
        ("   padded   ", "padded"),
        ("caf\u00e9 \U0001f600 ok", "caf\u00e9 \U0001f600 ok"),
    ],
)
def test_clean_text(raw: str, cleaned: str) -> None:
    assert clean_text(raw) == cleaned


def test_clean_text_is_idempotent() -> None:
    raw = "A &amp;amp; B <p>x</p>  http://a.b  \u00a0 end "
    once = clean_text(raw)
    assert clean_text(once) == once


def test_join_review_skips_missing_parts() -> None:
    assert join_review("Title", "Body") == "Title Body"
    assert join_review(None, "Body") == "Body"
    assert join_review("Title", None) == "Title"
    assert clean_text(join_review("  ", "Body")) == "Body"


def test_replacements_must_be_literal() -> None:
    with pytest.raises(ValueError, match="literal"):
        CleaningRule("bad", "(a)", "$1")


def test_rule_names_are_unique() -> None:
    names = [rule.name for rule in CLEANING_RULES]
    assert len(names) == len(set(names))

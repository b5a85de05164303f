"""The shared cleaning rules, in plain Python (the Spark parity test is in tests/etl)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# Characters the rules care about, so that random texts hit every guard and pattern.
INTERESTING_PIECES = (
    list(" \t\n\r\x0b\x0c\x00\x07\x1b\x7f\x80\x85\x9f\u00a0\u1680\u2003\u2028\u202f\u3000")
    + list("\u200b\u200c\u200d\u2060\ufeff")
    + ["&amp;", "&#39;", "&lt;", "&gt;", "&nbsp;", "&#x22;", "&copy;", "<br />", "<p>", "</a>"]
    + ["http://x.y/z", "https://a.b", "www.", "WwW.", "w.", "://", "<3", "caf\u00e9", "\U0001f600"]
    + ["&", "<", "w", "W", ".", "a", "#", ";"]
)
_INTERESTING = st.sampled_from(INTERESTING_PIECES)
_TEXTS = st.lists(st.one_of(_INTERESTING, st.text(max_size=3)), max_size=12).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=_TEXTS)
def test_guards_and_native_forms_never_change_a_result(text: str) -> None:
    """Each rule, where it stands in the chain, gives what its bare regex gives.

    Guards must be necessary conditions and native forms must equal their regex (the
    trim regex's ``$`` would also match before a final line break, but none is left by
    then: the chain is what must agree).
    """
    for rule in CLEANING_RULES:
        expected = re.sub(rule.pattern, rule.replacement, text, flags=re.ASCII)
        assert rule.apply(text) == expected, rule.name
        if expected != text and rule.needs_chars:  # the guard only the JVM cleaner reads
            assert re.search(rule.needs_chars, text, flags=re.ASCII), rule.name
        if rule.anchored:  # the JVM cleaner tries the regex only where a match may start
            for match in re.finditer(rule.pattern, text, flags=re.ASCII):
                assert _starts_at_guard(rule, text, match.start()), (rule.name, match.group())
        text = expected


def _starts_at_guard(rule: CleaningRule, text: str, at: int) -> bool:
    if rule.needs_any:
        return any(text.startswith(needle, at) for needle in rule.needs_any)
    return re.match(rule.needs_chars, text[at], flags=re.ASCII) is not None


def test_an_anchored_rule_names_where_its_matches_start() -> None:
    with pytest.raises(ValueError, match="anchored"):
        CleaningRule("bad", "x+", "", anchored=True)


def test_unknown_native_operation_is_refused() -> None:
    with pytest.raises(ValueError, match="native"):
        CleaningRule("bad", " +", "", native="squash")

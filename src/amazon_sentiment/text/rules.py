"""The one definition of how review text is cleaned.

Each rule is a regular expression and a literal replacement, applied in order. The
patterns are written in the subset that ``java.util.regex`` (Spark's
``regexp_replace``) and Python's ``re`` in ASCII mode read the same way:

* no ``.`` (Java's excludes more line terminators than Python's), no ``\\b``/``\\w``
  (Unicode-aware in one engine, not the other); ``\\s`` is ASCII whitespace in both;
  other whitespace and control characters are listed explicitly as ``\\uXXXX``;
* ``(?i)`` folds ASCII letters only, in both engines;
* replacements are literal: no ``$`` (Java group reference) and no ``\\``.

Change a rule and you change what the model sees: bump :data:`CLEANING_RULES_VERSION`,
which the ETL manifest and the model's tags record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

CLEANING_RULES_VERSION = "1"

#: Joins a review's headline and body into the one text the model reads.
HEADLINE_SEPARATOR = " "

# Unicode spaces that ASCII \s does not cover, spelled out so both engines agree.
_UNICODE_SPACES = r"\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


#: Native operations an engine may run instead of a rule's regex, with the same result
#: (the parity tests check it): "trim_spaces" strips leading and trailing plain spaces,
#: Python's ``str.strip(" ")`` and Spark's ``trim``.
NATIVE_EQUIVALENTS = frozenset({"trim_spaces"})


@dataclass(frozen=True)
class CleaningRule:
    """One step of text cleaning: every match of ``pattern`` becomes ``replacement``.

    Guards let an engine skip the regex on texts it cannot change; they must be
    *necessary* conditions, never heuristics. Most reviews hold no ``&``, ``<``, URL or
    non-ASCII white space, so the guards skip most regex passes (the slowest part of
    the ETL):

    * ``needs_any``: substrings at least one of which every match contains;
    * ``needs_non_ascii``: every match contains a character outside ASCII, so a pure
      ASCII text (the large majority) is left alone.
    * ``needs_chars``: a regex character class (of characters below U+10000) at least
      one of which every match contains. The JVM cleaner looks each character up in a
      table built from it, a tenth of the cost of a regex search for the class. Python
      does not use it: its only way to test it is that same regex search, which the
      substitution makes anyway.

    ``anchored`` says more than the guards: every match *starts* with one of
    ``needs_any`` (or, without needles, with a character of ``needs_chars``), so an
    engine may try the regex only where those occur instead of at every position (the
    JVM cleaner does; Python's ``re.sub``, in C, gains nothing from it).

    ``native`` names an operation of :data:`NATIVE_EQUIVALENTS` that gives exactly the
    regex's result; the pattern stays the specification.
    """

    name: str
    pattern: str
    replacement: str
    needs_any: tuple[str, ...] = ()
    needs_non_ascii: bool = False
    needs_chars: str = ""
    anchored: bool = False
    native: str | None = None
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if "$" in self.replacement or "\\" in self.replacement:
            raise ValueError(
                f"rule {self.name!r}: replacements must be literal ('$' and '\\' mean "
                "group references to Spark's regexp_replace)"
            )
        if self.native is not None and self.native not in NATIVE_EQUIVALENTS:
            raise ValueError(f"rule {self.name!r}: unknown native operation {self.native!r}")
        if self.needs_chars and not _is_bmp_class(self.needs_chars):
            raise ValueError(
                f"rule {self.name!r}: needs_chars must be one [...] class of characters "
                "below U+10000"
            )
        if self.anchored and not (self.needs_any or self.needs_chars):
            raise ValueError(
                f"rule {self.name!r}: anchored needs the needles or characters matches start with"
            )
        object.__setattr__(self, "_compiled", re.compile(self.pattern, re.ASCII))

    def apply(self, text: str) -> str:
        if self.native == "trim_spaces":
            return text.strip(" ")
        if self.needs_non_ascii and text.isascii():
            return text
        if self.needs_any and not any(needle in text for needle in self.needs_any):
            return text
        return self._compiled.sub(self.replacement, text)


def _is_bmp_class(pattern: str) -> bool:
    """Whether ``pattern`` is a single bracketed character class without astral characters."""
    return (
        pattern.startswith("[")
        and pattern.endswith("]")
        and "\\U" not in pattern
        and all(ord(char) < 0x10000 for char in pattern)
    )


# ASCII control characters (tab, line feed, vertical tab, form feed and carriage return
# among them) and the C1 controls count as white space. They are split by script so
# that the regex run on every text holds only ASCII (a class with wider characters costs
# Java's regex engine several times more per character); the non-ASCII part only runs
# on texts that hold a non-ASCII character.
_ASCII_CONTROLS = r"[\x00-\x1f\x7f]"
_NON_ASCII_SPACES = r"[\x80-\x9f" + _UNICODE_SPACES + "]"
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"

CLEANING_RULES: tuple[CleaningRule, ...] = (
    # HTML entities first, so that an escaped tag (&lt;br&gt;) is removed as a tag below.
    CleaningRule("entity_apostrophe", r"(?i)&(?:apos|#0*39|#x0*27);", "'", ("&",), anchored=True),
    CleaningRule("entity_quote", r"(?i)&(?:quot|#0*34|#x0*22);", '"', ("&",), anchored=True),
    CleaningRule("entity_less_than", r"(?i)&(?:lt|#0*60|#x0*3c);", "<", ("&",), anchored=True),
    CleaningRule("entity_greater_than", r"(?i)&(?:gt|#0*62|#x0*3e);", ">", ("&",), anchored=True),
    CleaningRule("entity_nbsp", r"(?i)&(?:nbsp|#0*160|#x0*a0);", " ", ("&",), anchored=True),
    CleaningRule("entity_ampersand", r"(?i)&(?:amp|#0*38|#x0*26);", "&", ("&",), anchored=True),
    CleaningRule("entity_other", r"&#?[A-Za-z0-9]{1,10};", " ", ("&",), anchored=True),
    # Tags such as <br />, <p>, <a href="...">, </div>; a bare "<3" is not a tag.
    CleaningRule(
        "html_tag",
        r"</?[A-Za-z][A-Za-z0-9]{0,20}(?:\s[^<>]{0,500})?/?>",
        " ",
        ("<",),
        anchored=True,
    ),
    # Every spelling of "www." ends in one of four spellings of "ww.": five cheap needles,
    # not seventeen, and far more selective than "w." (which ends "now.", "how.", ...).
    CleaningRule(
        "url",
        r"(?i)(?:https?://|www\.)[^\s<>\"]+",
        " ",
        ("://", "ww.", "wW.", "Ww.", "WW."),
    ),
    # Zero-width characters and the byte-order mark vanish.
    CleaningRule(
        "zero_width",
        "[" + _ZERO_WIDTH + "]",
        "",
        needs_non_ascii=True,
        needs_chars="[" + _ZERO_WIDTH + "]",
        anchored=True,
    ),
    # Every run of white space becomes one space: runs of non-ASCII spaces, then of ASCII
    # control characters (the classes are disjoint, so their order does not matter),
    # then of plain spaces, then the ends; each pass is far cheaper than one over a
    # class holding all of them.
    CleaningRule(
        "unicode_spaces",
        _NON_ASCII_SPACES + "+",
        " ",
        needs_non_ascii=True,
        needs_chars=_NON_ASCII_SPACES,
        anchored=True,
    ),
    CleaningRule(
        "control_chars", _ASCII_CONTROLS + "+", " ", needs_chars=_ASCII_CONTROLS, anchored=True
    ),
    CleaningRule("space_runs", " {2,}", " ", ("  ",), anchored=True),
    CleaningRule("trim", r"^ +| +$", "", native="trim_spaces"),
)


def clean_text(text: str) -> str:
    """Apply every rule of :data:`CLEANING_RULES` to one text, in order."""
    for rule in CLEANING_RULES:
        text = rule.apply(text)
    return text


def clean_texts(texts: Iterable[str]) -> list[str]:
    """Clean many texts; the form the model's first step calls."""
    return [clean_text(text) for text in texts]


def join_review(headline: str | None, body: str | None) -> str:
    """Headline and body as one text, skipping a missing one (Spark's ``concat_ws``).

    A blank part leaves a stray separator that the ``whitespace``/``trim`` rules remove.
    """
    return HEADLINE_SEPARATOR.join(part for part in (headline, body) if part is not None)

"""The sentiment model: raw review text in, class probabilities out.

Shared by training (which fits it) and serving (which loads it). The first step takes
what MLflow's pyfunc and scoring protocol pass (a DataFrame with a ``text`` column) as
well as a plain list of strings, and applies the ETL's cleaning rules, so raw text at
prediction time is normalised exactly as the training text was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from amazon_sentiment.text import clean_texts

TEXT_COLUMN = "text"
LABELS: tuple[str, str] = ("negative", "positive")

# Types skops must trust to load this model, beyond scikit-learn's own. Serving passes
# this list from the code, never the list stored beside the model.
SKOPS_TRUSTED_TYPES: list[str] = [
    "amazon_sentiment.model.CompactTfidfVectorizer",
    "amazon_sentiment.model.ReviewTextCleaner",
    "builtins.dict",
    "collections.defaultdict",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "numpy.ndarray",
    "scipy.sparse._csr.csr_matrix",
]


class ReviewTextCleaner(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Selects the review text and cleans it with the shared rules.

    Accepts a DataFrame with a ``text`` column, a Series, or any iterable of strings,
    and always returns one cleaned string per input row.
    """

    def fit(self, X: Any, y: Any = None) -> ReviewTextCleaner:  # noqa: N803 (sklearn API)
        return self

    def transform(self, X: Any) -> list[str]:  # noqa: N803 (sklearn API)
        return clean_texts(_as_texts(X))


def _as_texts(rows: Any) -> list[str]:
    if isinstance(rows, pd.DataFrame):
        if TEXT_COLUMN not in rows.columns:
            raise ValueError(f"expected a column named {TEXT_COLUMN!r}, got {list(rows.columns)}")
        rows = rows[TEXT_COLUMN]
    if isinstance(rows, str):
        raise TypeError("expected a list of texts, got a single string; wrap it in a list")
    if isinstance(rows, pd.Series | np.ndarray):
        rows = rows.tolist()
    if not isinstance(rows, Iterable):
        raise TypeError(f"expected texts, got {type(rows).__name__}")
    texts = list(rows)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text at position {i} is {type(text).__name__}, not a string")
    return texts


class CompactTfidfVectorizer(TfidfVectorizer):  # type: ignore[misc]
    """A TfidfVectorizer whose saved form keeps the vocabulary as one string.

    skops writes a dict entry by entry, each with its own type header: a 150,000-term
    bigram vocabulary became ~100 MB and ~10 s to load. Stored as the terms in column
    order, joined by newlines (a token never holds one), the same vocabulary is a few MB
    and is rebuilt in milliseconds. Fitting and predicting are TfidfVectorizer's own.
    """

    def __getstate__(self) -> dict[str, Any]:
        # A copy: object.__getstate__ may hand back the live __dict__.
        state: dict[str, Any] = dict(super().__getstate__())
        vocabulary = state.pop("vocabulary_", None)
        if vocabulary is not None:
            terms = sorted(vocabulary, key=vocabulary.__getitem__)
            if any("\n" in term for term in terms):
                raise ValueError("a vocabulary term holds a newline; it cannot be saved compactly")
            state["_vocabulary_terms"] = "\n".join(terms)
        # Gone from scikit-learn >= 1.8; dropped if an older fit left it (documented safe).
        state.pop("stop_words_", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        terms = state.pop("_vocabulary_terms", None)
        if terms is not None:
            state["vocabulary_"] = {term: index for index, term in enumerate(terms.split("\n"))}
        super().__setstate__(state)


def build_pipeline(
    vectorizer_params: Mapping[str, Any], classifier_params: Mapping[str, Any]
) -> Pipeline:
    """An unfitted cleaner -> TF-IDF -> logistic regression pipeline."""
    return Pipeline(
        [
            ("text", ReviewTextCleaner()),
            ("tfidf", CompactTfidfVectorizer(**dict(vectorizer_params))),
            ("classifier", LogisticRegression(**dict(classifier_params))),
        ]
    )

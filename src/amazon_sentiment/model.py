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


def _as_texts(X: Any) -> list[str]:  # noqa: N803
    if isinstance(X, pd.DataFrame):
        if TEXT_COLUMN not in X.columns:
            raise ValueError(f"expected a column named {TEXT_COLUMN!r}, got {list(X.columns)}")
        X = X[TEXT_COLUMN]
    if isinstance(X, str):
        raise TypeError("expected a list of texts, got a single string; wrap it in a list")
    if isinstance(X, pd.Series | np.ndarray):
        X = X.tolist()
    if not isinstance(X, Iterable):
        raise TypeError(f"expected texts, got {type(X).__name__}")
    texts = list(X)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text at position {i} is {type(text).__name__}, not a string")
    return texts


def build_pipeline(
    vectorizer_params: Mapping[str, Any], classifier_params: Mapping[str, Any]
) -> Pipeline:
    """An unfitted cleaner -> TF-IDF -> logistic regression pipeline."""
    return Pipeline(
        [
            ("text", ReviewTextCleaner()),
            ("tfidf", TfidfVectorizer(**dict(vectorizer_params))),
            ("classifier", LogisticRegression(**dict(classifier_params))),
        ]
    )

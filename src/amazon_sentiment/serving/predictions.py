"""Turning model outputs into response bodies (pure functions, no I/O)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from amazon_sentiment.serving.loading import LoadedModel
from amazon_sentiment.serving.schemas import (
    ExplanationOut,
    PredictionOut,
    TermContributionOut,
)


def prediction(model: LoadedModel, probabilities: np.ndarray) -> PredictionOut:
    """One review's answer from its row of class probabilities."""
    return PredictionOut.model_construct(
        **_answer(model, probabilities.tolist(), int(probabilities.argmax()))
    )


def batch_prediction_json(model: LoadedModel, rows: np.ndarray) -> bytes:
    """A :class:`BatchPredictionOut` as JSON, built straight from the probabilities.

    The batch path's hot spot after the model: building a pydantic object per review
    cost more than parsing the request. Same shape, checked against the model by the
    contract tests.
    """
    predictions = [
        _answer(model, values, best)
        for values, best in zip(rows.tolist(), rows.argmax(axis=1).tolist(), strict=True)
    ]
    body = {
        "predictions": predictions,
        "model_name": model.ref.name,
        "model_version": model.version_label,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _answer(model: LoadedModel, probabilities: list[float], best: int) -> dict[str, Any]:
    """The fields of a :class:`PredictionOut` (labels were checked when the model loaded)."""
    return {
        "label": model.labels[best],
        "probabilities": dict(zip(model.labels, probabilities, strict=True)),
        "model_name": model.ref.name,
        "model_version": model.version_label,
    }


def explain(model: LoadedModel, texts: list[str], top_k: int) -> list[ExplanationOut]:
    """Each review's prediction and the terms that pushed it each way.

    For a linear model the log-odds of the positive class are the intercept plus, for
    every term of the review, coefficient x TF-IDF value: those products are the
    contributions.
    """
    steps = model.pipeline.named_steps
    classifier = steps["classifier"]
    if not hasattr(classifier, "coef_"):
        raise TypeError(f"{type(classifier).__name__} has no coefficients to explain with")
    # Binary logistic regression: coef_[0] raises the odds of classes_[1].
    towards_second = 1.0 if model.labels[1] == "positive" else -1.0
    coefficients = classifier.coef_[0] * towards_second
    intercept = float(classifier.intercept_[0] * towards_second)
    features = steps["tfidf"].transform(steps["text"].transform(texts)).tocsr()
    probabilities = classifier.predict_proba(features)
    explanations = []
    for row, row_probabilities in enumerate(probabilities):
        start, end = features.indptr[row], features.indptr[row + 1]
        columns = features.indices[start:end]
        contributions = features.data[start:end] * coefficients[columns]
        order = np.argsort(contributions)
        towards_negative = [
            _term(model, columns[i], contributions[i])
            for i in order[:top_k]
            if contributions[i] < 0
        ]
        towards_positive = [
            _term(model, columns[i], contributions[i])
            for i in order[::-1][:top_k]
            if contributions[i] > 0
        ]
        base = prediction(model, row_probabilities)
        explanations.append(
            ExplanationOut(
                **base.model_dump(),
                intercept=intercept,
                towards_positive=towards_positive,
                towards_negative=towards_negative,
            )
        )
    return explanations


def _term(model: LoadedModel, column: int, contribution: float) -> TermContributionOut:
    return TermContributionOut(
        term=str(model.feature_names[column]), contribution=float(contribution)
    )

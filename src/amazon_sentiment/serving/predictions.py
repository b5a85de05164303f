"""Turning model outputs into response bodies (pure functions, no I/O)."""

from __future__ import annotations

import json
from typing import cast

import numpy as np

from amazon_sentiment.serving.loading import LoadedModel
from amazon_sentiment.serving.schemas import (
    ExplanationOut,
    Label,
    PredictionOut,
    TermContributionOut,
)


def prediction(model: LoadedModel, probabilities: np.ndarray) -> PredictionOut:
    """One review's answer from its row of class probabilities."""
    values = probabilities.tolist()
    best = max(range(len(values)), key=values.__getitem__)
    return PredictionOut.model_construct(
        # model.labels was checked against LABELS when the model was loaded.
        label=cast(Label, model.labels[best]),
        probabilities=cast(dict[Label, float], dict(zip(model.labels, values, strict=True))),
        model_name=model.ref.name,
        model_version=model.version_label,
    )


def batch_prediction_json(model: LoadedModel, rows: np.ndarray) -> bytes:
    """A :class:`BatchPredictionOut` as JSON, built straight from the probabilities.

    The batch path's hot spot after the model: building a pydantic object per review
    cost more than parsing the request. Same shape, checked against the model by the
    contract tests.
    """
    labels = model.labels
    name, version = model.ref.name, model.version_label
    predictions = [
        {
            "label": labels[max(range(len(values)), key=values.__getitem__)],
            "probabilities": dict(zip(labels, values, strict=True)),
            "model_name": name,
            "model_version": version,
        }
        for values in rows.tolist()
    ]
    body = {"predictions": predictions, "model_name": name, "model_version": version}
    return json.dumps(body, separators=(",", ":")).encode()


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

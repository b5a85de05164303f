"""POST /predict and POST /explain."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Body, Response

from amazon_sentiment.serving.dependencies import ScoringDep
from amazon_sentiment.serving.errors import ApiError
from amazon_sentiment.serving.inputs import check_text, check_texts
from amazon_sentiment.serving.loading import LoadedModel
from amazon_sentiment.serving.metrics import ServiceMetrics
from amazon_sentiment.serving.predictions import batch_prediction_json, explain, prediction
from amazon_sentiment.serving.routes.responses import BAD_INPUT, json_response
from amazon_sentiment.serving.schemas import (
    BatchExplanationOut,
    BatchPredictionOut,
    ExplainIn,
    ExplainReviewIn,
    ExplanationOut,
    PredictIn,
    PredictionOut,
    ReviewIn,
)

router = APIRouter(tags=["predictions"])


@router.post("/predict", responses=BAD_INPUT, response_model=PredictionOut | BatchPredictionOut)
async def predict(review: Annotated[PredictIn, Body()], scoring: ScoringDep) -> Response:
    """Score one review (`{"text": ...}`) or a batch (`{"texts": [...]}`)."""
    state, model = scoring.state, scoring.model
    settings = state.settings
    if isinstance(review, ReviewIn):
        text = check_text(review.text, "text", settings)
        probabilities = await state.scorer.score_one(model, text)
        _count_labels(state.metrics, model, probabilities[np.newaxis, :])
        return json_response(prediction(model, probabilities))
    texts = check_texts(review.texts, "texts", settings)
    rows = state.scorer.score_many(model, texts)
    _count_labels(state.metrics, model, rows)
    return Response(batch_prediction_json(model, rows), media_type="application/json")


@router.post("/explain", responses=BAD_INPUT)
async def explain_reviews(
    review: Annotated[ExplainIn, Body()], scoring: ScoringDep
) -> ExplanationOut | BatchExplanationOut:
    """The prediction plus the `top_k` terms that pushed it towards each label."""
    state, model = scoring.state, scoring.model
    settings = state.settings
    if isinstance(review, ExplainReviewIn):
        texts = [check_text(review.text, "text", settings)]
    else:
        texts = check_texts(review.texts, "texts", settings)
    try:
        explanations = explain(model, texts, review.top_k)  # on the loop, as batches are
    except TypeError as error:
        raise ApiError(501, "NOT_IMPLEMENTED", f"cannot explain this model: {error}") from error
    if isinstance(review, ExplainReviewIn):
        return explanations[0]
    return BatchExplanationOut(
        explanations=explanations, model_name=model.ref.name, model_version=model.version_label
    )


def _count_labels(metrics: ServiceMetrics, model: LoadedModel, rows: np.ndarray) -> None:
    counts = np.bincount(rows.argmax(axis=1), minlength=len(model.labels))
    for label, count in zip(model.labels, counts.tolist(), strict=True):
        if count:
            metrics.predictions.labels(label).inc(count)

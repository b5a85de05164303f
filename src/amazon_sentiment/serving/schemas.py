"""Request and response bodies of the HTTP API, one naming family: ``*In`` and ``*Out``.

Types are checked here (a text must be a JSON string, never null or a number); limits
that come from settings (text length, batch size) are checked by the routes, so their
errors can name the limit in force.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictStr, Tag

Label = Literal["negative", "positive"]

_REVIEW_EXAMPLE = "Great sound, the battery lasts all week. Would buy again."
_NEGATIVE_EXAMPLE = "Stopped working after two days and support never answered."


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReviewIn(_Body):
    """One review to score."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"text": _REVIEW_EXAMPLE}]})
    text: StrictStr = Field(description="The review as written: headline and body.")


class ReviewsIn(_Body):
    """Several reviews scored in one call (vectorised)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"texts": [_REVIEW_EXAMPLE, _NEGATIVE_EXAMPLE]}]}
    )
    texts: list[StrictStr] = Field(description="Reviews, each as written.")


class ExplainReviewIn(ReviewIn):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"text": _NEGATIVE_EXAMPLE, "top_k": 5}]}
    )
    top_k: int = Field(10, ge=1, le=100, description="Terms to show each way.")


class ExplainReviewsIn(ReviewsIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"texts": [_REVIEW_EXAMPLE, _NEGATIVE_EXAMPLE], "top_k": 5}]
        }
    )
    top_k: int = Field(10, ge=1, le=100, description="Terms to show each way.")


def _body_shape(body: Any) -> str | None:
    if isinstance(body, dict):
        return "reviews" if "texts" in body else "review"
    if isinstance(body, BaseModel):
        return "reviews" if hasattr(body, "texts") else "review"
    return None


# `{"text": ...}` or `{"texts": [...]}`, told apart by the key so that a bad batch is
# reported against the batch schema only.
PredictIn = Annotated[
    Annotated[ReviewIn, Tag("review")] | Annotated[ReviewsIn, Tag("reviews")],
    Discriminator(_body_shape),
]
ExplainIn = Annotated[
    Annotated[ExplainReviewIn, Tag("review")] | Annotated[ExplainReviewsIn, Tag("reviews")],
    Discriminator(_body_shape),
]
#: Discriminator tags, left out of the field names in error messages.
BODY_TAGS = frozenset({"review", "reviews"})


class PredictionOut(BaseModel):
    label: Label
    probabilities: dict[Label, float] = Field(description="Probability of each class.")
    model_name: str
    model_version: str

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "label": "positive",
                    "probabilities": {"negative": 0.04, "positive": 0.96},
                    "model_name": "amazon_sentiment_model",
                    "model_version": "3",
                }
            ]
        }
    )


class BatchPredictionOut(BaseModel):
    predictions: list[PredictionOut]
    model_name: str
    model_version: str


class TermContributionOut(BaseModel):
    term: str = Field(description="A word or n-gram of the cleaned review.")
    contribution: float = Field(description="Coefficient x TF-IDF value, in log-odds.")


class ExplanationOut(PredictionOut):
    intercept: float = Field(description="Log-odds of 'positive' for an empty review.")
    towards_positive: list[TermContributionOut]
    towards_negative: list[TermContributionOut]


class BatchExplanationOut(BaseModel):
    explanations: list[ExplanationOut]
    model_name: str
    model_version: str


class DataFrameSplitIn(BaseModel):
    columns: list[str]
    data: list[list[Any]]
    index: list[Any] | None = None


class ScoringIn(BaseModel):
    """MLflow's scoring protocol: exactly one of the four input fields."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"dataframe_split": {"columns": ["text"], "data": [[_REVIEW_EXAMPLE]]}},
                {"dataframe_records": [{"text": _NEGATIVE_EXAMPLE}]},
                {"inputs": {"text": [_REVIEW_EXAMPLE]}},
                {"instances": [{"text": _REVIEW_EXAMPLE}]},
            ]
        },
    )
    dataframe_split: DataFrameSplitIn | None = None
    dataframe_records: list[dict[str, Any]] | None = None
    instances: list[Any] | dict[str, Any] | None = None
    inputs: list[Any] | dict[str, Any] | None = None
    params: dict[str, Any] | None = Field(None, description="Accepted and ignored.")


class ScoringOut(BaseModel):
    predictions: list[str | int | float | bool] = Field(
        description="What the model's predict returns: its class for each row."
    )


class HealthOut(BaseModel):
    status: Literal["alive"] = "alive"


class ReadyOut(BaseModel):
    ready: bool
    model_version: str | None = None
    reason: str | None = None


class ReloadStatusOut(BaseModel):
    outcome: Literal["loaded", "unchanged", "failed", "never"]
    at: datetime | None = None
    version: str | None = None
    error: str | None = None


class ModelOut(BaseModel):
    name: str
    version: str | None
    alias: str | None
    run_id: str | None
    source: str = Field(description="The model URI that was loaded.")
    loaded_at: datetime
    labels: list[str]
    training_metrics: dict[str, float]
    logged_versions: dict[str, str] = Field(description="Library versions at training time.")
    running_versions: dict[str, str] = Field(description="Library versions serving it.")
    last_reload: ReloadStatusOut


class ReloadOut(BaseModel):
    outcome: Literal["loaded", "unchanged", "failed"]
    model_version: str | None
    previous_version: str | None
    error: str | None = None


class ErrorOut(BaseModel):
    """Every 4xx/5xx body; ``error_code`` and ``message`` as MLflow's scoring server."""

    error_code: str
    message: str
    field: str | None = Field(None, description="The request field at fault, if any.")
    limit: int | None = Field(None, description="The limit that was exceeded, if any.")

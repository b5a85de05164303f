"""Typed dependencies shared by the routers.

All are ``async def``: FastAPI runs plain ``def`` dependencies on a thread pool, a
cost paid on every request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from pydantic import SecretStr

from amazon_sentiment.serving.batching import Scorer
from amazon_sentiment.serving.errors import ApiError
from amazon_sentiment.serving.loading import LoadedModel
from amazon_sentiment.serving.metrics import ServiceMetrics
from amazon_sentiment.serving.state import ModelSlot
from amazon_sentiment.settings import Settings

API_KEY_HEADER = "X-API-Key"


@dataclass
class ServingState:
    """Everything one app needs, kept on ``app.state.serving``."""

    settings: Settings
    metrics: ServiceMetrics
    models: ModelSlot
    scorer: Scorer


async def get_state(request: Request) -> ServingState:
    state: ServingState = request.app.state.serving
    return state


StateDep = Annotated[ServingState, Depends(get_state)]


async def get_model(state: StateDep) -> LoadedModel:
    """The model answering now, read once per request."""
    model = state.models.current
    if model is None:
        raise ApiError(
            503,
            "MODEL_NOT_LOADED",
            f"no model is loaded yet: {state.models.waiting_for or 'starting'}",
            headers={"Retry-After": "5"},
        )
    return model


ModelDep = Annotated[LoadedModel, Depends(get_model)]

_api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Required when the service is started with AMAZON_SENTIMENT_API_KEY.",
)
GivenKey = Annotated[str | None, Security(_api_key_header)]


def _key_matches(given: str | None, expected: SecretStr) -> bool:
    if given is None:
        return False
    return secrets.compare_digest(given.encode(), expected.get_secret_value().encode())


async def require_api_key(state: StateDep, given: GivenKey) -> None:
    expected = state.settings.api_key
    if expected is not None and not _key_matches(given, expected):
        raise ApiError(
            401,
            "UNAUTHENTICATED",
            f"missing or wrong API key: send it in the {API_KEY_HEADER} header",
            field=API_KEY_HEADER,
            headers={"WWW-Authenticate": "ApiKey"},
        )


@dataclass(frozen=True)
class Scoring:
    """What a scoring route needs: the app's state and the model it answers with."""

    state: ServingState
    model: LoadedModel


async def scoring(request: Request, given: GivenKey) -> Scoring:
    """Check the API key and read the model once, in one dependency.

    One dependency rather than a tree of small ones: FastAPI's dependency solving costs
    tens of microseconds per node on every request, on the hottest routes.
    """
    state: ServingState = request.app.state.serving
    await require_api_key(state, given)
    return Scoring(state, await get_model(state))


ScoringDep = Annotated[Scoring, Depends(scoring)]


async def require_admin_key(state: StateDep, given: GivenKey) -> None:
    expected = state.settings.admin_api_key or state.settings.api_key
    if expected is None:
        raise ApiError(
            403,
            "PERMISSION_DENIED",
            "admin endpoints are off: start the service with AMAZON_SENTIMENT_ADMIN_API_KEY "
            "(or AMAZON_SENTIMENT_API_KEY) set",
        )
    if not _key_matches(given, expected):
        raise ApiError(
            401,
            "UNAUTHENTICATED",
            f"missing or wrong admin API key: send it in the {API_KEY_HEADER} header",
            field=API_KEY_HEADER,
            headers={"WWW-Authenticate": "ApiKey"},
        )

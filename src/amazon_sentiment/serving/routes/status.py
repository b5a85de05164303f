"""Liveness, readiness, the model answering, and Prometheus metrics."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from amazon_sentiment.serving.dependencies import ModelDep, StateDep
from amazon_sentiment.serving.loading import running_versions
from amazon_sentiment.serving.routes.responses import BAD_INPUT
from amazon_sentiment.serving.schemas import HealthOut, ModelOut, ReadyOut, ReloadStatusOut

router = APIRouter(tags=["status"])


@router.get("/health")
async def health() -> HealthOut:
    """Liveness: the process answers (with or without a model)."""
    return HealthOut()


@router.get("/ready", responses={503: {"model": ReadyOut, "description": "No model yet"}})
async def ready(state: StateDep, response: Response) -> ReadyOut:
    """Readiness: 200 only once a model is loaded."""
    model = state.models.current
    if model is None:
        response.status_code = 503
        return ReadyOut(ready=False, reason=state.models.waiting_for)
    return ReadyOut(ready=True, model_version=model.version_label)


@router.get("/model", responses={503: BAD_INPUT[503]})
async def model_card(model: ModelDep, state: StateDep) -> ModelOut:
    """The model answering: where it came from, how it scored, the libraries around it."""
    reload = state.models.last_reload
    return ModelOut(
        name=model.ref.name,
        version=model.ref.version,
        alias=model.ref.alias,
        run_id=model.ref.run_id,
        source=without_credentials(model.ref.uri),
        loaded_at=model.loaded_at,
        labels=list(model.labels),
        training_metrics=model.training_metrics,
        logged_versions=model.logged_versions,
        running_versions=running_versions(),
        last_reload=ReloadStatusOut(
            outcome=reload.outcome, at=reload.at, version=reload.version, error=reload.error
        ),
    )


@router.get("/metrics", response_class=Response)
async def metrics(state: StateDep) -> Response:
    """Prometheus text exposition."""
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def without_credentials(uri: str) -> str:
    """A URI as shown to anyone: ``user:password@`` removed."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))

"""The FastAPI app: ``create_app(settings)`` builds it; nothing is built at import."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from amazon_sentiment.serving.batching import Scorer
from amazon_sentiment.serving.dependencies import ServingState
from amazon_sentiment.serving.errors import add_error_handlers
from amazon_sentiment.serving.metrics import ServiceMetrics
from amazon_sentiment.serving.middleware import BodyGuardMiddleware, MetricsMiddleware
from amazon_sentiment.serving.routes import admin, predict, scoring, status
from amazon_sentiment.serving.state import ModelSlot
from amazon_sentiment.settings import Settings

log = logging.getLogger(__name__)

_DESCRIPTION = """
Sentiment of Amazon reviews, from the model the registry's alias points at
(`models:/<model_name>@<model_alias>`), swapped without downtime when the alias moves.

Send `X-API-Key` on `/predict`, `/explain` and `/invocations` when the service runs with
`AMAZON_SENTIMENT_API_KEY`; `/admin/*` always needs a key. Errors are JSON `ErrorOut`
bodies naming the field and the limit.
"""


def create_app(settings: Settings, *, on_fatal: Callable[[], None] | None = None) -> FastAPI:
    """Build the service.

    ``on_fatal`` is called when start-up gives up (registry unreachable past its
    deadline, or a model that cannot be served): the ``serve`` command uses it to stop
    uvicorn and exit non-zero, so that an orchestrator restarts the process.
    """
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        models = ModelSlot(settings, metrics, on_fatal or (lambda: None))
        scorer = Scorer(
            metrics,
            micro_batching=settings.micro_batching,
            max_micro_batch=settings.micro_batch_max_size,
            max_wait_seconds=settings.micro_batch_wait_ms / 1000,
        )
        app.state.serving = ServingState(settings, metrics, models, scorer)
        await scorer.start()
        # Loading runs beside serving, so /health answers and /ready says 503 while the
        # registry is retried.
        loader = asyncio.create_task(models.serve_forever(), name="model-loader")
        try:
            yield
        finally:
            loader.cancel()
            await asyncio.gather(loader, return_exceptions=True)
            await scorer.stop()

    app = FastAPI(
        title="Amazon review sentiment",
        description=_DESCRIPTION,
        version="1",
        lifespan=lifespan,
        # FastAPI's built-in OpenTelemetry hooks ask the global providers on every
        # request (~50 us here); the service exports Prometheus metrics instead.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    add_error_handlers(app)
    routers = (predict.router, scoring.router, status.router, admin.router)
    for router in routers:
        app.include_router(router)
    route_paths = frozenset(
        str(route.path) for router in routers for route in router.routes if hasattr(route, "path")
    )
    # Added last = outermost: metrics see every answer, the guard's refusals included.
    app.add_middleware(BodyGuardMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics, route_paths=route_paths)
    return app

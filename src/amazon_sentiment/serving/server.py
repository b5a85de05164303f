"""Running the app under uvicorn (the ``serve`` command)."""

from __future__ import annotations

import logging
import os

from amazon_sentiment.errors import PipelineError
from amazon_sentiment.serving.app import create_app
from amazon_sentiment.settings import Settings

log = logging.getLogger(__name__)

# MLflow's HTTP client retries a refused connection for minutes by default; start-up
# has its own retry loop bounded by registry_deadline_seconds, so each attempt is kept
# short. Values already in the environment win.
_MLFLOW_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


def serve(settings: Settings, *, access_log: bool = False) -> None:
    """Serve until stopped; raise PipelineError if start-up gave up on the model.

    One process with one event loop: concurrent single reviews are micro-batched, which
    is what scales on a small machine (see docs/benchmarks.md); run more replicas behind
    a load balancer to go further.
    """
    import uvicorn

    for name, value in _MLFLOW_HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)

    def stop_serving() -> None:
        server.should_exit = True

    app = create_app(settings, on_fatal=stop_serving)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,  # the CLI has configured logging already
        access_log=access_log,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    server.run()
    state = getattr(app.state, "serving", None)
    if state is not None and state.models.fatal_error is not None:
        raise PipelineError(f"the service stopped: {state.models.fatal_error}")
    if not server.started:
        raise PipelineError(f"the service could not start on {settings.host}:{settings.port}")

"""What scoring routes answer: error responses they declare, and fast JSON bodies."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel

from amazon_sentiment.serving.schemas import ErrorOut

_ERROR: dict[str, Any] = {"model": ErrorOut}

BAD_INPUT: dict[int | str, dict[str, Any]] = {
    400: {**_ERROR, "description": "Malformed JSON or invalid UTF-8"},
    401: {**_ERROR, "description": "Missing or wrong API key (when one is configured)"},
    413: {**_ERROR, "description": "Body over max_body_bytes"},
    415: {**_ERROR, "description": "Content-Type is not application/json"},
    422: {**_ERROR, "description": "A field is missing, of the wrong type or over a limit"},
    503: {**_ERROR, "description": "No model loaded yet"},
}


def json_response(body: BaseModel) -> Response:
    """``body`` as JSON, serialised once by pydantic and not validated again.

    Scoring routes build their answers with ``model_construct`` from values they
    produced themselves; FastAPI's own path would validate every answer against the
    response model again before serialising it (about 1.5 ms for a batch of 100, a
    tenth of the model's time). The routes still declare ``response_model`` for the
    OpenAPI schema, and the contract tests check the bodies against it.
    """
    return Response(body.model_dump_json(), media_type="application/json")

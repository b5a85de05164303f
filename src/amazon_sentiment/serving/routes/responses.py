"""Error responses each route declares in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

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

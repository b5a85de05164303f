"""HTTP errors: every one is a JSON :class:`ErrorOut` naming the field and the limit."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from amazon_sentiment.serving.schemas import BODY_TAGS, ErrorOut

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered with ``status_code`` and a JSON body, never a traceback."""

    def __init__(
        self,
        status_code: int,
        error_code: str,
        message: str,
        *,
        field: str | None = None,
        limit: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = ErrorOut(error_code=error_code, message=message, field=field, limit=limit)
        self.headers = headers


def error_response(
    status_code: int,
    error_code: str,
    message: str,
    *,
    field: str | None = None,
    limit: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The response an :class:`ApiError` with these arguments gets."""
    return _as_response(
        ApiError(status_code, error_code, message, field=field, limit=limit, headers=headers)
    )


def _as_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error.body.model_dump(), status_code=error.status_code, headers=error.headers
    )


def field_name(location: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "reviews", "texts", 3)`` -> ``texts[3]``."""
    name = ""
    for part in location:
        if part == "body" or part in BODY_TAGS:
            continue
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return _as_response(error)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    first: dict[str, Any] = (
        dict(problems[0]) if problems else {"loc": ("body",), "msg": "invalid request"}
    )
    context: dict[str, Any] = first.get("ctx") or {}
    if first.get("type") == "json_invalid":
        detail = context.get("error", "")
        return error_response(
            400,
            "MALFORMED_REQUEST",
            f"the body is not valid JSON: {detail} (character {first['loc'][-1]})",
            field="body",
        )
    field = field_name(first["loc"])
    message = f"{field}: {first['msg']}"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem(s))"
    limit = next((context[key] for key in ("le", "ge", "max_length") if key in context), None)
    return error_response(
        422,
        "INVALID_PARAMETER_VALUE",
        message,
        field=field,
        limit=limit if isinstance(limit, int) else None,
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    return error_response(
        error.status_code,
        codes.get(error.status_code, "BAD_REQUEST"),
        str(error.detail),
        headers=dict(error.headers) if error.headers else None,
    )


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    # A bug, not bad input: keep the traceback in the log, not in the answer.
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "INTERNAL_ERROR", "internal error; see the service log")


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

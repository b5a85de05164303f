"""Pure ASGI middleware: request metrics, and the guard on request bodies.

Pure ASGI rather than ``BaseHTTPMiddleware``, which costs a task and a stream per
request and hides the streamed body.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from amazon_sentiment.serving.metrics import ServiceMetrics
from amazon_sentiment.serving.schemas import ErrorOut

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class MetricsMiddleware:
    """Counts requests and times them by route template, method and status."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, route_paths: frozenset[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.route_paths = route_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            labels = (self._route_template(scope), scope["method"], str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - started)

    def _route_template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None:
            return str(route.path)
        # Answered before routing (by the body guard). Raw paths become labels only if
        # they are routes, so that clients cannot grow the set of metrics.
        path = scope["path"]
        return path if path in self.route_paths else "unmatched"


class BodyGuardMiddleware:
    """Refuses oversized, non-JSON or non-UTF-8 bodies before anything parses them.

    The size is checked on ``Content-Length`` and again on the bytes actually received
    (a chunked or lying client sends no or a wrong length).
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared, content_type = _body_headers(scope)
        if declared is not None:
            if not declared.isdigit():
                await _refuse(send, 400, "MALFORMED_REQUEST", "Content-Length is not a number")
                return
            if int(declared) > self.max_body_bytes:
                await self._too_large(send)
                return
        chunks: list[bytes] = []
        received = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body:
            media_type = content_type.split(";")[0].strip().lower()
            if media_type != "application/json" and not media_type.endswith("+json"):
                await _refuse(
                    send,
                    415,
                    "UNSUPPORTED_MEDIA_TYPE",
                    f"Content-Type must be application/json, got {content_type or 'none'!r}",
                    field="Content-Type",
                )
                return
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as error:
                await _refuse(
                    send,
                    400,
                    "MALFORMED_REQUEST",
                    f"the body is not valid UTF-8 (byte {error.start})",
                    field="body",
                )
                return
        await self.app(scope, _replay(body, receive), send)

    async def _too_large(self, send: Send) -> None:
        await _refuse(
            send,
            413,
            "PAYLOAD_TOO_LARGE",
            f"the body is over the limit of {self.max_body_bytes} bytes",
            field="body",
            limit=self.max_body_bytes,
        )


def _body_headers(scope: Scope) -> tuple[str | None, str]:
    """Content-Length (None if absent) and Content-Type ("" if absent)."""
    length, content_type = None, ""
    for name, value in scope["headers"]:
        lowered = name.lower()
        if lowered == b"content-length":
            length = value.decode("latin-1")
        elif lowered == b"content-type":
            content_type = value.decode("latin-1")
    return length, content_type


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse(
    send: Send,
    status: int,
    error_code: str,
    message: str,
    *,
    field: str | None = None,
    limit: int | None = None,
) -> None:
    payload: dict[str, Any] = ErrorOut(
        error_code=error_code, message=message, field=field, limit=limit
    ).model_dump()
    content = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                # The rest of an oversized body is never read: end the connection.
                *([(b"connection", b"close")] if status == 413 else []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})

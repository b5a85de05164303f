"""Every kind of bad input gets a 4xx JSON error naming the field and the limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.serving import api_client, local_settings

MAX_TEXT_CHARS = 50
MAX_BATCH_SIZE = 5
MAX_BODY_BYTES = 2_000
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def strict_api(model_dir: Path) -> Iterator[TestClient]:
    settings = local_settings(
        model_dir,
        max_text_chars=MAX_TEXT_CHARS,
        max_batch_size=MAX_BATCH_SIZE,
        max_body_bytes=MAX_BODY_BYTES,
    )
    with api_client(settings) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "body", "status", "field", "limit"),
    [
        ("/predict", {"text": ""}, 422, "text", None),
        ("/predict", {"text": " \t\n "}, 422, "text", None),
        ("/predict", {"text": 42}, 422, "text", None),
        ("/predict", {"text": None}, 422, "text", None),
        ("/predict", {"text": ["a list"]}, 422, "text", None),
        ("/predict", {"text": "x" * (MAX_TEXT_CHARS + 1)}, 422, "text", MAX_TEXT_CHARS),
        ("/predict", {"texts": ["fine", 3]}, 422, "texts[1]", None),
        ("/predict", {"texts": ["fine", None]}, 422, "texts[1]", None),
        ("/predict", {"texts": ["fine", ""]}, 422, "texts[1]", None),
        ("/predict", {"texts": ["fine", "y" * 51]}, 422, "texts[1]", MAX_TEXT_CHARS),
        ("/predict", {"texts": ["ok"] * (MAX_BATCH_SIZE + 1)}, 422, "texts", MAX_BATCH_SIZE),
        ("/predict", {"texts": []}, 422, "texts", 1),
        ("/predict", {"texts": "not a list"}, 422, "texts", None),
        ("/predict", {}, 422, "text", None),
        ("/predict", {"text": "ok", "extra": 1}, 422, "extra", None),
        ("/predict", [1, 2], 422, "body", None),
        ("/predict", "just a string", 422, "body", None),
        ("/explain", {"text": "ok", "top_k": 0}, 422, "top_k", 1),
        ("/explain", {"text": "ok", "top_k": 101}, 422, "top_k", 100),
        ("/explain", {"text": ""}, 422, "text", None),
        ("/invocations", {"instances": ["ok", None]}, 400, "instances[1]", None),
        (
            "/invocations",
            {"dataframe_records": [{"review": "no text key"}]},
            400,
            "dataframe_records[0]",
            None,
        ),
        (
            "/invocations",
            {"dataframe_split": {"columns": ["body"], "data": [["x"]]}},
            400,
            "dataframe_split.columns",
            None,
        ),
        (
            "/invocations",
            {"dataframe_split": {"columns": ["text"], "data": [["a", "b"]]}},
            400,
            "dataframe_split.data[0]",
            None,
        ),
        ("/invocations", {"inputs": ["a"], "instances": ["b"]}, 400, "body", None),
        ("/invocations", {}, 400, "body", None),
        ("/invocations", {"inputs": {"text": 5}}, 400, "inputs.text", None),
        ("/invocations", {"inputs": ["ok"] * (MAX_BATCH_SIZE + 1)}, 422, "inputs", MAX_BATCH_SIZE),
        ("/invocations", {"inputs": ["z" * 51]}, 422, "inputs[0]", MAX_TEXT_CHARS),
    ],
)
def test_bad_body_is_refused_naming_field_and_limit(
    strict_api: TestClient, path: str, body: Any, status: int, field: str, limit: int | None
) -> None:
    answer = strict_api.post(path, json=body)

    assert answer.status_code == status, answer.text
    error = answer.json()
    assert error["field"] == field
    assert error["limit"] == limit
    assert field.split("[")[0].split(".")[0] in error["message"] or field == "body"
    if limit is not None:
        assert str(limit) in error["message"]


def test_malformed_json(strict_api: TestClient) -> None:
    answer = strict_api.post("/predict", content=b'{"text": "unterminated', headers=JSON)

    assert answer.status_code == 400
    assert answer.json()["error_code"] == "MALFORMED_REQUEST"
    assert "not valid JSON" in answer.json()["message"]


def test_invalid_utf8(strict_api: TestClient) -> None:
    answer = strict_api.post("/predict", content=b'{"text": "caf\xe9"}', headers=JSON)

    assert answer.status_code == 400
    assert answer.json()["message"] == "the body is not valid UTF-8 (byte 13)"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type(strict_api: TestClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}

    answer = strict_api.post("/predict", content=b'{"text": "good"}', headers=headers)

    assert answer.status_code == 415
    assert answer.json()["field"] == "Content-Type"


def test_body_over_limit_by_content_length(strict_api: TestClient) -> None:
    body = b'{"text": "' + b"a" * MAX_BODY_BYTES + b'"}'

    answer = strict_api.post("/predict", content=body, headers=JSON)

    assert answer.status_code == 413
    assert answer.json()["limit"] == MAX_BODY_BYTES


def test_body_over_limit_when_streamed_without_length(strict_api: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"a" * 500
        yield b'"}'

    answer = strict_api.post("/predict", content=chunks(), headers=JSON)

    assert "content-length" not in answer.request.headers
    assert answer.status_code == 413
    assert answer.json()["field"] == "body"


def test_a_lying_content_length_is_refused(strict_api: TestClient) -> None:
    answer = strict_api.post("/predict", content=b"{}", headers={**JSON, "content-length": "x"})

    assert answer.status_code == 400


def test_unknown_route_and_method(strict_api: TestClient) -> None:
    assert strict_api.get("/nothing").json()["error_code"] == "NOT_FOUND"
    assert strict_api.get("/predict").status_code == 405


def test_service_keeps_serving_after_bad_input(strict_api: TestClient) -> None:
    strict_api.post("/predict", content=b"\xff\xfe", headers=JSON)
    strict_api.post("/predict", json={"texts": [None] * 100})

    assert strict_api.post("/predict", json={"text": "works fine"}).status_code == 200

"""API keys, the admin endpoints, and secrets kept out of answers and logs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from amazon_sentiment.serving.routes.status import without_credentials
from tests.fixtures.serving import api_client, local_settings

API_KEY = "client-key-7f3a9c"
ADMIN_KEY = "admin-key-41be02"


@pytest.fixture(scope="module")
def guarded_api(model_dir: Path) -> Iterator[TestClient]:
    with api_client(local_settings(model_dir, api_key=API_KEY, admin_api_key=ADMIN_KEY)) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/predict", {"text": "good"}),
        ("/explain", {"text": "good"}),
        ("/invocations", {"inputs": ["good"]}),
    ],
)
def test_scoring_needs_the_api_key(guarded_api: TestClient, path: str, body: object) -> None:
    missing = guarded_api.post(path, json=body)
    wrong = guarded_api.post(path, json=body, headers={"X-API-Key": "guess"})
    admin_is_not_enough = guarded_api.post(path, json=body, headers={"X-API-Key": ADMIN_KEY})
    right = guarded_api.post(path, json=body, headers={"X-API-Key": API_KEY})

    assert missing.status_code == wrong.status_code == admin_is_not_enough.status_code == 401
    assert missing.json()["field"] == "X-API-Key"
    assert right.status_code == 200


def test_status_endpoints_need_no_key(guarded_api: TestClient) -> None:
    for path in ("/health", "/ready", "/model", "/metrics", "/ping", "/version", "/docs"):
        assert guarded_api.get(path).status_code == 200, path


def test_admin_needs_the_admin_key(guarded_api: TestClient) -> None:
    assert guarded_api.post("/admin/reload").status_code == 401
    assert guarded_api.post("/admin/reload", headers={"X-API-Key": API_KEY}).status_code == 401

    answer = guarded_api.post("/admin/reload", headers={"X-API-Key": ADMIN_KEY})

    assert answer.status_code == 200
    assert answer.json()["outcome"] == "unchanged"


def test_admin_falls_back_to_the_api_key(model_dir: Path) -> None:
    with api_client(local_settings(model_dir, api_key=API_KEY)) as client:
        answer = client.post("/admin/reload?force=true", headers={"X-API-Key": API_KEY})
        assert answer.status_code == 200
        assert answer.json()["outcome"] == "loaded"
        assert client.get("/model").json()["last_reload"]["outcome"] == "loaded"


def test_admin_is_off_without_any_key(api: TestClient) -> None:
    answer = api.post("/admin/reload", headers={"X-API-Key": "anything"})

    assert answer.status_code == 403
    assert "AMAZON_SENTIMENT_ADMIN_API_KEY" in answer.json()["message"]


def test_secrets_never_appear_in_answers_or_logs(
    model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    settings = local_settings(model_dir, api_key=API_KEY, admin_api_key=ADMIN_KEY)
    with api_client(settings) as client:
        client.post("/predict", json={"text": "good"}, headers={"X-API-Key": "wrong-" + API_KEY})
        client.post("/admin/reload?force=true", headers={"X-API-Key": ADMIN_KEY})
        answers = [client.get(path).text for path in ("/model", "/metrics", "/openapi.json")]

    for text in [*answers, caplog.text]:
        assert API_KEY not in text
        assert ADMIN_KEY not in text


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("s3://AKIA123:s3cr3t@bucket/models/m-1", "s3://bucket/models/m-1"),
        ("https://user:pass@mlflow.example/api", "https://mlflow.example/api"),
        ("models:/amazon_sentiment_model/3", "models:/amazon_sentiment_model/3"),
        ("/srv/models/current", "/srv/models/current"),
    ],
)
def test_model_sources_are_shownwithout_credentials(uri: str, shown: str) -> None:
    assert without_credentials(uri) == shown

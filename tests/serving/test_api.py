"""The HTTP contract, on a real model, with the lifespan running (TestClient)."""

from __future__ import annotations

import gc
import math
from importlib.metadata import version
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from amazon_sentiment.model import LABELS
from amazon_sentiment.serving.schemas import BatchPredictionOut, PredictionOut, ScoringOut
from tests.fixtures.serving import api_client, local_settings

CLEARLY_POSITIVE = "Excellent product, works great and I love it. Highly recommend, five stars!"
CLEARLY_NEGATIVE = "Terrible. It broke after one day, waste of money, do not buy. Returned it."


def test_single_review_gets_label_probabilities_and_model(api: TestClient) -> None:
    answer = api.post("/predict", json={"text": CLEARLY_POSITIVE})

    assert answer.status_code == 200
    body = answer.json()
    assert body["label"] == "positive"
    assert set(body["probabilities"]) == set(LABELS)
    assert math.isclose(sum(body["probabilities"].values()), 1.0)
    assert body["probabilities"]["positive"] > 0.5
    assert body["model_name"] == "amazon_sentiment_model"
    assert body["model_version"] == "local"


def test_obvious_reviews_get_obvious_labels(api: TestClient) -> None:
    answer = api.post("/predict", json={"texts": [CLEARLY_NEGATIVE, CLEARLY_POSITIVE]})

    assert [p["label"] for p in answer.json()["predictions"]] == ["negative", "positive"]


def test_batch_answers_as_single_reviews_would(api: TestClient) -> None:
    texts = [CLEARLY_POSITIVE, CLEARLY_NEGATIVE, "ok I guess", "<b>fine</b> &amp; cheap"]

    batch = api.post("/predict", json={"texts": texts}).json()
    singles = [api.post("/predict", json={"text": text}).json() for text in texts]

    assert batch["model_version"] == "local"
    for in_batch, alone in zip(batch["predictions"], singles, strict=True):
        assert in_batch["label"] == alone["label"]
        for label in LABELS:
            assert math.isclose(
                in_batch["probabilities"][label], alone["probabilities"][label], rel_tol=1e-9
            )


def test_explanation_terms_add_up_to_the_log_odds(api: TestClient) -> None:
    text = "Great price but it broke quickly, very disappointed."

    body = api.post("/explain", json={"text": text, "top_k": 100}).json()

    terms = body["towards_positive"] + body["towards_negative"]
    log_odds = body["intercept"] + sum(term["contribution"] for term in terms)
    positive = body["probabilities"]["positive"]
    assert math.isclose(log_odds, math.log(positive / (1 - positive)), rel_tol=1e-6)
    assert all(term["contribution"] > 0 for term in body["towards_positive"])
    assert all(term["contribution"] < 0 for term in body["towards_negative"])
    assert "disappointed" in {term["term"] for term in body["towards_negative"]}


def test_explanation_keeps_the_strongest_terms(api: TestClient) -> None:
    full = api.post("/explain", json={"text": CLEARLY_NEGATIVE, "top_k": 100}).json()
    top = api.post("/explain", json={"texts": [CLEARLY_NEGATIVE], "top_k": 2}).json()

    shown = top["explanations"][0]["towards_negative"]
    assert len(shown) == 2
    assert shown == full["towards_negative"][:2]
    assert shown[0]["contribution"] <= shown[1]["contribution"]


@pytest.mark.parametrize(
    "request_body",
    [
        {
            "dataframe_split": {
                "columns": ["text"],
                "data": [[CLEARLY_NEGATIVE], [CLEARLY_POSITIVE]],
            }
        },
        {
            "dataframe_split": {
                "index": [7, 8],
                "columns": ["id", "text"],
                "data": [[1, CLEARLY_NEGATIVE], [2, CLEARLY_POSITIVE]],
            }
        },
        {"dataframe_records": [{"text": CLEARLY_NEGATIVE}, {"text": CLEARLY_POSITIVE}]},
        {"instances": [CLEARLY_NEGATIVE, CLEARLY_POSITIVE]},
        {"instances": [{"text": CLEARLY_NEGATIVE}, {"text": CLEARLY_POSITIVE}]},
        {"inputs": {"text": [CLEARLY_NEGATIVE, CLEARLY_POSITIVE]}},
        {"inputs": [CLEARLY_NEGATIVE, CLEARLY_POSITIVE], "params": {"ignored": 1}},
    ],
)
def test_mlflow_scoring_protocol(api: TestClient, request_body: dict[str, object]) -> None:
    answer = api.post("/invocations", json=request_body)

    assert answer.status_code == 200
    assert answer.json() == {"predictions": ["negative", "positive"]}


def test_mlflow_ping_and_version(api: TestClient) -> None:
    assert api.get("/ping").status_code == 200
    assert api.get("/version").text == version("mlflow")


def test_health_ready_and_model_card(api: TestClient) -> None:
    assert api.get("/health").json() == {"status": "alive"}
    assert api.get("/ready").json()["ready"] is True

    card = api.get("/model").json()
    assert card["source"].endswith("model")
    assert card["labels"] == list(LABELS)
    assert card["logged_versions"]["scikit-learn"] == version("scikit-learn")
    assert card["running_versions"]["mlflow"] == version("mlflow")
    assert card["last_reload"]["outcome"] == "never"


def test_metrics_count_requests_predictions_and_batches(model_dir: Path) -> None:
    with api_client(local_settings(model_dir)) as client:
        client.post("/predict", json={"texts": [CLEARLY_NEGATIVE, CLEARLY_POSITIVE, "great"]})
        client.post("/predict", json={"text": ""})
        client.post(
            "/predict", content=b"x" * 3_000_000, headers={"content-type": "application/json"}
        )
        client.get("/no/such/page")
        exposition = client.get("/metrics").text

    lines = set(exposition.splitlines())
    assert (
        'amazon_sentiment_http_requests_total{method="POST",route="/predict",status="200"} 1.0'
        in lines
    )
    assert (
        'amazon_sentiment_http_requests_total{method="POST",route="/predict",status="422"} 1.0'
        in lines
    )
    assert (
        'amazon_sentiment_http_requests_total{method="POST",route="/predict",status="413"} 1.0'
        in lines
    )
    assert (
        'amazon_sentiment_http_requests_total{method="GET",route="unmatched",status="404"} 1.0'
        in lines
    )
    assert 'amazon_sentiment_predictions_total{label="positive"} 2.0' in lines
    assert 'amazon_sentiment_predictions_total{label="negative"} 1.0' in lines
    assert 'amazon_sentiment_batch_size_sum{kind="request"} 3.0' in lines
    assert "amazon_sentiment_model_loaded 1.0" in lines
    assert "amazon_sentiment_model_last_reload_failed 0.0" in lines
    assert any(
        line.startswith("amazon_sentiment_http_request_duration_seconds_bucket") for line in lines
    )


def test_openapi_documents_every_endpoint_with_examples(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()

    assert {"/predict", "/explain", "/invocations", "/ping", "/version", "/health", "/ready",
            "/model", "/metrics", "/admin/reload"} <= set(schema["paths"])  # fmt: skip
    assert schema["components"]["schemas"]["ReviewIn"]["examples"]
    assert api.get("/docs").status_code == 200
    for example in (
        schema["components"]["schemas"]["ReviewIn"]["examples"]
        + schema["components"]["schemas"]["ReviewsIn"]["examples"]
    ):
        assert api.post("/predict", json=example).status_code == 200
    for example in schema["components"]["schemas"]["ScoringIn"]["examples"]:
        assert api.post("/invocations", json=example).status_code == 200


def test_loaded_model_is_kept_out_of_full_garbage_collections(api: TestClient) -> None:
    """Libraries and model are frozen once loaded: a full collection skips them.

    Walking them takes 100-250 ms, which would stall every request in flight.
    """
    assert api.get("/ready").status_code == 200
    assert gc.get_freeze_count() > 100_000


def test_scoring_answers_match_their_declared_response_models(api: TestClient) -> None:
    """The scoring routes serialise their answers themselves: they must still fit."""
    single = api.post("/predict", json={"text": CLEARLY_POSITIVE})
    batch = api.post("/predict", json={"texts": [CLEARLY_POSITIVE, CLEARLY_NEGATIVE]})
    rows = api.post("/invocations", json={"instances": [CLEARLY_POSITIVE, CLEARLY_NEGATIVE]})

    for answer in (single, batch, rows):
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
    assert PredictionOut.model_validate(single.json(), strict=True).label == "positive"
    assert len(BatchPredictionOut.model_validate(batch.json(), strict=True).predictions) == 2
    assert ScoringOut.model_validate(rows.json(), strict=True).predictions == [
        "positive",
        "negative",
    ]

"""Concurrent single reviews are combined into micro-batches without changing answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from amazon_sentiment.serving.batching import Scorer
from amazon_sentiment.serving.loading import LoadedModel, ModelRef, load_model
from amazon_sentiment.serving.metrics import ServiceMetrics
from tests.fixtures.serving import local_settings, sample_reviews


@pytest.fixture(scope="module")
def loaded_model(model_dir: Path) -> LoadedModel:
    return load_model(ModelRef(uri=str(model_dir), name="test"), local_settings(model_dir))


def _batch_sizes(metrics: ServiceMetrics, kind: str) -> tuple[float, float]:
    count = metrics.registry.get_sample_value("amazon_sentiment_batch_size_count", {"kind": kind})
    total = metrics.registry.get_sample_value("amazon_sentiment_batch_size_sum", {"kind": kind})
    return count or 0.0, total or 0.0


@pytest.mark.parametrize("wait_ms", [0.0, 5.0])
def test_concurrent_reviews_share_model_calls(loaded_model: LoadedModel, wait_ms: float) -> None:
    texts = sample_reviews(100, seed=1)["text"].tolist()
    metrics = ServiceMetrics()

    async def score_concurrently() -> list[np.ndarray]:
        scorer = Scorer(
            metrics,
            micro_batching=True,
            max_micro_batch=64,
            max_wait_seconds=wait_ms / 1000,
        )
        await scorer.start()
        try:
            return await asyncio.gather(*(scorer.score_one(loaded_model, text) for text in texts))
        finally:
            await scorer.stop()

    rows = asyncio.run(score_concurrently())

    np.testing.assert_allclose(np.vstack(rows), loaded_model.predict_proba(texts), rtol=1e-12)
    calls, reviews = _batch_sizes(metrics, "micro_batch")
    assert reviews == len(texts)
    assert calls < len(texts) / 10  # 200 reviews in at most 64 per call
    assert calls >= len(texts) / 64


def test_without_micro_batching_each_review_is_one_call(loaded_model: LoadedModel) -> None:
    texts = ["great", "awful", "fine"]
    metrics = ServiceMetrics()

    async def score_concurrently() -> list[np.ndarray]:
        scorer = Scorer(metrics, micro_batching=False, max_micro_batch=64, max_wait_seconds=0)
        await scorer.start()
        try:
            return await asyncio.gather(*(scorer.score_one(loaded_model, text) for text in texts))
        finally:
            await scorer.stop()

    rows = asyncio.run(score_concurrently())

    np.testing.assert_allclose(np.vstack(rows), loaded_model.predict_proba(texts), rtol=1e-12)
    assert _batch_sizes(metrics, "request") == (3.0, 3.0)
    assert _batch_sizes(metrics, "micro_batch") == (0.0, 0.0)


def test_a_batch_spanning_a_reload_keeps_each_request_on_its_model(
    loaded_model: LoadedModel, model_dir: Path
) -> None:
    newer = load_model(
        ModelRef(uri=str(model_dir), name="test", version="2"), local_settings(model_dir)
    )
    metrics = ServiceMetrics()

    async def score_on_both() -> list[np.ndarray]:
        scorer = Scorer(metrics, micro_batching=True, max_micro_batch=64, max_wait_seconds=0.01)
        await scorer.start()
        try:
            return await asyncio.gather(
                scorer.score_one(loaded_model, "great"), scorer.score_one(newer, "great")
            )
        finally:
            await scorer.stop()

    asyncio.run(score_on_both())

    # Two models in one gathering window: two calls, one per model.
    assert _batch_sizes(metrics, "micro_batch") == (2.0, 2.0)

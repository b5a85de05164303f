"""The saved form of the model: compact, loadable with our trusted types, same answers."""

from __future__ import annotations

import numpy as np
import skops.io
from sklearn.feature_extraction.text import TfidfVectorizer

from amazon_sentiment.model import SKOPS_TRUSTED_TYPES, build_pipeline
from amazon_sentiment.training.evaluation import evaluate, is_at_least_as_good, is_better
from tests.training.support import NEGATIVE_TEXTS, POSITIVE_TEXTS

TEXTS = [f"{text} {i}" for i in range(200) for text in (*POSITIVE_TEXTS, *NEGATIVE_TEXTS)]
LABELS = np.array([1, 1, 1, 0, 0, 0] * 200)


def test_skops_round_trip_keeps_vocabulary_and_predictions() -> None:
    pipeline = build_pipeline({"ngram_range": (1, 2), "min_df": 1}, {"C": 1.0}).fit(TEXTS, LABELS)

    restored = skops.io.loads(skops.io.dumps(pipeline), trusted=SKOPS_TRUSTED_TYPES)

    assert restored.named_steps["tfidf"].vocabulary_ == pipeline.named_steps["tfidf"].vocabulary_
    np.testing.assert_allclose(restored.predict_proba(TEXTS), pipeline.predict_proba(TEXTS))
    untrusted_by_default = skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
    assert "amazon_sentiment.model.CompactTfidfVectorizer" in untrusted_by_default
    assert set(untrusted_by_default) <= set(SKOPS_TRUSTED_TYPES)


def test_vocabulary_is_stored_as_one_string_not_a_dict() -> None:
    pipeline = build_pipeline({"ngram_range": (1, 2), "min_df": 1}, {"C": 1.0}).fit(TEXTS, LABELS)
    compact_bytes = len(skops.io.dumps(pipeline))
    plain = TfidfVectorizer()
    plain.__dict__.update(pipeline.named_steps["tfidf"].__dict__)
    pipeline.steps[1] = ("tfidf", plain)

    plain_bytes = len(skops.io.dumps(pipeline))

    # ~230 terms: each dict entry costs a few hundred bytes of skops headers.
    assert len(plain.vocabulary_) > 200
    assert compact_bytes * 2 < plain_bytes


def test_metrics_and_their_direction() -> None:
    metrics = evaluate(np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9]))

    assert (metrics.accuracy, metrics.precision, metrics.recall, metrics.f1) == (0.5, 0.5, 0.5, 0.5)
    assert metrics.roc_auc == 0.75
    assert is_better(0.9, 0.8, "f1")
    assert is_better(0.2, 0.3, "log_loss")
    assert is_at_least_as_good(0.8, 0.8, "f1")
    assert not is_at_least_as_good(0.79, 0.8, "accuracy")

"""Model behaviour (Made-With-ML style) of the pipeline trained on the bundled golden sample.

Only what a TF-IDF word 1-2-gram model can honestly do is asserted: a negation right
before a common sentiment word ("not good", "not recommend") is a bigram it has seen
many times; a rare one ("I do not love it") is not, and is left out. So is "Worth the
money", which the model reads as lukewarm: most reviews saying it say "not worth the money".
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from amazon_sentiment.model import TEXT_COLUMN, build_pipeline
from amazon_sentiment.training.config import load_train_config
from amazon_sentiment.training.golden_sample import read_golden_sample
from tests.training.support import TINY_GRID

POSITIVE, NEGATIVE = 1, 0


@pytest.fixture(scope="module")
def sentiment_model(golden_sample: Path) -> Pipeline:
    sample = read_golden_sample(str(golden_sample))
    config = load_train_config(TINY_GRID)
    vectorizer, classifier = config.vectorizer_configs()[0], config.classifier_configs()[-1]
    pipeline = build_pipeline(
        vectorizer.tfidf_params(max_df=config.vectorizer.max_df),
        classifier.logistic_regression_params(),
    )
    return pipeline.fit(sample.train.texts, sample.train.labels)


@pytest.mark.parametrize(
    ("text", "variant"),
    [
        ("great product", "great product!!"),
        ("great product", "GREAT PRODUCT"),
        ("great product", "great   product <br/>"),
        ("Terrible, it broke after two days.", "terrible,   it broke after two days!!!"),
        ("Works as described.", "Works as described. https://example.com/item"),
    ],
)
def test_invariance_to_punctuation_case_markup(
    sentiment_model: Pipeline, text: str, variant: str
) -> None:
    labels = sentiment_model.predict([text, variant])

    assert labels[0] == labels[1]


@pytest.mark.parametrize(
    ("affirmed", "negated"),
    [
        ("This is good", "This is not good"),
        ("I would recommend it", "I would not recommend it"),
        ("It works", "It does not work"),
        ("Happy with this purchase", "Not happy with this purchase"),
    ],
)
def test_negation_flips_a_clear_case(
    sentiment_model: Pipeline, affirmed: str, negated: str
) -> None:
    affirmed_label, negated_label = sentiment_model.predict([affirmed, negated])
    affirmed_p, negated_p = sentiment_model.predict_proba([affirmed, negated])[:, 1]

    assert (affirmed_label, negated_label) == (POSITIVE, NEGATIVE)
    assert negated_p < affirmed_p


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Absolutely love it, works perfectly. Five stars!", POSITIVE),
        ("Excellent quality, exactly as described, very happy with it.", POSITIVE),
        ("Best purchase I have made this year, highly recommend.", POSITIVE),
        ("Great sound and comfortable to wear, would buy again.", POSITIVE),
        ("Terrible. It broke after two days and I want a refund.", NEGATIVE),
        ("Complete waste of money, do not buy this.", NEGATIVE),
        ("Awful quality, stopped working after a week.", NEGATIVE),
        ("Very disappointed, the worst product I have ever bought.", NEGATIVE),
    ],
)
def test_minimum_functionality_on_obvious_reviews(
    sentiment_model: Pipeline, text: str, label: int
) -> None:
    assert sentiment_model.predict([text])[0] == label


def test_one_prediction_per_row_for_dataframes_and_lists(sentiment_model: Pipeline) -> None:
    texts = ["great product", "awful", "ok I guess", "broke at once", "love it"]

    from_frame = sentiment_model.predict(pd.DataFrame({TEXT_COLUMN: texts}))
    from_list = sentiment_model.predict(texts)

    assert len(from_frame) == len(texts)
    assert from_frame.tolist() == from_list.tolist()

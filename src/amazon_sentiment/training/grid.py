"""The grid search: every vectorizer fitted once, every classifier tried on its matrices.

Pure computation, no MLflow: :func:`search_grid` yields one :class:`Candidate` per
configuration and the caller records it. Fitting TF-IDF dominates the cost on large
samples, so a vectorizer's train and validation matrices are reused by every
classifier setting; :attr:`Candidate.vectorizer_reused` says when that happened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

from amazon_sentiment.model import CompactTfidfVectorizer
from amazon_sentiment.training.config import ClassifierConfig, TrainConfig, VectorizerConfig
from amazon_sentiment.training.golden_sample import GoldenSample

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """One fitted configuration and its validation probabilities."""

    index: int
    vectorizer_config: VectorizerConfig
    classifier_config: ClassifierConfig
    vectorizer: CompactTfidfVectorizer
    classifier: LogisticRegression
    validation_probabilities: npt.NDArray[np.float64]
    vectorizer_seconds: float
    classifier_seconds: float
    vectorizer_reused: bool

    @property
    def vocabulary_size(self) -> int:
        return len(self.vectorizer.vocabulary_)

    def params(self) -> dict[str, object]:
        vectorizer = {
            f"vectorizer.{name}": value
            for name, value in self.vectorizer_config.model_dump().items()
        }
        classifier = {
            f"classifier.{name}": value
            for name, value in self.classifier_config.model_dump().items()
        }
        return vectorizer | classifier

    def describe(self) -> str:
        return f"{self.vectorizer_config.describe()} + {self.classifier_config.describe()}"


def search_grid(sample: GoldenSample, config: TrainConfig) -> Iterator[Candidate]:
    """Fit every configuration of ``config`` on the train split, in grid order."""
    index = 0
    classifier_configs = config.classifier_configs()
    for vectorizer_config in config.vectorizer_configs():
        started = time.perf_counter()
        vectorizer = CompactTfidfVectorizer(
            **vectorizer_config.tfidf_params(max_df=config.vectorizer.max_df)
        )
        # Golden-sample text is already cleaned by the shared rules; the logged pipeline
        # still cleans (idempotently) so that raw text at prediction time is treated alike.
        train_matrix = vectorizer.fit_transform(sample.train.texts)
        validation_matrix = vectorizer.transform(sample.validation.texts)
        vectorizer_seconds = time.perf_counter() - started
        log.info(
            "fitted %s in %.1f s: %d terms",
            vectorizer_config.describe(),
            vectorizer_seconds,
            len(vectorizer.vocabulary_),
        )
        for position, classifier_config in enumerate(classifier_configs):
            started = time.perf_counter()
            classifier = LogisticRegression(**classifier_config.logistic_regression_params())
            classifier.fit(train_matrix, sample.train.labels)
            classifier_seconds = time.perf_counter() - started
            index += 1
            yield Candidate(
                index=index,
                vectorizer_config=vectorizer_config,
                classifier_config=classifier_config,
                vectorizer=vectorizer,
                classifier=classifier,
                validation_probabilities=classifier.predict_proba(validation_matrix)[:, 1],
                vectorizer_seconds=vectorizer_seconds,
                classifier_seconds=classifier_seconds,
                vectorizer_reused=position > 0,
            )
        del train_matrix, validation_matrix

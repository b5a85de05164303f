"""The training configuration: a hyperparameter grid and how to pick its winner.

Read from a committed YAML file (``configs/train.yaml`` by default) and validated here,
so a typo fails before any data is read, with the field's path and the file's name.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from amazon_sentiment.errors import ConfigError

MetricName = Literal["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"]
Solver = Literal["liblinear", "lbfgs", "newton-cg", "newton-cholesky", "sag", "saga"]
MinDocumentFrequency = Annotated[int, Field(ge=1)] | Annotated[float, Field(gt=0.0, lt=1.0)]

#: Metrics where a smaller value is better; every other metric is maximised.
LOWER_IS_BETTER: frozenset[str] = frozenset({"log_loss"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _distinct_non_empty(values: list[Any]) -> list[Any]:
    if not values:
        raise ValueError("list at least one value")
    if len({repr(value) for value in values}) != len(values):
        raise ValueError(f"values repeat: {values}")
    return values


class VectorizerConfig(_Strict):
    """One TF-IDF setting: the parameters of one fitted vectorizer."""

    ngram_range: tuple[int, int]
    min_df: MinDocumentFrequency
    max_features: int | None
    sublinear_tf: bool

    def tfidf_params(self, *, max_df: float) -> dict[str, Any]:
        import numpy as np

        return {
            "ngram_range": self.ngram_range,
            "min_df": self.min_df,
            "max_df": max_df,
            "max_features": self.max_features,
            "sublinear_tf": self.sublinear_tf,
            # float32 halves the matrices and the coefficients' input; LR loses nothing.
            "dtype": np.float32,
        }

    def describe(self) -> str:
        low, high = self.ngram_range
        cap = "all" if self.max_features is None else f"{self.max_features:,}"
        return (
            f"tfidf(ngrams {low}-{high}, min_df={self.min_df}, max_features={cap}, "
            f"sublinear_tf={self.sublinear_tf})"
        )


class ClassifierConfig(_Strict):
    """One logistic-regression setting."""

    C: float
    class_weight: Literal["balanced"] | None
    solver: Solver
    max_iter: int
    random_state: int

    def logistic_regression_params(self) -> dict[str, Any]:
        return self.model_dump()

    def describe(self) -> str:
        weight = self.class_weight or "none"
        return f"logreg(C={self.C:g}, solver={self.solver}, class_weight={weight})"


class VectorizerGrid(_Strict):
    """Lists of values; every combination is one vectorizer, fitted once."""

    ngram_range: list[tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]]] = [(1, 2)]
    min_df: list[MinDocumentFrequency] = [2]
    max_features: list[Annotated[int, Field(ge=1)] | None] = [None]
    sublinear_tf: list[bool] = [True]
    max_df: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0

    @field_validator("ngram_range")
    @classmethod
    def _ordered_ngrams(cls, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
        for low, high in ranges:
            if low > high:
                raise ValueError(f"n-gram range ({low}, {high}) must have low <= high")
        return ranges

    _distinct = field_validator("ngram_range", "min_df", "max_features", "sublinear_tf")(
        _distinct_non_empty
    )

    def configs(self) -> list[VectorizerConfig]:
        return [
            VectorizerConfig(
                ngram_range=ngram_range,
                min_df=min_df,
                max_features=max_features,
                sublinear_tf=sublinear_tf,
            )
            for ngram_range, min_df, max_features, sublinear_tf in itertools.product(
                self.ngram_range, self.min_df, self.max_features, self.sublinear_tf
            )
        ]


class ClassifierGrid(_Strict):
    """Lists of values; every combination is tried on every vectorizer's matrices."""

    C: list[Annotated[float, Field(gt=0.0)]] = [1.0]
    class_weight: list[Literal["balanced"] | None] = [None]
    solver: list[Solver] = ["liblinear"]
    max_iter: Annotated[int, Field(ge=1)] = 1000
    random_state: int = 42

    _distinct = field_validator("C", "class_weight", "solver")(_distinct_non_empty)

    def configs(self) -> list[ClassifierConfig]:
        return [
            ClassifierConfig(
                C=c,
                class_weight=class_weight,
                solver=solver,
                max_iter=self.max_iter,
                random_state=self.random_state,
            )
            for c, class_weight, solver in itertools.product(self.C, self.class_weight, self.solver)
        ]


class TrainConfig(_Strict):
    """The whole training configuration file."""

    selection_metric: MetricName = Field(
        "f1", description="Validation metric that picks the winning run."
    )
    log_models: Literal["best", "all"] = Field(
        "best", description="Log the model artifact of the winning run only, or of every run."
    )
    input_example_rows: Annotated[int, Field(ge=1, le=100)] = 3
    vectorizer: VectorizerGrid = VectorizerGrid()
    classifier: ClassifierGrid = ClassifierGrid()

    def vectorizer_configs(self) -> list[VectorizerConfig]:
        return self.vectorizer.configs()

    def classifier_configs(self) -> list[ClassifierConfig]:
        return self.classifier.configs()

    @property
    def run_count(self) -> int:
        return len(self.vectorizer_configs()) * len(self.classifier_configs())


def load_train_config(path: str | Path) -> TrainConfig:
    """Read and validate a training configuration file; ConfigError names what is wrong."""
    config_path = Path(path)
    try:
        raw_text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"training config {config_path} does not exist") from None
    except OSError as error:
        raise ConfigError(f"training config {config_path} cannot be read: {error}") from None
    try:
        document = yaml.safe_load(raw_text)
    except yaml.YAMLError as error:
        raise ConfigError(f"training config {config_path} is not valid YAML: {error}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(
            f"training config {config_path} must be a mapping of fields, "
            f"got {type(document).__name__}"
        )
    try:
        return TrainConfig.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            dict.fromkeys(
                f"{_field_path(problem['loc'])}: {problem['msg']}" for problem in error.errors()
            )
        )
        raise ConfigError(f"training config {config_path} is invalid: {problems}") from None


def _field_path(location: tuple[int | str, ...]) -> str:
    # Pydantic names the alternatives of a union ("constrained-int"); the user wrote a field.
    parts = [
        str(part) for part in location if not str(part).startswith(("constrained-", "function-"))
    ]
    return ".".join(parts) or "(top level)"

"""The training config file: the committed default parses, and mistakes name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from amazon_sentiment.errors import ConfigError
from amazon_sentiment.training.config import load_train_config
from tests.training.support import DEFAULT_CONFIG, TINY_GRID


def test_default_config_is_a_valid_grid_of_bigram_models() -> None:
    config = load_train_config(DEFAULT_CONFIG)

    assert config.selection_metric == "f1"
    assert config.run_count == len(config.vectorizer_configs()) * len(config.classifier_configs())
    assert config.run_count > 1
    assert all(v.ngram_range == (1, 2) for v in config.vectorizer_configs())


def test_tiny_test_grid_reuses_one_vectorizer_for_two_classifiers() -> None:
    config = load_train_config(TINY_GRID)

    assert len(config.vectorizer_configs()) == 1
    assert config.run_count == 2


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ("vectorizer:\n  min_df: [0]\n", "vectorizer.min_df.0"),
        ("classifier:\n  C: [-1]\n", "classifier.C.0"),
        ("classifier:\n  solver: [adam]\n", "classifier.solver.0"),
        ("classifier:\n  Cs: [1]\n", "classifier.Cs"),
        ("selection_metric: speed\n", "selection_metric"),
        ("vectorizer:\n  ngram_range: [[2, 1]]\n", "vectorizer.ngram_range"),
        ("vectorizer:\n  min_df: []\n", "vectorizer.min_df"),
    ],
)
def test_invalid_field_is_named_with_the_file(tmp_path: Path, document: str, field: str) -> None:
    config_file = tmp_path / "grid.yaml"
    config_file.write_text(document)

    with pytest.raises(ConfigError) as raised:
        load_train_config(config_file)

    assert f"{field}:" in str(raised.value)
    assert str(config_file) in str(raised.value)


def test_malformed_yaml_is_reported_with_the_file(tmp_path: Path) -> None:
    config_file = tmp_path / "grid.yaml"
    config_file.write_text("vectorizer: [unclosed\n")

    with pytest.raises(ConfigError, match="not valid YAML") as raised:
        load_train_config(config_file)
    assert str(config_file) in str(raised.value)


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_train_config(tmp_path / "absent.yaml")

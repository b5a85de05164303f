"""Data contract of the golden sample built from the bundled sample (the shared fixture)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from amazon_sentiment.etl.io import MANIFEST_NAME
from amazon_sentiment.etl.manifest import GoldenSampleManifest
from amazon_sentiment.etl.schemas import GOLDEN_SAMPLE_SCHEMA, SPLITS
from amazon_sentiment.settings import Settings
from amazon_sentiment.text import CLEANING_RULES_VERSION, clean_text
from tests.fixtures.golden_sample import BUNDLED_SAMPLE

DEFAULTS = Settings()

ARROW_SCHEMA = pa.schema(
    [
        ("review_id", pa.string()),
        ("text", pa.string()),
        ("label", pa.int32()),
        ("star_rating", pa.int32()),
        ("product_category", pa.string()),
        ("review_date", pa.date32()),
        ("split", pa.string()),
    ]
)


@pytest.fixture(scope="module")
def sample(golden_sample: Path) -> pd.DataFrame:
    return pd.read_parquet(golden_sample)


@pytest.fixture(scope="module")
def manifest(golden_sample: Path) -> GoldenSampleManifest:
    return GoldenSampleManifest.from_json((golden_sample / MANIFEST_NAME).read_text())


def test_schema_is_as_declared(spark: SparkSession, golden_sample: Path) -> None:
    read_back = spark.read.parquet(str(golden_sample)).schema
    assert [(f.name, f.dataType) for f in read_back] == [
        (f.name, f.dataType) for f in GOLDEN_SAMPLE_SCHEMA
    ]
    for part in golden_sample.glob("part-*.parquet"):
        written = pq.read_schema(part)
        assert [(f.name, f.type) for f in written] == [(f.name, f.type) for f in ARROW_SCHEMA]


def test_classes_are_exactly_balanced_in_every_split(
    sample: pd.DataFrame, manifest: GoldenSampleManifest
) -> None:
    counts = sample.groupby(["split", "label"]).size().unstack("label")
    assert sorted(counts.index) == sorted(SPLITS)
    assert (counts[0] == counts[1]).all()
    assert (sample["label"] == 0).sum() == (sample["label"] == 1).sum() == manifest.rows_per_class
    # N = min(target_rows / 2, smaller class): the bundled sample's negatives run out first.
    before = manifest.class_counts_before_balancing
    assert manifest.rows_per_class == min(DEFAULTS.target_rows // 2, *before.values())
    assert manifest.rows_per_class > 4_000


def test_splits_follow_the_fractions(sample: pd.DataFrame) -> None:
    shares = sample["split"].value_counts(normalize=True).to_dict()
    assert shares == pytest.approx(
        {
            "train": DEFAULTS.train_fraction,
            "validation": DEFAULTS.validation_fraction,
            "test": DEFAULTS.test_fraction,
        },
        abs=0.02,
    )


def test_no_text_appears_twice_or_in_two_splits(sample: pd.DataFrame) -> None:
    normalised = sample["text"].str.lower()
    assert normalised.is_unique
    review_ids = sample["review_id"].dropna()
    assert review_ids.is_unique


def test_rows_are_clean_labelled_reviews(sample: pd.DataFrame) -> None:
    assert sample[["text", "label", "star_rating", "split"]].notna().all().all()
    assert set(sample["label"]) == {0, 1}
    positive = sample["label"] == 1
    assert (sample.loc[positive, "star_rating"] >= DEFAULTS.positive_min_stars).all()
    assert (sample.loc[~positive, "star_rating"] <= DEFAULTS.negative_max_stars).all()
    assert (sample["text"].str.len() >= DEFAULTS.min_text_chars).all()
    assert (sample["text"].map(clean_text) == sample["text"]).all()
    assert sample["product_category"].notna().any()
    assert sample["review_date"].notna().any()


def test_manifest_accounts_for_every_row(
    sample: pd.DataFrame, manifest: GoldenSampleManifest, golden_sample: Path
) -> None:
    assert manifest.rows_read == 18_000
    assert manifest.rows_written == len(sample)
    assert manifest.rows_read == manifest.rows_written + sum(manifest.rows_dropped.values())
    assert list(manifest.rows_dropped) == [
        "null_rating",
        "invalid_rating",
        "null_text",
        "neutral_rating",
        "too_short",
        "duplicate_review_id",
        "duplicate_text",
        "conflicting_labels",
        "balancing",
    ]
    # The bundled sample has 1,929 three-star reviews and 1,185 repeated bodies.
    assert manifest.rows_dropped["neutral_rating"] == 1_929
    assert manifest.rows_dropped["duplicate_text"] > 500
    split_counts = sample.groupby(["split", "label"]).size()
    assert manifest.split_counts == {
        split: {"negative": int(split_counts[split, 0]), "positive": int(split_counts[split, 1])}
        for split in SPLITS
    }
    assert manifest.class_counts_after_balancing == {
        "negative": manifest.rows_per_class,
        "positive": manifest.rows_per_class,
    }
    before = manifest.split_counts_before_balancing
    assert sum(before[split][name] for split in SPLITS for name in before[split]) == sum(
        manifest.class_counts_before_balancing.values()
    )
    assert sorted(Path(file.removeprefix("file:")).name for file in manifest.input_files) == sorted(
        file.name for file in BUNDLED_SAMPLE.glob("*.parquet")
    )
    assert manifest.cleaning_rules_version == CLEANING_RULES_VERSION
    assert manifest.spark_version.startswith("4.")
    assert manifest.seed == DEFAULTS.seed
    assert manifest.target_rows == DEFAULTS.target_rows
    assert manifest.settings["golden_sample_path"] == str(golden_sample)
    assert manifest.duration_seconds > 0


def test_output_folder_holds_only_the_sample(golden_sample: Path) -> None:
    data_files = sorted(
        path.name for path in golden_sample.iterdir() if not path.name.startswith((".", "_"))
    )
    assert 1 <= len(data_files) <= 2
    assert all(name.endswith(".parquet") for name in data_files)
    assert sorted(path.name for path in golden_sample.parent.iterdir()) == [golden_sample.name]

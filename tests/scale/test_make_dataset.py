"""make-dataset: amazon-reviews-pds-shaped Parquet resampled from real reviews."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from amazon_sentiment.cli import app
from amazon_sentiment.datasets.build import DESCRIPTION_FILE, DatasetRequest, make_dataset
from amazon_sentiment.datasets.pools import read_source_reviews, split_sentences
from amazon_sentiment.datasets.synthesis import review_ids
from amazon_sentiment.errors import InputDataError, PipelineError

BUNDLED_SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "amazon_reviews"
ROWS = 20_000

PDS_SCHEMA = pa.schema(
    [
        ("marketplace", pa.string()),
        ("customer_id", pa.string()),
        ("review_id", pa.string()),
        ("product_id", pa.string()),
        ("product_parent", pa.string()),
        ("product_title", pa.string()),
        ("star_rating", pa.int32()),
        ("helpful_votes", pa.int32()),
        ("total_votes", pa.int32()),
        ("vine", pa.string()),
        ("verified_purchase", pa.string()),
        ("review_headline", pa.string()),
        ("review_body", pa.string()),
        ("review_date", pa.date32()),
    ]
)


def build(output: Path, *, rows: int = ROWS, seed: int = 7, positive_share: float = 0.86) -> Path:
    make_dataset(
        DatasetRequest(
            rows=rows,
            positive_share=positive_share,
            seed=seed,
            output=output,
            source=str(BUNDLED_SAMPLE),
        )
    )
    return output


def read_reviews(folder: Path) -> pa.Table:
    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
    return table.sort_by("review_id")


@pytest.fixture(scope="module")
def resampled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("make_dataset") / "reviews")


def test_files_have_the_pds_schema_and_are_partitioned_by_category(resampled: Path) -> None:
    sample_categories = set(
        read_source_reviews(str(BUNDLED_SAMPLE))["product_category"].drop_null().to_pylist()
    )
    folders = sorted(path.name for path in resampled.iterdir() if path.is_dir())
    files = list(resampled.glob("product_category=*/part-*.snappy.parquet"))

    assert {folder.removeprefix("product_category=") for folder in folders} == sample_categories
    assert len(files) == len(folders)  # one file per category and chunk; one chunk here
    for file in files:
        assert pq.read_schema(file).remove_metadata() == PDS_SCHEMA
    reviews = read_reviews(resampled)
    assert reviews.num_rows == ROWS
    assert len(set(reviews["review_id"].to_pylist())) == ROWS
    assert reviews["review_body"].null_count == 0


def test_dates_and_categories_come_from_real_reviews_with_that_rating(resampled: Path) -> None:
    source = read_source_reviews(str(BUNDLED_SAMPLE))
    real = set(
        zip(
            source["star_rating"].to_pylist(),
            source["review_date"].to_pylist(),
            source["product_category"].to_pylist(),
            strict=True,
        )
    )
    reviews = read_reviews(resampled)

    made = set(
        zip(
            reviews["star_rating"].to_pylist(),
            reviews["review_date"].to_pylist(),
            reviews["product_category"].to_pylist(),
            strict=True,
        )
    )

    assert made <= real
    assert len(made) > 1000  # drawn from many real reviews, not a handful


def test_the_description_records_the_dataset(resampled: Path) -> None:
    description = json.loads((resampled / DESCRIPTION_FILE).read_text())
    reviews = read_reviews(resampled)
    stars = np.bincount(reviews["star_rating"].to_numpy(), minlength=6)[1:]

    assert description["rows"] == ROWS
    assert description["star_rating_counts"] == {
        str(star): int(count) for star, count in enumerate(stars, 1)
    }
    assert "resampled" in description["note"].lower()
    assert description["bytes_on_disk"] == sum(
        f.stat().st_size for f in resampled.rglob("*.parquet")
    )


@pytest.mark.parametrize("positive_share", [0.86, 0.5])
def test_positive_share_among_labelled_reviews(tmp_path: Path, positive_share: float) -> None:
    reviews = read_reviews(build(tmp_path / "reviews", positive_share=positive_share))
    stars = reviews["star_rating"].to_numpy()
    positives, negatives = np.sum(stars >= 4), np.sum(stars <= 2)

    share = positives / (positives + negatives)
    # Drawn per row: binomial noise is ~0.003 at this size, so 0.01 is ~4 sigma.
    assert share == pytest.approx(positive_share, abs=0.01)
    # Three-star reviews keep roughly their share in the source (1,921 of 17,954).
    assert np.mean(stars == 3) == pytest.approx(1921 / 17954, abs=0.01)


def test_same_seed_same_rows_and_another_seed_other_rows(resampled: Path, tmp_path: Path) -> None:
    again = read_reviews(build(tmp_path / "again"))
    other = read_reviews(build(tmp_path / "other", seed=8))
    first = read_reviews(resampled)

    assert again.equals(first)
    assert not other["review_body"].equals(first["review_body"])
    assert set(other["review_id"].to_pylist()).isdisjoint(first["review_id"].to_pylist())


def test_every_text_is_made_of_sentences_of_reviews_with_its_rating(resampled: Path) -> None:
    source = read_source_reviews(str(BUNDLED_SAMPLE))
    sentences_by_rating: dict[int, set[str]] = defaultdict(set)
    for rating, body in zip(
        source["star_rating"].to_pylist(), source["review_body"].to_pylist(), strict=True
    ):
        sentences_by_rating[rating].update(split_sentences(body))
    reviews = read_reviews(resampled).slice(0, 3_000)
    ratings = reviews["star_rating"].to_pylist()
    texts = reviews["review_body"].to_pylist()

    for rating, text in zip(ratings, texts, strict=True):
        assert is_made_of(text, sentences_by_rating[rating]), (rating, text)
    # The check can fail: five-star texts are almost never made of one-star sentences.
    five_star_texts = [text for rating, text in zip(ratings, texts, strict=True) if rating == 5]
    made_of_one_star = sum(is_made_of(text, sentences_by_rating[1]) for text in five_star_texts)
    assert made_of_one_star < 0.05 * len(five_star_texts)


def is_made_of(text: str, sentences: set[str]) -> bool:
    """Whether ``text`` is sentences from ``sentences`` joined by single spaces."""
    boundaries = [0] + [i + 1 for i, char in enumerate(text) if char == " "]
    reachable = {0}
    for start in boundaries:
        if start not in reachable:
            continue
        for end in [*(b - 1 for b in boundaries if b > start), len(text)]:
            if text[start:end] in sentences:
                reachable.add(end + 1 if end < len(text) else end)
    return len(text) in reachable


def test_review_ids_are_unique_across_chunks_and_look_like_pds_ids() -> None:
    first_chunk = review_ids(0, 100_000, seed=1).to_pylist()
    second_chunk = review_ids(100_000, 100_000, seed=1).to_pylist()

    assert len(set(first_chunk) | set(second_chunk)) == 200_000
    assert all(len(review_id) == 13 and review_id.startswith("R") for review_id in first_chunk)
    assert review_ids(0, 10, seed=1).to_pylist() == first_chunk[:10]


def test_a_source_without_review_body_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "no_body.parquet"
    pq.write_table(pa.table({"star_rating": pa.array([5, 1], pa.int32())}), source)

    with pytest.raises(InputDataError, match="review_body"):
        make_dataset(
            DatasetRequest(
                rows=10, positive_share=0.5, seed=1, output=tmp_path / "o", source=str(source)
            )
        )
    assert not (tmp_path / "o").exists()


def test_an_existing_folder_it_did_not_make_is_left_alone(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.parquet").write_bytes(b"someone's data")

    result = CliRunner().invoke(
        app,
        [
            "make-dataset",
            "--rows",
            "10",
            "--output",
            str(precious),
            "--source",
            str(BUNDLED_SAMPLE),
        ],
    )

    assert result.exit_code == 1
    assert (precious / "data.parquet").read_bytes() == b"someone's data"
    with pytest.raises(PipelineError, match="not a dataset made by make-dataset"):
        build(precious, rows=10)


def test_a_rebuild_replaces_the_previous_dataset(tmp_path: Path) -> None:
    output = build(tmp_path / "reviews", rows=100, seed=1)
    build(output, rows=50, seed=2)

    assert read_reviews(output).num_rows == 50
    assert sorted(path.name for path in tmp_path.iterdir()) == ["reviews"]  # no staging left

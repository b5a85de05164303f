"""Reading review Parquet in its several layouts, and publishing output atomically."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from amazon_sentiment.errors import InputDataError, PipelineError
from amazon_sentiment.etl.io import (
    MANIFEST_NAME,
    HadoopPath,
    partition_base_path,
    read_reviews,
    staged_output,
)
from amazon_sentiment.etl.schemas import OPTIONAL_INPUT_COLUMNS, REQUIRED_INPUT_COLUMNS
from tests.etl.builders import review, reviews_frame


@pytest.mark.parametrize(
    ("path", "base"),
    [
        ("data/reviews.parquet", None),
        ("data/reviews/", None),
        ("data/product_category=Books/part-0.parquet", "data"),
        ("data/product_category=Books", "data"),
        ("/data/*/part-*.parquet", "/data"),
        ("s3a://bucket/reviews/product_category=Books/", "s3a://bucket/reviews"),
        ("s3a://bucket/reviews/*.parquet", "s3a://bucket/reviews"),
        ("/product_category=Books/x.parquet", "/"),
        ("*.parquet", None),
    ],
)
def test_partition_base_path(path: str, base: str | None) -> None:
    assert partition_base_path(path) == base


@pytest.fixture(scope="module")
def partitioned_tree(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """reviews/product_category=<name>/part-*.parquet, category only in the folder names."""
    root = tmp_path_factory.mktemp("tree") / "reviews"
    rows = [review(5, f"book review {i}", category="Books") for i in range(3)] + [
        review(1, f"toy review {i}", category="2015") for i in range(2)
    ]
    reviews_frame(spark, rows).write.partitionBy("product_category").parquet(str(root))
    return root


def categories(reviews: DataFrame) -> list[str | None]:
    return sorted(row["product_category"] for row in reviews.collect())


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("", ["2015", "2015", "Books", "Books", "Books"]),
        ("product_category=Books", ["Books", "Books", "Books"]),
        ("product_category=Books/*.parquet", ["Books", "Books", "Books"]),
        ("*/*.parquet", ["2015", "2015", "Books", "Books", "Books"]),
    ],
)
def test_partitioned_tree_keeps_its_folder_columns(
    spark: SparkSession, partitioned_tree: Path, relative: str, expected: list[str]
) -> None:
    reviews = read_reviews(spark, str(partitioned_tree / relative))
    assert reviews.schema["product_category"].dataType == T.StringType()
    assert categories(reviews) == expected


def test_absent_optional_columns_become_typed_nulls(spark: SparkSession, tmp_path: Path) -> None:
    spark.createDataFrame([(5, "fine")], "star_rating long, review_body string").write.parquet(
        str(tmp_path / "minimal")
    )
    reviews = read_reviews(spark, str(tmp_path / "minimal"))
    assert reviews.columns == [*REQUIRED_INPUT_COLUMNS, *OPTIONAL_INPUT_COLUMNS]
    for name, kind in OPTIONAL_INPUT_COLUMNS.items():
        assert reviews.schema[name].dataType == kind
    assert reviews.collect()[0].asDict() == dict.fromkeys(reviews.columns) | {
        "star_rating": 5,
        "review_body": "fine",
    }


def test_string_dates_are_parsed(spark: SparkSession, tmp_path: Path) -> None:
    spark.createDataFrame(
        [(5, "fine", "2015-08-31"), (4, "good", "not a date")],
        "star_rating int, review_body string, review_date string",
    ).write.parquet(str(tmp_path / "dates"))
    dates = read_reviews(spark, str(tmp_path / "dates")).orderBy("review_body").collect()
    assert [str(row["review_date"]) for row in dates] == ["2015-08-31", "None"]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("star_rating int, review_headline string", "required column 'review_body' is missing in"),
        ("review_body string", "required column 'star_rating' is missing in"),
        ("star_rating string, review_body string", "column 'star_rating' in"),
        ("star_rating int, review_body int", "column 'review_body' in"),
        ("star_rating int, review_body string, review_id long", "column 'review_id' in"),
    ],
)
def test_unusable_columns_are_named(
    spark: SparkSession, tmp_path: Path, schema: str, message: str
) -> None:
    columns = len(schema.split(","))
    spark.createDataFrame([tuple([None] * columns)], schema).write.parquet(str(tmp_path / "bad"))
    with pytest.raises(InputDataError, match=message) as raised:
        read_reviews(spark, str(tmp_path / "bad"))
    assert str(tmp_path / "bad") in str(raised.value)
    assert "\n" not in str(raised.value)


def folder_digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def publish(spark: SparkSession, output: Path, content: str) -> None:
    with staged_output(spark, str(output)) as staging:
        spark.createDataFrame([(content,)], "text string").write.parquet(staging.text)
        staging.child(MANIFEST_NAME).write_text(f'{{"content": "{content}"}}')


def test_staged_output_replaces_only_on_success(spark: SparkSession, tmp_path: Path) -> None:
    output = tmp_path / "golden"
    publish(spark, output, "first")
    first = folder_digest(output)
    assert (output / MANIFEST_NAME).read_text() == '{"content": "first"}'

    def fail_halfway() -> None:
        with staged_output(spark, str(output)) as staging:
            spark.createDataFrame([("half",)], "text string").write.parquet(staging.text)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_halfway()
    assert folder_digest(output) == first
    assert [path.name for path in tmp_path.iterdir()] == ["golden"]

    publish(spark, output, "second")
    assert (output / MANIFEST_NAME).read_text() == '{"content": "second"}'
    assert [row["text"] for row in spark.read.parquet(str(output)).collect()] == ["second"]
    assert [path.name for path in tmp_path.iterdir()] == ["golden"]


def test_staged_output_refuses_to_replace_other_data(spark: SparkSession, tmp_path: Path) -> None:
    precious = tmp_path / "my_data"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(PipelineError, match="is not a golden sample"):
        publish(spark, precious, "oops")
    assert (precious / "notes.txt").read_text() == "keep me"
    assert [path.name for path in tmp_path.iterdir()] == ["my_data"]


def test_hadoop_path_round_trips_text(spark: SparkSession, tmp_path: Path) -> None:
    target = HadoopPath(spark, str(tmp_path / "folder")).child("note.json")
    target.write_text('{"caf\u00e9": 1}')
    assert target.exists()
    assert target.read_text() == '{"caf\u00e9": 1}'
    assert (tmp_path / "folder" / "note.json").read_text(encoding="utf-8") == '{"caf\u00e9": 1}'
    assert sorted(HadoopPath(spark, str(tmp_path / "fold*")).glob()) == [
        f"file:{tmp_path / 'folder'}"
    ]

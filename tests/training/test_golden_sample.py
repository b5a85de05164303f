"""Reading the golden sample: what training accepts, and each bad input's message."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pytest

from amazon_sentiment.errors import InputDataError
from amazon_sentiment.training.golden_sample import read_golden_sample
from tests.training.support import small_table, write_golden_sample


def test_reads_each_split_and_digests_the_manifest(tmp_path: Path) -> None:
    folder = write_golden_sample(tmp_path / "golden", small_table())

    sample = read_golden_sample(str(folder))

    assert (len(sample.train), len(sample.validation), len(sample.test)) == (6, 6, 6)
    assert sorted(sample.train.labels.tolist()) == [0, 0, 0, 1, 1, 1]
    assert sample.train.texts[0] == "great product, works well"
    expected = hashlib.sha256((folder / "_manifest.json").read_bytes()).hexdigest()
    assert sample.digest == expected


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="does not exist"):
        read_golden_sample(str(tmp_path / "nowhere"))


def test_folder_without_manifest_is_incomplete(tmp_path: Path) -> None:
    folder = write_golden_sample(tmp_path / "golden", small_table(), manifest=False)

    with pytest.raises(InputDataError, match=r"_manifest\.json"):
        read_golden_sample(str(folder))


def test_folder_without_data_files(tmp_path: Path) -> None:
    folder = write_golden_sample(tmp_path / "golden", pa.table({}))

    with pytest.raises(InputDataError, match="no Parquet files"):
        read_golden_sample(str(folder))


def test_empty_golden_sample(tmp_path: Path) -> None:
    folder = write_golden_sample(tmp_path / "golden", small_table().slice(0, 0))

    with pytest.raises(InputDataError, match="is empty"):
        read_golden_sample(str(folder))


def test_only_one_class(tmp_path: Path) -> None:
    table = small_table()
    positives = table.filter(pa.compute.equal(table.column("label"), 1))
    folder = write_golden_sample(tmp_path / "golden", positives)

    with pytest.raises(InputDataError, match="holds only label 1"):
        read_golden_sample(str(folder))


def test_missing_split(tmp_path: Path) -> None:
    folder = write_golden_sample(tmp_path / "golden", small_table(splits=("train", "test")))

    with pytest.raises(InputDataError, match="'validation' split"):
        read_golden_sample(str(folder))


def test_missing_column_is_named(tmp_path: Path) -> None:
    folder = write_golden_sample(tmp_path / "golden", small_table().drop_columns(["label"]))

    with pytest.raises(InputDataError, match="no column 'label'"):
        read_golden_sample(str(folder))


def test_column_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    table = small_table()
    as_text = table.set_column(
        table.schema.get_field_index("label"), "label", table.column("label").cast(pa.string())
    )
    folder = write_golden_sample(tmp_path / "golden", as_text)

    with pytest.raises(InputDataError, match="column 'label' is string"):
        read_golden_sample(str(folder))


def test_labels_other_than_zero_and_one(tmp_path: Path) -> None:
    table = small_table()
    stars = table.set_column(
        table.schema.get_field_index("label"), "label", table.column("star_rating")
    )
    folder = write_golden_sample(tmp_path / "golden", stars)

    with pytest.raises(InputDataError, match=r"holds \[5\]"):
        read_golden_sample(str(folder))


def test_unknown_split_name(tmp_path: Path) -> None:
    table = pa.concat_tables([small_table(), small_table(splits=("holdout",))])
    folder = write_golden_sample(tmp_path / "golden", table)

    with pytest.raises(InputDataError, match="holdout"):
        read_golden_sample(str(folder))

"""Reading the golden sample the ETL wrote: the seam between Spark and scikit-learn.

The golden sample is a Parquet folder (files starting with ``_`` are not data) plus
``_manifest.json``, whose SHA-256 identifies the sample in MLflow. Only the columns
training needs are read, and each is checked against the declared schema first, so a
mismatch names the column instead of failing deep inside scikit-learn.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from amazon_sentiment.errors import InputDataError

MANIFEST_NAME = "_manifest.json"
SPLITS: tuple[str, str, str] = ("train", "validation", "test")

# The columns training reads and the Arrow types each may have.
_REQUIRED_COLUMNS: dict[str, tuple[str, Callable[[pa.DataType], bool]]] = {
    "text": ("a string", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)),
    "label": ("an integer (0 or 1)", pa.types.is_integer),
    "split": ("a string", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)),
}


@dataclass(frozen=True)
class LabelledTexts:
    """One split: cleaned review texts and their 0/1 labels, row for row."""

    texts: list[str]
    labels: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class GoldenSample:
    """The three splits of a golden sample and what identifies it."""

    path: str
    digest: str
    manifest: dict[str, Any]
    train: LabelledTexts
    validation: LabelledTexts
    test: LabelledTexts

    @property
    def row_count(self) -> int:
        return len(self.train) + len(self.validation) + len(self.test)


def read_golden_sample(path: str) -> GoldenSample:
    """Read and check a golden sample folder (local path or a URI pyarrow understands)."""
    filesystem, folder = _filesystem_and_folder(path)
    manifest_bytes = _read_manifest(filesystem, folder, path)
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError as error:
        raise InputDataError(
            f"golden sample {path}: {MANIFEST_NAME} is not valid JSON ({error})"
        ) from None
    table = _read_columns(filesystem, folder, path)
    splits = {split: _split(table, split, path) for split in SPLITS}
    _check_no_other_splits(table, path)
    return GoldenSample(
        path=path,
        digest=hashlib.sha256(manifest_bytes).hexdigest(),
        manifest=manifest if isinstance(manifest, dict) else {"manifest": manifest},
        train=splits["train"],
        validation=splits["validation"],
        test=splits["test"],
    )


def _filesystem_and_folder(path: str) -> tuple[pafs.FileSystem, str]:
    if "://" in path:
        # Spark writes s3a://; Arrow reads the same objects as s3://.
        uri = "s3://" + path.removeprefix("s3a://") if path.startswith("s3a://") else path
        try:
            filesystem, folder = pafs.FileSystem.from_uri(uri)
        except (pa.ArrowInvalid, OSError) as error:
            raise InputDataError(f"golden sample {path} cannot be opened: {error}") from None
    else:
        filesystem, folder = pafs.LocalFileSystem(), os.path.abspath(path)
    info = filesystem.get_file_info(folder)
    if info.type == pafs.FileType.NotFound:
        raise InputDataError(
            f"golden sample {path} does not exist; build it with `amazon-sentiment etl`"
        )
    if info.type != pafs.FileType.Directory:
        raise InputDataError(
            f"golden sample {path} is not a folder; pass the folder `amazon-sentiment etl` wrote"
        )
    return filesystem, folder


def _read_manifest(filesystem: pafs.FileSystem, folder: str, path: str) -> bytes:
    manifest_path = f"{folder.rstrip('/')}/{MANIFEST_NAME}"
    if filesystem.get_file_info(manifest_path).type != pafs.FileType.File:
        raise InputDataError(
            f"golden sample {path} has no {MANIFEST_NAME}: it is incomplete or was not written "
            "by `amazon-sentiment etl`; rebuild it"
        )
    with filesystem.open_input_stream(manifest_path) as stream:
        return bytes(stream.read())


def _read_columns(filesystem: pafs.FileSystem, folder: str, path: str) -> pa.Table:
    try:
        dataset = ds.dataset(folder, format="parquet", filesystem=filesystem)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputDataError(f"golden sample {path} cannot be read as Parquet: {error}") from None
    if not dataset.files:
        raise InputDataError(f"golden sample {path} holds no Parquet files")
    for column, (expected, accepts) in _REQUIRED_COLUMNS.items():
        field_index = dataset.schema.get_field_index(column)
        if field_index < 0:
            raise InputDataError(
                f"golden sample {path} has no column {column!r} "
                f"(columns: {', '.join(dataset.schema.names)})"
            )
        actual = dataset.schema.field(field_index).type
        if not accepts(actual):
            raise InputDataError(
                f"golden sample {path}: column {column!r} is {actual}, expected {expected}"
            )
    try:
        table = dataset.to_table(columns=list(_REQUIRED_COLUMNS))
    except (pa.ArrowInvalid, OSError) as error:
        raise InputDataError(f"golden sample {path} cannot be read: {error}") from None
    if table.num_rows == 0:
        raise InputDataError(f"golden sample {path} is empty: it has no rows")
    for column in _REQUIRED_COLUMNS:
        nulls = table.column(column).null_count
        if nulls:
            raise InputDataError(f"golden sample {path}: column {column!r} has {nulls} null values")
    labels = pc.unique(table.column("label")).to_pylist()
    unexpected = sorted(set(labels) - {0, 1})
    if unexpected:
        raise InputDataError(
            f"golden sample {path}: column 'label' holds {unexpected}; labels must be 0 or 1"
        )
    return table


def _split(table: pa.Table, split: str, path: str) -> LabelledTexts:
    rows = table.filter(pc.equal(table.column("split"), split))
    if rows.num_rows == 0:
        raise InputDataError(f"golden sample {path} has no rows in the {split!r} split")
    labels = rows.column("label").to_numpy().astype(np.int64)
    present = sorted({int(label) for label in np.unique(labels)})
    if len(present) < 2:
        raise InputDataError(
            f"golden sample {path}: the {split!r} split holds only label {present[0]}; "
            "training and evaluation need both classes"
        )
    return LabelledTexts(texts=rows.column("text").to_pylist(), labels=labels)


def _check_no_other_splits(table: pa.Table, path: str) -> None:
    names = set(pc.unique(table.column("split")).to_pylist())
    unknown = sorted(names - set(SPLITS))
    if unknown:
        raise InputDataError(
            f"golden sample {path}: column 'split' holds {unknown}; expected only {list(SPLITS)}"
        )

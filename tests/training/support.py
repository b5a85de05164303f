"""Helpers shared by the training tests."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TRAINING_TESTS = Path(__file__).resolve().parent
TINY_GRID = TRAINING_TESTS / "tiny_grid.yaml"
WEAK_GRID = TRAINING_TESTS / "weak_grid.yaml"
REPO_ROOT = TRAINING_TESTS.parents[1]
DEFAULT_CONFIG = REPO_ROOT / "configs" / "train.yaml"

POSITIVE_TEXTS = ["great product, works well", "love it, excellent value", "perfect, very happy"]
NEGATIVE_TEXTS = [
    "broke after a day, awful",
    "terrible, waste of money",
    "poor quality, returned it",
]


def write_golden_sample(folder: Path, table: pa.Table, *, manifest: bool = True) -> Path:
    """A golden-sample-shaped folder holding ``table`` (and a manifest unless told not)."""
    folder.mkdir(parents=True, exist_ok=True)
    if table.num_rows or table.num_columns:
        pq.write_table(table, folder / "part-00000.parquet")
    if manifest:
        (folder / "_manifest.json").write_text(json.dumps({"rows": table.num_rows}))
    return folder


def small_table(*, splits: tuple[str, ...] = ("train", "validation", "test")) -> pa.Table:
    """Both classes in every split, with the golden sample's declared column types."""
    texts: list[str] = []
    labels: list[int] = []
    split_names: list[str] = []
    for split in splits:
        for text in POSITIVE_TEXTS:
            texts.append(text)
            labels.append(1)
            split_names.append(split)
        for text in NEGATIVE_TEXTS:
            texts.append(text)
            labels.append(0)
            split_names.append(split)
    return pa.table(
        {
            "review_id": pa.array([f"r{i}" for i in range(len(texts))], pa.string()),
            "text": pa.array(texts, pa.string()),
            "label": pa.array(labels, pa.int32()),
            "star_rating": pa.array([5 if label else 1 for label in labels], pa.int32()),
            "split": pa.array(split_names, pa.string()),
        }
    )

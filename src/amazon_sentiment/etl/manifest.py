"""The manifest written beside every golden sample: what went in, what came out, and why."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

#: Per-class row counts, keyed by class name ("negative", "positive").
ClassCounts = dict[str, int]

# Why rows did not reach the golden sample, in pipeline order (keys of rows_dropped).
DUPLICATE_REVIEW_ID = "duplicate_review_id"
DUPLICATE_TEXT = "duplicate_text"
CONFLICTING_LABELS = "conflicting_labels"
BALANCING = "balancing"

#: Fields that describe the run rather than the sample: two runs that wrote the same
#: sample (same input content, settings and code) differ only in these.
RUN_FIELDS = (
    "input_path",
    "input_files",
    "output_path",
    "started_at",
    "duration_seconds",
    "settings",
)


@dataclass(frozen=True)
class GoldenSampleManifest:
    """Saved as ``<golden sample>/_manifest.json`` (the underscore hides it from readers).

    ``rows_read`` equals ``rows_written`` plus the sum of ``rows_dropped``.
    """

    input_path: str
    input_files: list[str]
    output_path: str
    rows_read: int
    rows_dropped: dict[str, int]
    class_counts_before_balancing: ClassCounts
    split_counts_before_balancing: dict[str, ClassCounts]
    rows_per_class: int
    class_counts_after_balancing: ClassCounts
    split_counts: dict[str, ClassCounts]
    rows_written: int
    seed: int
    target_rows: int
    cleaning_rules_version: str
    spark_version: str
    started_at: str
    duration_seconds: float
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> GoldenSampleManifest:
        return cls(**json.loads(text))

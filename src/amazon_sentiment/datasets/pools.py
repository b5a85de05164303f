"""What resampling draws from: the real reviews, cut into per-rating pools.

Two pools per star rating, both taken from the source reviews with that rating:

- *sentences*: every sentence of every review body (duplicates kept, so common
  sentences stay common);
- *templates*: whole reviews whose metadata (category, date, product, votes,
  headline, ...) a new review copies, and whose sentence count it takes.

Both are stored sorted by rating with per-rating offsets, so drawing a million rows
is a handful of vectorised lookups.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from amazon_sentiment.errors import InputDataError

log = logging.getLogger(__name__)

STAR_RATINGS: tuple[int, ...] = (1, 2, 3, 4, 5)

#: Metadata a new review copies from its template, with the amazon-reviews-pds types.
TEMPLATE_COLUMNS: dict[str, pa.DataType] = {
    "marketplace": pa.string(),
    "product_id": pa.string(),
    "product_parent": pa.string(),
    "product_title": pa.string(),
    "product_category": pa.string(),
    "helpful_votes": pa.int32(),
    "total_votes": pa.int32(),
    "vine": pa.string(),
    "verified_purchase": pa.string(),
    "review_headline": pa.string(),
    "review_date": pa.date32(),
}
REQUIRED_SOURCE_COLUMNS: tuple[str, ...] = ("star_rating", "review_body")

# A sentence ends at ., ! or ? (possibly repeated, possibly closed by a quote or a
# bracket) followed by whitespace. Crude, and meant to be: the pieces stay verbatim.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+")


def split_sentences(body: str) -> list[str]:
    """The sentences of a review body, verbatim, without the whitespace between them."""
    return [
        sentence for sentence in (part.strip() for part in _SENTENCE_END.split(body)) if sentence
    ]


@dataclass(frozen=True)
class RatingPools:
    """Per-rating sentence and template pools; index ``r - 1`` is star rating ``r``."""

    sentences: pa.StringArray
    sentence_offsets: np.ndarray  # shape (6,): sentences of rating r at [o[r-1], o[r])
    templates: pa.Table  # TEMPLATE_COLUMNS plus "sentence_count", sorted by rating
    template_offsets: np.ndarray  # shape (6,), like sentence_offsets
    rating_counts: np.ndarray  # shape (5,): source reviews with each rating
    source_rows: int

    def sentences_of(self, star_rating: int) -> pa.StringArray:
        start, stop = self.sentence_offsets[star_rating - 1 : star_rating + 1]
        return self.sentences.slice(int(start), int(stop - start))


def read_source_reviews(source: str) -> pa.Table:
    """The usable source reviews: a star rating 1-5 and a non-empty body."""
    try:
        dataset = ds.dataset(source, format="parquet")
    except FileNotFoundError:
        raise InputDataError(f"source reviews {source} do not exist") from None
    except (pa.ArrowInvalid, OSError) as error:
        raise InputDataError(f"cannot read the source reviews at {source}: {error}") from None
    missing = [name for name in REQUIRED_SOURCE_COLUMNS if name not in dataset.schema.names]
    if missing:
        raise InputDataError(
            f"source reviews at {source} lack the column(s) {', '.join(missing)}"
            f" (found: {', '.join(dataset.schema.names)})"
        )
    present = [
        name
        for name in (*REQUIRED_SOURCE_COLUMNS, *TEMPLATE_COLUMNS)
        if name in dataset.schema.names
    ]
    try:
        reviews = dataset.to_table(columns=present)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputDataError(f"cannot read the source reviews at {source}: {error}") from None
    for name, data_type in TEMPLATE_COLUMNS.items():
        if name not in reviews.column_names:
            reviews = reviews.append_column(name, pa.nulls(reviews.num_rows, data_type))
    reviews = _with_pds_types(reviews)
    body_length = pc.fill_null(pc.utf8_length(pc.utf8_trim_whitespace(reviews["review_body"])), 0)
    usable = pc.and_(
        pc.and_(
            pc.is_in(reviews["star_rating"], pa.array(STAR_RATINGS, pa.int32())),
            pc.greater(body_length, 0),
        ),
        pc.is_valid(reviews["star_rating"]),
    )
    usable_reviews = reviews.filter(usable)
    if usable_reviews.num_rows == 0:
        raise InputDataError(
            f"source reviews at {source} hold no review with a 1-5 star rating and a body"
        )
    return usable_reviews


def build_pools(reviews: pa.Table) -> RatingPools:
    """Cut the source reviews into per-rating sentence and template pools."""
    reviews = reviews.sort_by("star_rating")
    ratings = reviews["star_rating"].to_numpy()
    sentence_lists = [split_sentences(body) for body in reviews["review_body"].to_pylist()]
    sentence_counts = np.fromiter((len(sentences) for sentences in sentence_lists), dtype=np.int32)
    sentences = pa.array(
        [sentence for sentences in sentence_lists for sentence in sentences], pa.string()
    )
    rows_before_rating = np.searchsorted(ratings, np.arange(1, 7), side="left")
    sentences_before_row = np.concatenate(([0], np.cumsum(sentence_counts, dtype=np.int64)))
    sentence_offsets = sentences_before_row[rows_before_rating]

    templates = reviews.append_column("sentence_count", pa.array(sentence_counts))
    # Templates should carry what a partitioned pds file has: a category and a date.
    # Ratings without any such review fall back to all their reviews.
    has_metadata = pc.and_(
        pc.is_valid(templates["product_category"]), pc.is_valid(templates["review_date"])
    ).to_numpy(zero_copy_only=False)
    keep = np.zeros(len(ratings), dtype=bool)
    for rating in STAR_RATINGS:
        of_rating = ratings == rating
        keep |= of_rating & has_metadata if (of_rating & has_metadata).any() else of_rating
    templates = templates.filter(pa.array(keep)).select(
        [*TEMPLATE_COLUMNS, "sentence_count", "star_rating"]
    )
    template_ratings = templates["star_rating"].to_numpy()
    template_offsets = np.searchsorted(template_ratings, np.arange(1, 7), side="left")
    rating_counts = np.diff(rows_before_rating)
    log.info(
        "source: %d reviews (stars 1-5: %s), %d sentences, %d templates",
        reviews.num_rows,
        "/".join(str(count) for count in rating_counts),
        len(sentences),
        templates.num_rows,
    )
    return RatingPools(
        sentences=sentences,
        sentence_offsets=sentence_offsets,
        templates=templates.drop_columns(["star_rating"]),
        template_offsets=template_offsets,
        rating_counts=rating_counts,
        source_rows=reviews.num_rows,
    )


def _with_pds_types(reviews: pa.Table) -> pa.Table:
    """Cast the columns used to the amazon-reviews-pds types, naming a column that cannot be."""
    wanted = {"star_rating": pa.int32(), "review_body": pa.string(), **TEMPLATE_COLUMNS}
    for name, data_type in wanted.items():
        column = reviews[name]
        if column.type == data_type:
            continue
        try:
            cast = pc.cast(column, data_type, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise InputDataError(
                f"source column {name} has type {column.type}, expected {data_type}: {error}"
            ) from None
        reviews = reviews.set_column(reviews.schema.get_field_index(name), name, cast)
    return reviews

"""Resampled reviews, one chunk at a time, from :class:`~.pools.RatingPools`.

A new review gets a star rating (drawn to hit the requested positive share), a real
template review with that rating (it copies its metadata and sentence count), and
that many sentences drawn from all reviews with that rating, joined by spaces. Ids
are new. Each chunk has its own random stream seeded by ``(seed, chunk_index)``, so
a chunk's rows do not depend on which other chunks were built, or in what order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazon_sentiment.datasets.pools import STAR_RATINGS, TEMPLATE_COLUMNS, RatingPools

#: Column order of the written files (``product_category`` is the partition folder).
PDS_COLUMNS: tuple[str, ...] = (
    "marketplace",
    "customer_id",
    "review_id",
    "product_id",
    "product_parent",
    "product_title",
    "star_rating",
    "helpful_votes",
    "total_votes",
    "vine",
    "verified_purchase",
    "review_headline",
    "review_body",
    "review_date",
)

# review_id is "R" + 12 base-36 characters of a bijective scramble of the global row
# number over [0, 2**61): unique within a dataset, and random-looking like the real ones.
_ID_BITS = 61
_ID_MASK = np.uint64((1 << _ID_BITS) - 1)
_ID_MULTIPLIER = np.uint64(0x2545F4914F6CDD1D)  # odd, hence invertible modulo 2**61
_ID_ALPHABET = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
_ID_DIGITS = 12


@dataclass(frozen=True)
class RatingMix:
    """Probability of each star rating 1-5 in the new dataset."""

    probabilities: np.ndarray

    @classmethod
    def for_positive_share(
        cls,
        rating_counts: np.ndarray,
        *,
        positive_share: float,
        positive_min_stars: int,
        negative_max_stars: int,
    ) -> RatingMix:
        """Positives (ratings >= positive_min_stars) make up ``positive_share`` of the
        labelled reviews; unlabelled (middle) ratings keep their share in the source;
        within each group the ratings keep their source proportions."""
        counts = rating_counts.astype(np.float64)
        stars = np.array(STAR_RATINGS)
        positive = stars >= positive_min_stars
        negative = stars <= negative_max_stars
        middle = ~(positive | negative)
        middle_share = counts[middle].sum() / counts.sum()
        probabilities = np.zeros(len(stars))
        for group, share in ((positive, positive_share), (negative, 1.0 - positive_share)):
            if counts[group].sum() == 0 and share > 0:
                raise ValueError(f"the source has no review with {stars[group].tolist()} stars")
            if share > 0:
                probabilities[group] = (
                    (1 - middle_share) * share * counts[group] / counts[group].sum()
                )
        probabilities[middle] = counts[middle] / counts.sum()
        return cls(probabilities / probabilities.sum())


def review_ids(first_row: int, rows: int, *, seed: int) -> pa.StringArray:
    """New, unique review ids for global rows ``first_row .. first_row + rows - 1``."""
    row_numbers = np.arange(first_row, first_row + rows, dtype=np.uint64)
    key = np.uint64(np.random.default_rng(seed).integers(0, 1 << _ID_BITS, dtype=np.uint64))
    with np.errstate(over="ignore"):  # wrap-around multiplication is the point
        scrambled = ((row_numbers * _ID_MULTIPLIER) & _ID_MASK) ^ key
    characters = np.empty((rows, _ID_DIGITS + 1), dtype=np.uint8)
    characters[:, 0] = ord("R")
    for position in range(_ID_DIGITS, 0, -1):
        characters[:, position] = _ID_ALPHABET[scrambled % np.uint64(36)]
        scrambled //= np.uint64(36)
    encoded = pa.array(characters.view(f"S{_ID_DIGITS + 1}").ravel(), pa.binary())
    return pc.cast(encoded, pa.string())


def resampled_reviews(
    pools: RatingPools,
    mix: RatingMix,
    *,
    first_row: int,
    rows: int,
    seed: int,
    chunk_index: int,
) -> pa.Table:
    """``rows`` new reviews, the rows ``first_row ..`` of the dataset; ``product_category`` last."""
    rng = np.random.default_rng([seed, chunk_index])
    ratings = rng.choice(np.array(STAR_RATINGS, dtype=np.int32), size=rows, p=mix.probabilities)

    template_rows = _draw_within_rating(rng, ratings, pools.template_offsets)
    templates = pools.templates.take(pa.array(template_rows))
    sentence_counts = templates["sentence_count"].to_numpy()

    sentence_ratings = np.repeat(ratings, sentence_counts)
    sentence_rows = _draw_within_rating(rng, sentence_ratings, pools.sentence_offsets)
    offsets = np.concatenate(([0], np.cumsum(sentence_counts, dtype=np.int64))).astype(np.int32)
    sentence_lists = pa.ListArray.from_arrays(
        pa.array(offsets), pools.sentences.take(pa.array(sentence_rows))
    )
    bodies = pc.binary_join(sentence_lists, " ")

    customer_ids = pc.cast(pa.array(rng.integers(10_000, 53_000_000, size=rows)), pa.string())
    columns = {
        "customer_id": customer_ids,
        "review_id": review_ids(first_row, rows, seed=seed),
        "star_rating": pa.array(ratings, pa.int32()),
        "review_body": bodies,
        **{name: templates[name] for name in TEMPLATE_COLUMNS},
    }
    ordered = [name for name in PDS_COLUMNS] + ["product_category"]
    return pa.table({name: columns[name] for name in ordered})


def _draw_within_rating(
    rng: np.random.Generator, ratings: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """For each rating, a uniform random index into the pool rows of that rating."""
    start = offsets[ratings - 1]
    size = offsets[ratings] - start
    if (size == 0).any():
        missing = sorted(set(ratings[size == 0].tolist()))
        raise ValueError(f"the pool has no entry for star rating(s) {missing}")
    drawn: np.ndarray = start + (rng.random(len(ratings)) * size).astype(np.int64)
    return drawn

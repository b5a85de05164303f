"""The pandas UDF that applies the model to batches of review texts on executors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from pyspark import Broadcast
from pyspark.sql import Column
from pyspark.sql import types as T  # noqa: N812 (the PySpark convention)
from pyspark.sql.pandas.functions import pandas_udf

#: What the UDF returns for each text (Arrow hands back nullable fields).
PREDICTION_TYPE = T.StructType(
    [
        T.StructField("label", T.IntegerType(), nullable=True),
        T.StructField("probability", T.DoubleType(), nullable=True),
    ]
)


def prediction_column(texts: Column, model: Broadcast[Any], *, positive_index: int) -> Column:
    """A struct column (label, probability) for each text: label 1 is positive, 0
    negative, and probability is the model's probability that the review is positive.

    ``model`` is the fitted pipeline, broadcast once; each Python worker deserialises
    it the first time it runs a task (PySpark caches broadcast values per worker), not
    per batch. ``positive_index`` is the positive class's column in predict_proba.
    """

    def score_batches(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        pipeline = model.value
        for batch in batches:
            probabilities = pipeline.predict_proba(batch.tolist())
            yield pd.DataFrame(
                {
                    "label": (probabilities.argmax(axis=1) == positive_index).astype(np.int32),
                    "probability": probabilities[:, positive_index].astype(np.float64),
                }
            )

    udf: Callable[[Column], Column] = pandas_udf(score_batches, PREDICTION_TYPE)  # type: ignore[call-overload]
    return udf(texts)

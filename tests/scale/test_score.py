"""amazon-sentiment score: the registry's production model applied on Spark."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from pyspark.sql import SparkSession

from amazon_sentiment.errors import InputDataError
from amazon_sentiment.model import SKOPS_TRUSTED_TYPES, TEXT_COLUMN, build_pipeline
from amazon_sentiment.scoring.job import run_scoring
from amazon_sentiment.settings import Settings
from amazon_sentiment.text import join_review
from tests.fixtures.processes import env_with_venv
from tests.fixtures.spark import TEST_SPARK_SETTINGS

BUNDLED_SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "amazon_reviews"
MODEL_NAME = "scoring_test_model"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class ProductionModel:
    tracking_uri: str
    version: str
    pipeline: object


def raw_texts(reviews: pa.Table) -> list[str | None]:
    """Headline and body joined as the scorer joins them (None when both are missing)."""
    return [
        None if headline is None and body is None else join_review(headline, body)
        for headline, body in zip(
            reviews["review_headline"].to_pylist(), reviews["review_body"].to_pylist(), strict=True
        )
    ]


@pytest.fixture(scope="module")
def production_model(mlflow_server: str) -> Iterator[ProductionModel]:
    """A small model trained on the bundled sample, registered with alias production."""
    import mlflow
    import mlflow.sklearn
    import pandas as pd
    from mlflow import MlflowClient

    reviews = ds.dataset(BUNDLED_SAMPLE).to_table(
        columns=["star_rating", "review_headline", "review_body"]
    )
    labelled = reviews.filter(pc.not_equal(reviews["star_rating"], 3))
    texts = [text or "" for text in raw_texts(labelled)]
    labels = (labelled["star_rating"].to_numpy() >= 4).astype(int)
    pipeline = build_pipeline({"min_df": 2}, {"max_iter": 300})
    pipeline.fit(pd.DataFrame({TEXT_COLUMN: texts}), labels)

    mlflow.set_tracking_uri(mlflow_server)
    mlflow.set_experiment("scoring-tests")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            serialization_format="skops",
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
    registered = mlflow.register_model(info.model_uri, MODEL_NAME)
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    client.set_registered_model_alias(MODEL_NAME, "production", registered.version)
    yield ProductionModel(mlflow_server, str(registered.version), pipeline)
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]


def scoring_settings(model: ProductionModel) -> Settings:
    return Settings(
        **TEST_SPARK_SETTINGS,  # type: ignore[arg-type]
        mlflow_tracking_uri=model.tracking_uri,
        model_name=MODEL_NAME,
        model_alias="production",
    )


def test_scores_every_review_as_predict_proba_does(
    production_model: ProductionModel, spark: SparkSession, tmp_path: Path
) -> None:
    output = tmp_path / "scores"

    manifest = run_scoring(
        scoring_settings(production_model), input_path=str(BUNDLED_SAMPLE), output_path=str(output)
    )

    scores = ds.dataset(output, format="parquet").to_table()
    assert scores.schema.names == ["review_id", "label", "probability", "model_version"]
    assert [str(t) for t in scores.schema.types] == ["string", "int32", "double", "string"]
    reviews = ds.dataset(BUNDLED_SAMPLE).to_table(
        columns=["review_id", "review_headline", "review_body"]
    )
    texts = raw_texts(reviews)
    scorable = [i for i, text in enumerate(texts) if text is not None and text.strip()]
    assert manifest.rows_scored == scores.num_rows == len(scorable)
    assert manifest.rows_without_text == reviews.num_rows - len(scorable)
    assert set(scores["model_version"].to_pylist()) == {production_model.version}
    # The same numbers as one process calling predict_proba on the same texts.
    expected = production_model.pipeline.predict_proba([texts[i] for i in scorable])[:, 1]  # type: ignore[attr-defined]
    probabilities = scores["probability"].to_numpy()
    np.testing.assert_allclose(np.sort(probabilities), np.sort(expected), rtol=1e-9)
    ids = reviews["review_id"].to_pylist()
    expected_by_id = {ids[i]: p for i, p in zip(scorable, expected, strict=True) if ids[i]}
    scored_by_id = dict(zip(scores["review_id"].to_pylist(), probabilities, strict=True))
    assert expected_by_id
    for review_id, probability in expected_by_id.items():
        assert scored_by_id[review_id] == pytest.approx(probability, rel=1e-9)
    assert np.array_equal(scores["label"].to_numpy(), (probabilities > 0.5).astype(np.int32))
    written = json.loads((output / "_manifest.json").read_text())
    assert written["model_uri"] == f"models:/{MODEL_NAME}/{production_model.version}"


def test_a_failed_run_keeps_the_previous_scores(
    production_model: ProductionModel, spark: SparkSession, tmp_path: Path
) -> None:
    settings = scoring_settings(production_model)
    output = tmp_path / "scores"
    small_input = tmp_path / "reviews.parquet"
    spark.read.parquet(str(BUNDLED_SAMPLE)).limit(50).write.parquet(str(small_input))
    run_scoring(settings, input_path=str(small_input), output_path=str(output))
    before = ds.dataset(output, format="parquet").to_table()
    no_text = tmp_path / "no_text.parquet"
    spark.createDataFrame([("R1", 5)], "review_id string, star_rating int").write.parquet(
        str(no_text)
    )

    with pytest.raises(InputDataError, match="neither a 'text' nor a 'review_body'"):
        run_scoring(settings, input_path=str(no_text), output_path=str(output))

    assert ds.dataset(output, format="parquet").to_table().equals(before)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["scores", "reviews.parquet", "no_text.parquet"]
    )


def test_cli_names_a_missing_model_without_a_traceback(
    production_model: ProductionModel, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "amazon_sentiment",
            "score",
            f"--input={BUNDLED_SAMPLE}",
            f"--output={tmp_path / 'scores'}",
            f"--model-uri=models:/{MODEL_NAME}@no_such_alias",
        ],
        env=env_with_venv(MLFLOW_TRACKING_URI=production_model.tracking_uri),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 1
    assert "no_such_alias" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "scores").exists()

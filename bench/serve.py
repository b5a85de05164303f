"""Serving benchmark: this service against `mlflow models serve`, same model, same load.

    uv run python bench/serve.py                 # 3 repeats of 10 s per scenario
    uv run python bench/serve.py --batching      # also: micro-batching off / with a wait

One model is fitted on the bundled sample (the training grid's defaults), logged with
skops exactly as training logs it, registered in a throw-away SQLite store and aliased
``production``. Both servers load that version with one worker each:

* ``service``  ``amazon-sentiment serve`` (uvicorn, uvloop, httptools, micro-batching);
* ``mlflow``   ``mlflow models serve --env-manager local`` (its uvicorn scoring server).

wrk (Debian package ``wrk``) sends the same requests to both: real reviews from the
sample picked at random, one per request at 1, 16 and 64 connections, then batches of
100 at 4 connections. The service gets ``{"text"}``/``{"texts"}`` on /predict, MLflow
gets ``dataframe_split`` on /invocations (the service's own /invocations is measured
too, at 64 connections). The ceiling is the same model's ``predict_proba`` in this
process, with no HTTP, measured before each repeat (the machine's speed drifts over
minutes; a ceiling taken once would skew every ratio). Results: a Markdown table on
stdout (for docs/benchmarks.md) and JSON under bench/results/ (not committed). Figures
are medians of the repeats.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import pandas as pd
import pyarrow.parquet as pq
import typer

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "data" / "sample" / "amazon_reviews"
RESULTS = REPO_ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
MODEL_NAME = "amazon_sentiment_model"
BATCH_SIZE = 100
BATCH_CONNECTIONS = 4
REQUEST_TEXTS = 400

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("bench.serve")


@dataclass(frozen=True)
class Scenario:
    name: str
    target: str  # service, service-invocations, mlflow, or a service variant
    connections: int
    reviews_per_request: int


@dataclass(frozen=True)
class Measure:
    scenario: str
    target: str
    connections: int
    repeat: int
    requests_per_second: float
    reviews_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


# --- the model -------------------------------------------------------------------------


def sample_reviews() -> pd.DataFrame:
    """Every 1-2 and 4-5 star review of the bundled sample: ``text`` and ``label``."""
    from amazon_sentiment.text import join_review

    columns = ["star_rating", "review_headline", "review_body"]
    reviews = pd.concat(
        pq.read_table(path, columns=columns).to_pandas() for path in sorted(SAMPLE_DIR.glob("*"))
    )
    reviews = reviews[reviews.star_rating != 3]
    return pd.DataFrame(
        {
            "text": [
                join_review(headline, body)
                for headline, body in zip(reviews.review_headline, reviews.review_body, strict=True)
            ],
            "label": ["positive" if stars >= 4 else "negative" for stars in reviews.star_rating],
        }
    )


def register_bench_model(store: Path, reviews: pd.DataFrame) -> str:
    """Fit, log (skops, pinned requirements) and register one model; its tracking URI."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from amazon_sentiment.model import SKOPS_TRUSTED_TYPES, build_pipeline
    from amazon_sentiment.training.job import pinned_requirements

    pipeline = build_pipeline(
        {"ngram_range": (1, 2), "min_df": 2, "max_features": 500_000, "sublinear_tf": True},
        {"C": 4.0, "solver": "liblinear", "max_iter": 1000, "random_state": 42},
    )
    pipeline.fit(reviews[["text"]], reviews["label"])
    tracking_uri = f"sqlite:///{store / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.create_experiment(
        "bench-serve", artifact_location=(store / "artifacts").as_uri()
    )
    example = reviews[["text"]].head(3)
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            serialization_format="skops",
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
            signature=infer_signature(example, pipeline.predict(example)),
            input_example=example,
            pip_requirements=pinned_requirements(),
        )
    version = mlflow.register_model(info.model_uri, MODEL_NAME).version
    mlflow.MlflowClient().set_registered_model_alias(MODEL_NAME, "production", version)
    log.info(
        "registered %s version %s: %d terms, fitted on %d reviews",
        MODEL_NAME,
        version,
        len(pipeline.named_steps["tfidf"].vocabulary_),
        len(reviews),
    )
    return tracking_uri


# --- the servers -----------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    name: str, args: list[str], env: dict[str, str], ready_path: str, log_dir: Path, port: int
) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    with (log_dir / f"{name}.log").open("wb") as output:
        process = subprocess.Popen(
            args, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 300
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited; see {log_dir / f'{name}.log'}")
                try:
                    if httpx.get(url + ready_path, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not ready after 300 s")
                time.sleep(0.5)
            log.info("%s ready at %s", name, url)
            yield url
        finally:
            os.killpg(process.pid, 15)
            process.wait(timeout=30)


def server_env(tracking_uri: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    env["AMAZON_SENTIMENT_MLFLOW_TRACKING_URI"] = tracking_uri
    env["AMAZON_SENTIMENT_RELOAD_INTERVAL_SECONDS"] = "0"
    env.update(extra)
    return env


def service_server(tracking_uri: str, log_dir: Path, name: str, **extra: str) -> Any:
    port = free_port()
    args = [str(VENV_BIN / "amazon-sentiment"), "serve", "--port", str(port)]
    return running_server(name, args, server_env(tracking_uri, **extra), "/ready", log_dir, port)


def mlflow_server(tracking_uri: str, log_dir: Path) -> Any:
    port = free_port()
    args = [
        str(VENV_BIN / "mlflow"),
        "models",
        "serve",
        "-m",
        f"models:/{MODEL_NAME}@production",
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-w",
        "1",
    ]
    env = server_env(tracking_uri, MLFLOW_ALLOW_PICKLE_DESERIALIZATION="true")
    return running_server("mlflow", args, env, "/ping", log_dir, port)


# --- the load --------------------------------------------------------------------------

_WRK_SCRIPT = """
local bodies = {
%(bodies)s
}
local count = #bodies
math.randomseed(%(seed)d)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  return wrk.format(nil, "%(path)s", nil, bodies[math.random(count)])
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "WRK_RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, " ..
    "\\"p99_us\\": %%d, \\"non_2xx\\": %%d, \\"socket_errors\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
"""


def request_bodies(target: str, texts: list[str], per_request: int) -> list[str]:
    rng = random.Random(7)
    bodies = []
    for _ in range(200 if per_request == 1 else 40):
        chosen = rng.sample(texts, per_request)
        if target == "mlflow" or target == "service-invocations":
            payload: dict[str, Any] = {
                "dataframe_split": {"columns": ["text"], "data": [[text] for text in chosen]}
            }
        elif per_request == 1:
            payload = {"text": chosen[0]}
        else:
            payload = {"texts": chosen}
        bodies.append(json.dumps(payload))
    return bodies


def write_wrk_script(path: Path, bodies: list[str], request_path: str) -> Path:
    lua_bodies = ",\n".join(f"[==[{body}]==]" for body in bodies)
    path.write_text(_WRK_SCRIPT % {"bodies": lua_bodies, "seed": 7, "path": request_path})
    return path


def run_wrk(url: str, script: Path, connections: int, seconds: int) -> dict[str, int]:
    completed = subprocess.run(
        [
            "wrk",
            "-t1",  # one load-generating thread: wrk shares the 2 cores with the server
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(row for row in completed.stdout.splitlines() if row.startswith("WRK_RESULT "))
    result: dict[str, int] = json.loads(line.removeprefix("WRK_RESULT "))
    return result


def measure(scenario: Scenario, url: str, script: Path, seconds: int, repeat: int) -> Measure:
    run_wrk(url, script, scenario.connections, 2)  # warm-up: connections, caches
    result = run_wrk(url, script, scenario.connections, seconds)
    requests_per_second = result["requests"] / (result["duration_us"] / 1e6)
    measured = Measure(
        scenario=scenario.name,
        target=scenario.target,
        connections=scenario.connections,
        repeat=repeat,
        requests_per_second=round(requests_per_second, 1),
        reviews_per_second=round(requests_per_second * scenario.reviews_per_request, 1),
        p50_ms=round(result["p50_us"] / 1000, 2),
        p99_ms=round(result["p99_us"] / 1000, 2),
        errors=result["non_2xx"] + result["socket_errors"],
    )
    log.info("%s", measured)
    return measured


# --- the ceiling -----------------------------------------------------------------------


def in_process_ceiling(tracking_uri: str, texts: list[str], seconds: float) -> dict[str, float]:
    """Reviews/s of predict_proba on the same model: one review per call, and 100."""
    from amazon_sentiment.serving.loading import load_model, resolve_ref
    from amazon_sentiment.settings import Settings

    settings = Settings(mlflow_tracking_uri=tracking_uri)
    model = load_model(resolve_ref(settings), settings)
    # The heap as the service has it (serving/state.py): without the freeze, full
    # collections walking this process's million long-lived objects cost the ceiling
    # up to a third of its speed.
    gc.collect()
    gc.freeze()
    rng = random.Random(11)
    ceiling = {}
    for per_call in (1, BATCH_SIZE):
        calls = [rng.sample(texts, per_call) for _ in range(200)]
        model.predict_proba(calls[0])
        scored, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            for call in calls[:20]:
                model.predict_proba(call)
                scored += per_call
            calls.append(calls.pop(0))
        ceiling[f"reviews_per_second_{per_call}"] = round(
            scored / (time.perf_counter() - started), 1
        )
    gc.unfreeze()
    return ceiling


# --- the report ------------------------------------------------------------------------


def median_of(runs: list[Measure], scenario: str, target: str) -> dict[str, float] | None:
    chosen = [run for run in runs if run.scenario == scenario and run.target == target]
    if not chosen:
        return None
    return {
        "requests_per_second": statistics.median(run.requests_per_second for run in chosen),
        "reviews_per_second": statistics.median(run.reviews_per_second for run in chosen),
        "p50_ms": statistics.median(run.p50_ms for run in chosen),
        "p99_ms": statistics.median(run.p99_ms for run in chosen),
        "errors": sum(run.errors for run in chosen),
    }


def markdown(scenarios: list[Scenario], runs: list[Measure], ceiling: dict[str, float]) -> str:
    lines = [
        "| scenario | server | req/s | reviews/s | p50 ms | p99 ms | errors "
        "| req/s vs mlflow | p99 vs mlflow | reviews/s vs ceiling |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in dict.fromkeys(scenario.name for scenario in scenarios):
        peer = median_of(runs, name, "mlflow")
        per_request = next(s.reviews_per_request for s in scenarios if s.name == name)
        ceiling_rate = ceiling[f"reviews_per_second_{per_request}"]
        for target in dict.fromkeys(s.target for s in scenarios if s.name == name):
            figures = median_of(runs, name, target)
            if figures is None:
                continue
            versus = (
                f"{figures['requests_per_second'] / peer['requests_per_second']:.1f}x"
                if peer and target != "mlflow"
                else ""
            )
            p99_versus = (
                f"{figures['p99_ms'] / peer['p99_ms']:.2f}x" if peer and target != "mlflow" else ""
            )
            lines.append(
                f"| {name} | {target} | {figures['requests_per_second']:,.0f} "
                f"| {figures['reviews_per_second']:,.0f} | {figures['p50_ms']:.1f} "
                f"| {figures['p99_ms']:.1f} | {figures['errors']:.0f} | {versus} | {p99_versus} "
                f"| {figures['reviews_per_second'] / ceiling_rate:.0%} |"
            )
    lines.append("")
    lines.append(
        f"In-process ceiling: {ceiling['reviews_per_second_1']:,.0f} reviews/s one per call, "
        f"{ceiling[f'reviews_per_second_{BATCH_SIZE}']:,.0f} reviews/s in calls of {BATCH_SIZE}."
    )
    return "\n".join(lines)


def scenarios_for(batching: bool) -> list[Scenario]:
    chosen = []
    for connections in (1, 16, 64):
        name = f"single review, {connections} conn."
        chosen += [
            Scenario(name, "service", connections, 1),
            Scenario(name, "mlflow", connections, 1),
        ]
    chosen.append(Scenario("single review, 64 conn.", "service-invocations", 64, 1))
    if batching:
        for connections in (16, 64):
            name = f"single review, {connections} conn."
            chosen += [
                Scenario(name, "service, no micro-batching", connections, 1),
                Scenario(name, "service, 2 ms batch wait", connections, 1),
            ]
    name = f"batch of {BATCH_SIZE}, {BATCH_CONNECTIONS} conn."
    chosen += [
        Scenario(name, "service", BATCH_CONNECTIONS, BATCH_SIZE),
        Scenario(name, "mlflow", BATCH_CONNECTIONS, BATCH_SIZE),
    ]
    return chosen


_SERVICE_VARIANTS = {
    "service": {},
    "service-invocations": {},
    "service, no micro-batching": {"AMAZON_SENTIMENT_MICRO_BATCHING": "false"},
    "service, 2 ms batch wait": {"AMAZON_SENTIMENT_MICRO_BATCH_WAIT_MS": "2"},
}


@app.command()
def run(
    seconds: Annotated[int, typer.Option(min=1, help="Measured seconds per wrk run.")] = 10,
    repeats: Annotated[int, typer.Option(min=1, help="Runs to take the median of.")] = 3,
    batching: Annotated[
        bool, typer.Option(help="Also measure micro-batching off, and with a 2 ms wait.")
    ] = False,
    note: Annotated[str, typer.Option(help="Free text kept with the results.")] = "",
) -> None:
    """Register one model, serve it both ways, load both with wrk, print the table."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if shutil.which("wrk") is None:
        raise typer.BadParameter("wrk is not installed: apt-get install -y wrk")
    started = datetime.now(UTC)
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    reviews = sample_reviews()
    tracking_uri = register_bench_model(work, reviews)
    # Within the service's default max_text_chars (10,000), which refuses longer texts.
    servable = reviews[reviews["text"].str.len() <= 10_000]
    texts = servable["text"].sample(n=REQUEST_TEXTS, random_state=3).tolist()
    scenarios = scenarios_for(batching)
    runs: list[Measure] = []
    targets = list(dict.fromkeys(scenario.target for scenario in scenarios))
    with ExitStack() as servers:
        # All servers up at once and the repeats interleaved, so that a change in the
        # machine's background load hits every server alike.
        urls = {}
        for target in targets:
            if target == "mlflow":
                urls[target] = servers.enter_context(mlflow_server(tracking_uri, work))
            elif target == "service-invocations":
                continue
            else:
                env = _SERVICE_VARIANTS[target]
                name = target.replace(" ", "_").replace(",", "")
                urls[target] = servers.enter_context(
                    service_server(tracking_uri, work, name, **env)
                )
        urls["service-invocations"] = urls["service"]
        ceilings = []
        for repeat in range(repeats):
            ceilings.append(in_process_ceiling(tracking_uri, texts, seconds=max(3.0, seconds / 2)))
            for scenario in scenarios:
                on_mlflow_protocol = scenario.target in ("mlflow", "service-invocations")
                bodies = request_bodies(scenario.target, texts, scenario.reviews_per_request)
                script = write_wrk_script(
                    work / f"{len(runs)}.lua",
                    bodies,
                    "/invocations" if on_mlflow_protocol else "/predict",
                )
                runs.append(measure(scenario, urls[scenario.target], script, seconds, repeat))
    ceiling = {key: statistics.median(each[key] for each in ceilings) for key in ceilings[0]}
    table = markdown(scenarios, runs, ceiling)
    summary = {
        "command": " ".join(["bench/serve.py", *sys.argv[1:]]),
        "started": started.isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}",
        "load_average_at_end": os.getloadavg(),
        "note": note,
        "seconds": seconds,
        "repeats": repeats,
        "ceiling": ceiling,
        "ceilings": ceilings,
        "runs": [asdict(run) for run in runs],
        "table": table,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    result_path = RESULTS / f"serve-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    result_path.write_text(json.dumps(summary, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    typer.echo(table)
    typer.echo(f"\nload average at end: {os.getloadavg()}; results: {result_path}")


if __name__ == "__main__":
    app()

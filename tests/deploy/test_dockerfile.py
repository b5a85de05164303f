"""The Dockerfile and its build context: lint-clean, and built the way the project's
deployment promises (locked deps layer first, no Spark, non-root, health check, exec CMD)."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.fixtures.processes import VENV_BIN

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"
NOT_SOURCE = {".git", ".venv", ".cache", ".tools", "node_modules", "artifacts"}


def dockerfiles() -> list[Path]:
    found = [
        path
        for pattern in ("Dockerfile", "Dockerfile.*", "*.Dockerfile")
        for path in REPO_ROOT.rglob(pattern)
        if not NOT_SOURCE & set(path.relative_to(REPO_ROOT).parts)
    ]
    return sorted(set(found))


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile.read_text())
    pairs = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, arguments = stripped.partition(" ")
            pairs.append((keyword.upper(), arguments.strip()))
    return pairs


def stage(dockerfile: Path, name: str) -> list[tuple[str, str]]:
    """The instructions of the stage ``FROM ... AS name``."""
    current: str | None = None
    selected: list[tuple[str, str]] = []
    for keyword, arguments in instructions(dockerfile):
        if keyword == "FROM":
            current = arguments.split()[-1] if " AS " in arguments.upper() else None
        elif current == name:
            selected.append((keyword, arguments))
    return selected


def test_hadolint_finds_nothing_in_any_dockerfile() -> None:
    files = dockerfiles()
    assert DOCKERFILE in files
    result = subprocess.run(
        [str(VENV_BIN / "hadolint"), "--no-color", *map(str, files)],
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.parametrize("dockerfile", dockerfiles(), ids=lambda path: path.name)
def test_every_hadolint_ignore_carries_its_reason(dockerfile: Path) -> None:
    lines = dockerfile.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line:
            previous = lines[number - 1].strip() if number else ""
            reason = previous.startswith("#") and "hadolint" not in previous
            assert reason, (
                f"{dockerfile.name}:{number + 1}: put the reason for the ignore in a comment"
                " on the line above it"
            )


def test_base_image_is_pinned_to_the_projects_python_minor() -> None:
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert base is not None
    match = re.fullmatch(r"python:(3\.\d+)\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base[1])
    assert match, f"pin a full Python version on a slim Debian base, got {base[1]}"
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert f">={match[1]}" in project["requires-python"]
    # Every stage starts from that one base (or from another stage).
    stage_names = {"dependencies", "builder", "pipeline-builder", "runtime-base", "pipeline"}
    for keyword, arguments in instructions(DOCKERFILE):
        if keyword == "FROM":
            assert arguments.split()[0] in {"${PYTHON_IMAGE}", *stage_names}


def test_locked_dependencies_are_installed_before_the_source_is_copied() -> None:
    builder = stage(DOCKERFILE, "dependencies") + stage(DOCKERFILE, "builder")
    steps = [f"{keyword} {arguments}" for keyword, arguments in builder]
    deps = next(i for i, step in enumerate(steps) if "--no-install-project" in step)
    source = next(i for i, step in enumerate(steps) if step.startswith("COPY src"))
    lock_copy = next(
        i for i, step in enumerate(steps) if step.startswith("COPY pyproject.toml uv.lock")
    )
    assert lock_copy < deps < source
    syncs = [step for step in steps if "uv sync" in step]
    assert syncs
    assert all("--locked" in step and "--no-dev" in step for step in syncs)
    # The serving image leaves out the spark extra; only the pipeline stage adds it.
    assert not any("--extra" in step or "--all-extras" in step for step in syncs)
    assert any(
        "--extra spark" in arguments for _, arguments in stage(DOCKERFILE, "pipeline-builder")
    )
    env = " ".join(arguments for keyword, arguments in builder if keyword == "ENV")
    assert "UV_COMPILE_BYTECODE=1" in env
    assert "UV_LINK_MODE=copy" in env


def test_serving_stage_is_last_non_root_with_health_check_and_exec_form_cmd() -> None:
    froms = [arguments for keyword, arguments in instructions(DOCKERFILE) if keyword == "FROM"]
    assert froms[-1].endswith("AS serving"), "`docker build .` must give the serving image"
    serving_steps = stage(DOCKERFILE, "serving")
    # The locked dependencies and the project arrive as separate layers, so a code change
    # does not copy the whole environment again.
    copies = [arguments for keyword, arguments in serving_steps if keyword == "COPY"]
    assert copies == [
        "--from=dependencies /app/.venv /app/.venv",
        "--from=builder /app/project/app/.venv/ /app/.venv/",
    ]
    serving = dict(serving_steps)
    uid, _, gid = serving["USER"].partition(":")
    assert uid.isdigit()
    assert int(uid) > 0
    assert gid.isdigit()
    cmd = json.loads(serving["CMD"])
    assert cmd == ["amazon-sentiment", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert serving["EXPOSE"] == "8000"
    health = serving["HEALTHCHECK"]
    probe = json.loads(health[health.index("CMD") + len("CMD") :])
    assert probe[0] == "python"
    assert "http://127.0.0.1:8000/ready" in probe[-1]


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies() -> None:
    rules = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "start from nothing: an allow-list keeps .git, .venv, secrets out"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied = set()
    for keyword, arguments in instructions(DOCKERFILE):
        if keyword == "COPY" and "--from=" not in arguments:
            sources = [part for part in arguments.split() if not part.startswith("--")][:-1]
            copied |= {source.rstrip("/") for source in sources}
    assert copied == allowed
    for path in copied:
        assert (REPO_ROOT / path).exists(), f"the Dockerfile copies {path}, which does not exist"
    assert {"**/.env", "**/__pycache__"} <= set(rules)

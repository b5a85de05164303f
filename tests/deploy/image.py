"""Building the serving image and running commands from it, with or without a Docker engine.

With a Docker engine: ``docker build`` and ``docker run --network host``. Without one
(these CI machines): ``podman build --isolation=chroot``; ``podman run`` is refused here,
so the image's filesystem is mounted read-only and its command is run with ``chroot``
as the image's user, with the image's environment and working directory, a fresh /tmp,
/proc and the host's /etc/hosts (as a container with a read-only root filesystem on the
host network would have).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-image.sh"
NO_BUILDER_EXIT_CODE = 3


class ImageRunner(Protocol):
    """Runs commands from a built image on the host network."""

    image: str
    config: Mapping[str, Any]

    def command(self, args: Sequence[str], env: Mapping[str, str]) -> list[str]:
        """The host command that runs ``args`` in the image with ``env`` added."""
        ...

    def run(self, args: Sequence[str], env: Mapping[str, str] | None = None) -> str:
        """Run ``args`` in the image to completion; its standard output."""
        ...


class BuilderUnavailableError(Exception):
    """Neither a Docker engine nor podman can be used on this machine."""


@dataclass(frozen=True)
class BuiltImage:
    builder: str
    name: str


def build_image(*, target: str, tag: str, log_path: Path) -> BuiltImage:
    """Build ``target`` with scripts/build-image.sh; its log goes to ``log_path``."""
    with log_path.open("wb") as log_file:
        result = subprocess.run(
            [str(BUILD_SCRIPT), "--target", target, "--tag", tag, "--offline-base"],
            stdout=subprocess.PIPE,
            stderr=log_file,
            cwd=REPO_ROOT,
            timeout=1800,
        )
    if result.returncode == NO_BUILDER_EXIT_CODE:
        raise BuilderUnavailableError(log_path.read_text().strip())
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise RuntimeError(f"image build failed ({result.returncode}), log {log_path}:\n{tail}")
    builder, name = result.stdout.decode().split()[-2:]
    return BuiltImage(builder=builder, name=name)


def _inspect(builder: str, image: str) -> dict[str, Any]:
    output = subprocess.run(
        [builder, "image", "inspect", image], check=True, capture_output=True, text=True
    ).stdout
    inspected: dict[str, Any] = json.loads(output)[0]
    return inspected


def image_config(image: BuiltImage) -> dict[str, Any]:
    """The image's run configuration (User, Env, Cmd, WorkingDir, Healthcheck, ...)."""
    inspected = _inspect(image.builder, image.name)
    config: dict[str, Any] = dict(inspected.get("Config") or {})
    # podman reports the HEALTHCHECK of a docker-format image beside Config.
    if "Healthcheck" not in config and inspected.get("Healthcheck"):
        config["Healthcheck"] = inspected["Healthcheck"]
    return config


def _image_env(config: Mapping[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in config.get("Env") or [])


@dataclass
class ChrootRunner:
    """Runs the image's commands from its mounted filesystem with chroot."""

    image: str
    config: Mapping[str, Any]
    root: Path

    def command(self, args: Sequence[str], env: Mapping[str, str]) -> list[str]:
        user = self.config.get("User") or "0:0"
        if ":" not in user:
            user = f"{user}:{user}"
        # Like a container engine: HOME from the image's passwd entry for the user.
        merged = {"HOME": self._home(user.split(":")[0]), **_image_env(self.config), **env}
        workdir = self.config.get("WorkingDir") or "/"
        # A private mount namespace: the tmpfs, proc and dev mounts vanish with the process.
        prepare = (
            'root="$1"; user="$2"; shift 2;'
            ' mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"'
            ' && mount -t proc proc "$root/proc"'
            ' && mount --rbind /dev "$root/dev"'
            # As an engine does on the host network: the host's name resolves inside.
            ' && { [ ! -f "$root/etc/hosts" ] || mount --bind /etc/hosts "$root/etc/hosts"; }'
            ' && exec chroot --userspec="$user" "$root" "$@"'
        )
        inner = ["/usr/bin/env", "-i", "-C", workdir]
        inner += [f"{name}={value}" for name, value in merged.items()]
        return [
            "unshare", "--mount", "--propagation", "private",
            "sh", "-c", prepare, "image-run", str(self.root), user, *inner, *args,
        ]  # fmt: skip

    def run(self, args: Sequence[str], env: Mapping[str, str] | None = None) -> str:
        return subprocess.run(
            self.command(args, env or {}), check=True, capture_output=True, text=True, timeout=300
        ).stdout

    def _home(self, user: str) -> str:
        for line in (self.root / "etc" / "passwd").read_text().splitlines():
            fields = line.split(":")
            if user in (fields[0], fields[2]):
                return fields[5]
        return "/"


@dataclass
class DockerRunner:
    """Runs the image's commands with a Docker engine, on the host network."""

    image: str
    config: Mapping[str, Any]

    def command(self, args: Sequence[str], env: Mapping[str, str]) -> list[str]:
        flags = [item for name, value in env.items() for item in ("--env", f"{name}={value}")]
        return ["docker", "run", "--rm", "--network", "host", "--read-only",
                "--tmpfs", "/tmp", *flags, self.image, *args]  # fmt: skip

    def run(self, args: Sequence[str], env: Mapping[str, str] | None = None) -> str:
        return subprocess.run(
            self.command(args, env or {}), check=True, capture_output=True, text=True, timeout=300
        ).stdout


@contextmanager
def image_runner(image: BuiltImage) -> Iterator[ImageRunner]:
    config = image_config(image)
    if image.builder == "docker":
        yield DockerRunner(image=image.name, config=config)
        return
    root = subprocess.run(
        ["podman", "image", "mount", image.name], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        yield ChrootRunner(image=image.name, config=config, root=Path(root))
    finally:
        subprocess.run(["podman", "image", "unmount", image.name], check=False, capture_output=True)

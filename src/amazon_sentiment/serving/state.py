"""The model answering now, and how it is replaced without downtime.

:class:`ModelSlot` holds one reference to an immutable :class:`LoadedModel`. A new
version is loaded beside the old one and swapped in by a single assignment; each
request reads the reference once, so requests in flight finish on the model they
started with. A load that fails leaves the old model answering and is reported in
``/model`` and ``/metrics``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from amazon_sentiment.errors import PipelineError, TrackingError
from amazon_sentiment.serving.loading import (
    LoadedModel,
    ModelNotFoundError,
    ModelRef,
    load_model,
    resolve_ref,
)
from amazon_sentiment.serving.metrics import ServiceMetrics
from amazon_sentiment.settings import Settings

log = logging.getLogger(__name__)

_FIRST_RETRY_SECONDS = 0.5
_LONGEST_RETRY_SECONDS = 15.0


@dataclass(frozen=True)
class ReloadStatus:
    outcome: Literal["loaded", "unchanged", "failed", "never"]
    at: datetime | None = None
    version: str | None = None
    error: str | None = None


class ModelSlot:
    def __init__(
        self, settings: Settings, metrics: ServiceMetrics, on_fatal: Callable[[], None]
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._on_fatal = on_fatal
        self._lock = asyncio.Lock()
        self._failed_ref: ModelRef | None = None
        self.current: LoadedModel | None = None
        self.last_reload = ReloadStatus("never")
        #: Why start-up gave up, once it has; the process is then asked to exit.
        self.fatal_error: str | None = None
        #: Why no model answers yet, for /ready and 503 answers.
        self.waiting_for: str | None = "the model is being loaded"

    async def serve_forever(self) -> None:
        """Load the first model (retrying an unreachable registry), then poll the alias."""
        if not await self._load_first():
            return
        interval = self._settings.reload_interval_seconds
        if interval <= 0:
            return
        while True:
            await asyncio.sleep(interval)
            await self.reload(force=False, from_poll=True)

    async def reload(self, *, force: bool, from_poll: bool = False) -> ReloadStatus:
        """Load the version the alias points at now, if it is new (or ``force``).

        A version that failed to load is tried again on request, not on every poll.
        """
        async with self._lock:
            previous = self.current
            ref: ModelRef | None = None
            try:
                ref = await asyncio.to_thread(resolve_ref, self._settings)
                unchanged = previous is not None and previous.ref == ref
                known_bad = from_poll and ref == self._failed_ref
                if not force and (unchanged or known_bad):
                    return ReloadStatus("unchanged", datetime.now(UTC), ref.version)
                model = await asyncio.to_thread(load_model, ref, self._settings)
            except PipelineError as error:
                return self._reload_failed(str(error), ref)
            except Exception as error:  # a reload must never take the answering model down
                log.exception("unexpected error while reloading the model")
                return self._reload_failed(f"unexpected error: {error}", ref)
            self._install(model)
            self._failed_ref = None
            self._metrics.reloads.labels("loaded").inc()
            self._metrics.last_reload_failed.set(0)
            self.last_reload = ReloadStatus("loaded", model.loaded_at, model.ref.version)
            log.info(
                "now serving %s (was %s)",
                _describe(model),
                _describe(previous) if previous else "none",
            )
            return self.last_reload

    def _reload_failed(self, message: str, ref: ModelRef | None) -> ReloadStatus:
        if ref is not None:
            self._failed_ref = ref
        self._metrics.reloads.labels("failed").inc()
        self._metrics.last_reload_failed.set(1)
        self.last_reload = ReloadStatus(
            "failed", datetime.now(UTC), ref.version if ref else None, message
        )
        log.error(
            "model reload failed, still serving %s: %s",
            _describe(self.current) if self.current else "no model",
            message,
        )
        return self.last_reload

    async def _load_first(self) -> bool:
        deadline = time.monotonic() + self._settings.registry_deadline_seconds
        delay = _FIRST_RETRY_SECONDS
        while True:
            try:
                ref = await asyncio.to_thread(resolve_ref, self._settings)
                self.waiting_for = f"loading {ref.uri}"
                model = await asyncio.to_thread(load_model, ref, self._settings)
            except (TrackingError, ModelNotFoundError) as error:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._give_up(
                        f"{error}; gave up after {self._settings.registry_deadline_seconds:g} s "
                        "(registry_deadline_seconds)"
                    )
                    return False
                self.waiting_for = str(error)
                log.warning("%s; retrying in %.1f s", error, min(delay, remaining))
                await asyncio.sleep(min(delay, remaining))
                delay = min(delay * 2, _LONGEST_RETRY_SECONDS)
                continue
            except PipelineError as error:
                self._give_up(str(error))
                return False
            except Exception as error:
                log.exception("unexpected error while loading the model")
                self._give_up(f"unexpected error while loading the model: {error}")
                return False
            self._install(model)
            self.waiting_for = None
            log.info("serving %s", _describe(model))
            return True

    def _install(self, model: LoadedModel) -> None:
        # The swap: one reference assignment, atomic for every reader.
        self.current = model
        _settle_heap()
        self._metrics.model_loaded.set(1)
        version = model.ref.version
        self._metrics.model_version.set(float(version) if version and version.isdigit() else 0)

    def _give_up(self, message: str) -> None:
        self.fatal_error = message
        self.waiting_for = message
        log.error("cannot start serving: %s", message)
        self._on_fatal()


def _settle_heap() -> None:
    """Keep the garbage collector's full passes off the request path.

    Once a model is in, the process holds about a million long-lived objects (the
    libraries and the model); a full collection walks every one of them, 100-250 ms
    here, during which no request is answered. Freezing them moves them out of the
    collector's generations, so later passes only walk what serving creates. The
    unfreeze first lets a replaced model's objects be collected once.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _describe(model: LoadedModel) -> str:
    ref = model.ref
    return f"{ref.name} version {ref.version}" if ref.version else ref.uri

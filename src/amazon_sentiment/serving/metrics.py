"""Prometheus metrics of one app, in a registry of its own.

A per-app :class:`CollectorRegistry` (not prometheus_client's global one) lets several
apps live in one process, as tests build them, without clashing names.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "amazon_sentiment_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "amazon_sentiment_http_request_duration_seconds",
            "Time from request to the end of the response, by route, method and status.",
            ["route", "method", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "amazon_sentiment_predictions",
            "Reviews scored, by predicted label.",
            ["label"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "amazon_sentiment_batch_size",
            "Reviews per call to the model; kind=request for a batch sent by a client, "
            "micro_batch for single reviews combined by the service.",
            ["kind"],
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.model_version = Gauge(
            "amazon_sentiment_model_version",
            "Registry version of the model answering (0 for a model loaded by URI).",
            registry=self.registry,
        )
        self.model_loaded = Gauge(
            "amazon_sentiment_model_loaded",
            "1 once a model is loaded and answering.",
            registry=self.registry,
        )
        self.reloads = Counter(
            "amazon_sentiment_model_reloads",
            "Model loads after start-up, by outcome (loaded, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.last_reload_failed = Gauge(
            "amazon_sentiment_model_last_reload_failed",
            "1 if the latest attempt to load a new model failed (the old one still answers).",
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

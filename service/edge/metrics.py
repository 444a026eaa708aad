"""Prometheus metrics for the HTTP service.

Each app gets its own registry, so several apps (tests, workers) never collide. With one
worker ``/metrics`` is exact. With several workers, ``shopmode serve`` sets
``PROMETHEUS_MULTIPROC_DIR`` before any worker starts; prometheus_client then keeps
counters and histograms in files there and ``/metrics`` merges every worker's values.
Without that variable each worker reports only its own counts (per-worker metrics).
"""

from __future__ import annotations

import logging
import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.edge.problems import problem_response

log = logging.getLogger("shopmode.service")

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServiceMetrics:
    """The service's counters and histograms, on a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "shopmode_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "shopmode_http_request_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.explanations = Counter(
            "shopmode_explanations",
            "Explanations served, by the source that wrote them.",
            ["source"],
            registry=r,
        )
        self.degraded = Counter(
            "shopmode_degraded_responses",
            "Recommendations answered in degraded mode, by cause.",
            ["cause"],
            registry=r,
        )
        self.redis_errors = Counter(
            "shopmode_redis_errors",
            "Redis calls that failed or timed out, by operation.",
            ["operation"],
            registry=r,
        )
        self.model_reload_failures = Counter(
            "shopmode_model_reload_failures",
            "Model versions that failed to load (the last good model kept serving).",
            registry=r,
        )
        self.unhandled_errors = Counter(
            "shopmode_unhandled_errors",
            "Requests that ended in an unexpected exception (a bug: always 0 in tests).",
            registry=r,
        )
        self.model_loaded = Gauge(
            "shopmode_model_loaded",
            "1 when a trained model serves, 0 when ranking is heuristic.",
            registry=r,
            multiprocess_mode="max",
        )
        self.redis_up = Gauge(
            "shopmode_redis_up",
            "1 when Redis answered the last health probe.",
            registry=r,
            multiprocess_mode="min",
        )

    def exposition(self) -> tuple[bytes, str]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            prometheus_multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts and times every request by route template; turns a crash into a bare 500.

    The 500 answer carries no details; the exception goes to the log and to
    ``shopmode_unhandled_errors`` (which tests assert stays at zero).
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            self.metrics.unhandled_errors.inc()
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            status = 500
            if not response_started:
                response = problem_response(500, "internal error", kind="internal-error")
                await response(scope, receive, send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)

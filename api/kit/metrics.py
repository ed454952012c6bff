"""Prometheus metrics of the HTTP API: requests and latency per route template and status.

Each app has its own registry (tests build many apps). The route label is the path template
(``/v1/api-keys/{key_id}``), never the raw path, and ``unmatched`` for unknown paths, so an
attacker cannot blow up the number of series. With several uvicorn workers each process
counts its own requests; use prometheus-client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``) to add them up.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Seconds; fine below 10 ms, where the checkout authorize target (p99 < 10 ms) sits."""


class ApiMetrics:
    """The app's metric families and their registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "credit_http_requests", "HTTP requests handled.", ("method", "route", "status"), registry=self.registry
        )
        self.latency = Histogram(
            "credit_http_request_duration_seconds", "Time from request start to response end.",
            ("method", "route", "status"), buckets=LATENCY_BUCKETS, registry=self.registry,
        )

        # The children of each label set, found once: ``labels()`` costs a lock and a few lookups on
        # every request. As bounded as the families' own children (templates, methods, statuses).
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: str, seconds: float) -> None:
        """Count one request and its latency under its labels."""
        labels = (method, route, status)
        children = self._children.get(labels)
        if children is None:
            children = self._children[labels] = (self.requests.labels(*labels), self.latency.labels(*labels))
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        """The registry in Prometheus text format and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Pure ASGI middleware timing every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, str(status), time.perf_counter() - start)

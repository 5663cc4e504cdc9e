"""Prometheus metrics, correct across gunicorn's worker processes.

With several workers each process counts on its own; prometheus-client's multiprocess mode
(PROMETHEUS_MULTIPROC_DIR, set up by gunicorn.conf.py under the writable /tmp) adds them up at
scrape time. Without it (e.g. `uvicorn app.main:app` in development) the default registry is used.
"""
from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

# The names the stack's alert rules use (monitoring: http_requests_total{status}, http_request_duration_seconds).
REQUESTS = Counter("http_requests_total", "HTTP requests by route, method and status.", ["method", "route", "status"])
DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request duration by route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST

"""Prometheus metrics at ``/metrics`` (METRICS_ENABLED; off by default).

A WSGI middleware in front of everything (the API, the web app, WebDAV) counts requests by
route template (``/api/files/<file_id>``: bounded label values, never ids), method and status;
times each request until its response starts (for a download, the time to its first byte:
the body is not wrapped, so files still go out with sendfile); adds up request and response
body bytes (by Content-Length; chunked bodies count as 0); keeps the number of uploads being
received; and the error responses count database and storage failures.

Several Gunicorn workers: gunicorn.conf.py gives them one PROMETHEUS_MULTIPROC_DIR (made
empty when the server starts, a dead worker's files merged), so ``/metrics`` answers the sum
over all workers, whichever answers. Outside Gunicorn the process's own registry is used.

Who may read it: with METRICS_TOKEN, whoever sends ``Authorization: Bearer <token>``; without
one, only clients on the same machine (after TRUST_PROXY_HOPS: a request through the proxy from
elsewhere is refused).
"""
from __future__ import annotations

import hmac
import json
import os
import time
from typing import Callable, Iterable

from flask import Flask, request

ROUTE_KEY = "clouddrive.route"
UPLOAD_PREFIXES = ("/api/upload", "/api/uploads", "/dav/", "/upload")
LOCAL_ADDRESSES = ("127.0.0.1", "::1")
HEADERS = [("X-Content-Type-Options", "nosniff"), ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
           ("Cache-Control", "no-store")]
ERROR_KINDS = {"database_unavailable": "database", "database_error": "database", "storage_unavailable": "storage",
               "storage_full": "storage"}

_metrics = None


class Metrics:
    """The metric objects (made once per process, when metrics are on)."""

    def __init__(self):
        from prometheus_client import Counter, Gauge, Histogram
        self.requests = Counter("clouddrive_http_requests_total", "HTTP requests answered",
                                ["route", "method", "status"])
        self.latency = Histogram("clouddrive_http_request_duration_seconds",
                                 "Time until the response starts (headers sent)", ["route", "method"],
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120))
        self.bytes_in = Counter("clouddrive_http_request_body_bytes_total", "Request body bytes (Content-Length)",
                                ["route"])
        self.bytes_out = Counter("clouddrive_http_response_body_bytes_total", "Response body bytes (Content-Length)",
                                 ["route"])
        self.uploads = Gauge("clouddrive_uploads_in_progress", "Uploads being received (API, tus, WebDAV PUT)",
                             multiprocess_mode="livesum")
        self.errors = Counter("clouddrive_errors_total", "Database and storage failures answered", ["kind"])


def metrics() -> Metrics:
    global _metrics
    if _metrics is None:
        _metrics = Metrics()
    return _metrics


def count_error(code: str) -> None:
    """An error response: database and storage failures are counted (when metrics are on)."""
    kind = ERROR_KINDS.get(code)
    if kind is not None and _metrics is not None:
        _metrics.errors.labels(kind).inc()


def _route_of_request() -> None:
    """Tell the middleware the route template of this request (not its URL: ids stay out)."""
    request.environ[ROUTE_KEY] = request.url_rule.rule if request.url_rule is not None else "<unmatched>"


def exposition() -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    def __init__(self, wsgi_app: Callable, token: str | None):
        self.wsgi_app = wsgi_app
        self.token = token
        self.metrics = metrics()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/metrics":
            return self.serve(environ, start_response)
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        upload = method in ("POST", "PUT", "PATCH") and path.startswith(UPLOAD_PREFIXES)
        started = time.perf_counter()
        answered = []
        if upload:
            self.metrics.uploads.inc()

        def record(status: str, headers: list) -> None:
            route = environ.get(ROUTE_KEY) or ("/dav" if path.startswith("/dav") else "<unmatched>")
            self.metrics.requests.labels(route, method, status[:3]).inc()
            self.metrics.latency.labels(route, method).observe(time.perf_counter() - started)
            sent = next((value for name, value in headers if name.lower() == "content-length"), "0")
            received = environ.get("CONTENT_LENGTH") or "0"
            if received.isdigit() and int(received):
                self.metrics.bytes_in.labels(route).inc(int(received))
            if sent.isdigit() and int(sent):
                self.metrics.bytes_out.labels(route).inc(int(sent))
            if upload:
                self.metrics.uploads.dec()

        def recording_start_response(status: str, headers: list, exc_info=None):
            if not answered:
                answered.append(status)
                record(status, headers)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            return self.wsgi_app(environ, recording_start_response)
        except BaseException:
            if not answered:
                answered.append("500")
                record("500", [])
            raise

    def serve(self, environ: dict, start_response: Callable) -> list[bytes]:
        if self.token:
            sent = environ.get("HTTP_AUTHORIZATION", "")
            allowed = hmac.compare_digest(sent.encode(), f"Bearer {self.token}".encode())
        else:
            allowed = environ.get("REMOTE_ADDR") in LOCAL_ADDRESSES
        if not allowed:
            body = json.dumps({"error": {"code": "forbidden", "message": "Metrics are for the operator: send "
                                         "METRICS_TOKEN as a Bearer token (or ask from the server itself)."}}).encode()
            start_response("403 FORBIDDEN", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                             *HEADERS])
            return [body]
        body, content_type = exposition()
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body))), *HEADERS])
        return [body]


def init_metrics(app: Flask) -> None:
    """Wrap the app (call after WebDAV is mounted, before ProxyFix, so the client's address is known)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _route_of_request)  # first: others may refuse
    app.wsgi_app = MetricsMiddleware(app.wsgi_app, app.config.get("METRICS_TOKEN"))

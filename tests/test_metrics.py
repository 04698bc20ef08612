"""Prometheus metrics (app/metrics): off by default; when on, /metrics counts requests by route
template, method and status, their bytes, uploads and failures, for the operator only, and with
several Gunicorn workers the sum over all of them."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from app.db import close_database
from tests.conftest import AuthActions, make_app, upload


def sample(text: str, name: str, **labels) -> float:
    """The value of one sample of the exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def metered(tmp_path):
    application = make_app(tmp_path, METRICS_ENABLED=True)
    yield application
    close_database(application)


def test_metrics_are_off_by_default(client):
    assert client.get("/metrics").status_code == 404


def test_requests_are_counted_by_route_template_never_by_id(metered):
    client = metered.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    AuthActions(client).signup()
    made = upload(client, ("a.txt", b"x" * 1000)).get_json()["files"][0]
    for _ in range(3):
        with client.get(f"/api/files/{made['id']}") as response:
            assert response.status_code == 200
    client.get("/api/files/0123456789abcdef01234567")
    client.get("/no/such/page")
    text = client.get("/metrics").get_data(as_text=True)
    route = "/api/files/<file_id>"
    counted = sample(text, "clouddrive_http_requests_total", route=route, method="GET", status="200") - \
        sample(before, "clouddrive_http_requests_total", route=route, method="GET", status="200")
    assert counted == 3
    assert sample(text, "clouddrive_http_requests_total", route=route, method="GET", status="404") >= 1
    assert sample(text, "clouddrive_http_requests_total", route="<unmatched>", method="GET", status="404") >= 1
    assert made["id"] not in text  # ids never become labels
    assert sample(text, "clouddrive_http_response_body_bytes_total", route=route) >= 3000
    assert sample(text, "clouddrive_http_request_body_bytes_total", route="/api/upload") >= 1000
    assert sample(text, "clouddrive_http_request_duration_seconds_count", route=route, method="GET") >= 3
    assert sample(text, "clouddrive_uploads_in_progress") == 0


def test_only_the_operator_reads_the_metrics(tmp_path):
    app = make_app(tmp_path, METRICS_ENABLED=True, METRICS_TOKEN="s3cret-metrics")
    client = app.test_client()
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    response = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"})
    assert response.status_code == 200 and "clouddrive_http_requests_total" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    close_database(app)
    local_only = make_app(tmp_path / "two", METRICS_ENABLED=True).test_client()
    refused = local_only.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"


@pytest.mark.e2e
def test_several_workers_answer_the_sum_of_all(new_server):
    server = new_server(METRICS_ENABLED="1", WEB_CONCURRENCY="3")
    server.start()
    try:
        session = requests.Session()
        counted = dict(route="/api/status", method="GET", status="200")
        before = sample(session.get(server.url("/metrics"), timeout=30).text, "clouddrive_http_requests_total", **counted)
        def status(_):
            return requests.get(server.url("/api/status"), headers={"Connection": "close"}, timeout=30).status_code
        sent, pids, seen = 0, set(), len(server.stdout_path.read_text(errors="replace"))
        with ThreadPoolExecutor(30) as pool:
            while len(pids) < 2 and sent < 600:  # at once, on new connections, until two workers answered
                assert set(pool.map(status, range(60))) == {200}
                sent += 60
                log = server.stdout_path.read_text(errors="replace")[seen:]  # the access log: which worker answered
                pids = set(re.findall(r'"GET /api/status HTTP/1.1" 200 .* pid=<?(\d+)', log))
        assert len(pids) >= 2, "every request went to one worker: the sum proves nothing"
        for _ in range(3):  # whichever worker answers /metrics, it reports every worker's count
            text = session.get(server.url("/metrics"), headers={"Connection": "close"}, timeout=30).text
            assert sample(text, "clouddrive_http_requests_total", **counted) - before == sent
    finally:
        server.kill()

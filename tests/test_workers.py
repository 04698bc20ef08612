"""Several Gunicorn workers behave as one server: a limit is a total over all of them.

The server runs with its default number of workers (two on the embedded SQLite database,
WIRE_WORKERS on MongoDB). The access log says which worker answered each request
(``rid=<request id> pid=<worker pid>``), so the test knows the attempts were spread.
"""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.live_server import HTTP_TIMEOUT_S, on_both_backends

pytestmark = pytest.mark.e2e

LIMIT = 5
MAX_ATTEMPTS = 80  # enough, in practice, for the kernel to hand connections to every worker


def wrong_login(server) -> tuple[int, str]:
    """One wrong-password attempt on a connection of its own; (status, request id)."""
    rid = uuid.uuid4().hex
    response = requests.post(server.url("/api/login"), json={"username": "alice", "password": "wrong guess"},
                             headers={"X-Request-ID": rid, "Connection": "close"}, timeout=HTTP_TIMEOUT_S)
    return response.status_code, rid


def workers_of(server, rids: list[str]) -> list[int]:
    """The worker pid that answered each request, once the access log has them all."""
    deadline = time.monotonic() + 10
    while True:
        answered = server.answered_by()
        if all(rid in answered for rid in rids) or time.monotonic() > deadline:
            return [answered.get(rid) for rid in rids]
        time.sleep(0.05)


@on_both_backends
def test_the_login_limit_is_a_total_over_all_workers(new_server):
    server = new_server(LOGIN_RATE_LIMIT=f"{LIMIT} per minute", LOGIN_IP_RATE_LIMIT="1000 per minute")
    server.start()
    try:
        assert len(server.worker_pids()) >= 2
        register = requests.post(server.url("/api/register"),
                                 json={"username": "alice", "password": "correct horse battery"}, timeout=HTTP_TIMEOUT_S)
        assert register.status_code == 201, register.text

        attempts = [wrong_login(server) for _ in range(LIMIT + 1)]
        # Go on until throttled answers came from at least two workers (each of which saw
        # fewer than all of the first attempts, yet refuses).
        throttled_by = set(workers_of(server, [attempts[-1][1]]))
        while len(throttled_by) < 2 and len(attempts) < MAX_ATTEMPTS:
            attempts.append(wrong_login(server))
            throttled_by |= set(workers_of(server, [attempts[-1][1]]))
        statuses = [status for status, _ in attempts]
        pids = workers_of(server, [rid for _, rid in attempts])
        story = "\n".join(f"attempt {n + 1}: {status} from worker {pid}"
                          for n, (status, pid) in enumerate(zip(statuses, pids)))

        assert None not in pids, f"an attempt missing from the access log\n{story}\n{server.diagnostics()}"
        assert statuses[:LIMIT] == [401] * LIMIT, story
        assert set(statuses[LIMIT:]) == {429}, f"a worker let attempt {LIMIT + 1} or later through\n{story}"
        assert len(set(pids[LIMIT:])) >= 2, f"only one worker answered the throttled attempts\n{story}"
        assert set(pids) <= server.worker_pids()
    finally:
        server.kill()

"""Several Gunicorn workers on the MongoDB wire server (tests/mongo_wire.py) really share the work.

The live story, the upload, tree and share-link races run there too (parametrized with
``backend``); this file proves they had more than one worker process to race in.
"""
from __future__ import annotations

import re
import threading

import pytest
import requests

from tests.live_server import HTTP_TIMEOUT_S, MONGO_WIRE, WIRE_WORKERS

pytestmark = pytest.mark.e2e

CLIENTS = 24
# gunicorn.conf.py ends each access-log line with the answering worker's pid as pid=<1234>.
ANSWERED_BY = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d+) .* pid=<(?P<pid>\d+)>$')


def answered_by(log: str) -> dict[tuple[str, str, str], set[int]]:
    """(method, path, status) -> the pids of the workers whose access-log lines say they answered."""
    pids: dict[tuple[str, str, str], set[int]] = {}
    for line in log.splitlines():
        match = ANSWERED_BY.search(line)
        if match:
            key = (match["method"], match["path"], match["status"])
            pids.setdefault(key, set()).add(int(match["pid"]))
    return pids


@pytest.mark.parametrize("backend", [MONGO_WIRE])
def test_several_workers_answer_one_users_requests_from_one_database(server):
    creds = {"username": "alice", "password": "correct horse battery"}
    assert requests.post(server.url("/api/register"), json=creds, timeout=HTTP_TIMEOUT_S).status_code == 201
    barrier = threading.Barrier(CLIENTS)
    statuses: list = [None] * CLIENTS

    def log_in_and_look(index: int) -> None:
        with requests.Session() as session:  # a connection of its own: any worker may accept it
            barrier.wait(timeout=60)
            login = session.post(server.url("/api/login"), json=creds, timeout=HTTP_TIMEOUT_S)
            me = session.get(server.url("/api/me"), timeout=HTTP_TIMEOUT_S)
            statuses[index] = (login.status_code, me.status_code, me.json().get("username"))

    threads = [threading.Thread(target=log_in_and_look, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    workers = server.worker_pids()
    server.stop()  # flushes the access log

    assert statuses == [(200, 200, "alice")] * CLIENTS, server.diagnostics()
    assert len(workers) == WIRE_WORKERS
    pids = answered_by(server.stdout_path.read_text())
    logins = pids.get(("POST", "/api/login", "200"), set())
    assert logins <= workers, f"answered by {logins}, workers {workers}"
    assert len(logins) >= 2, f"every login was answered by one worker: {pids}"
    # A session made by one worker is honoured by the others: the account and the session are in
    # the database, not in a worker's memory.
    assert len(pids.get(("GET", "/api/me", "200"), set())) >= 2, pids

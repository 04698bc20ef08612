"""The audit log: what is recorded (and what never is), who may read which part, the daily
files, batching, and retention."""
from __future__ import annotations

import json
import os
import time
from datetime import timedelta

import pytest
from bson import ObjectId

from app.audit.log import AuditLog
from app.timeutil import utcnow
from tests.conftest import AuthActions, upload

PASSWORD = "correct horse"


def read(path) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def actions(page: dict) -> list[str]:
    return [e["action"] for e in page["events"]]


@pytest.fixture
def story(app, client):
    """alice's morning: a failed and a good login, an upload, a download, trash and restore, a
    link opened and downloaded by someone without an account, a token."""
    AuthActions(client).register("alice", PASSWORD)
    assert AuthActions(client).login("alice", "wrong password").status_code == 401
    alice = AuthActions(client).login("alice", PASSWORD).get_json()
    file_id = upload(client, ("plan.txt", b"the plan")).get_json()["files"][0]["id"]
    with client.get(f"/api/files/{file_id}") as got:
        assert got.status_code == 200
    assert client.delete(f"/api/files/{file_id}").status_code == 204
    assert client.post(f"/api/trash/{file_id}/restore").status_code == 200
    link = client.post("/api/shares", json={"item_id": file_id, "password": "link pass"}).get_json()
    visitor = app.test_client()
    assert visitor.get(f"/s/{link['token']}").status_code == 200
    assert visitor.post(f"/s/{link['token']}/unlock", json={"password": "link pass"}).status_code == 200
    with visitor.get(f"/s/{link['token']}/download") as got:
        assert got.status_code == 200 and got.get_data() == b"the plan"
    token = client.post("/api/tokens", json={"name": "script", "scope": "read"}).get_json()
    return {"alice": alice, "file_id": file_id, "link": link, "token": token}


def test_my_activity_tells_what_happened_in_my_drive_and_links(client, story):
    page = client.get("/api/me/activity?limit=100").get_json()
    assert actions(page)[::-1] == ["registered", "login_failed", "login", "file_uploaded", "file_downloaded",
                                   "trashed", "restored", "share_created", "link_opened", "link_unlocked",
                                   "link_downloaded", "token_created"]
    by_action = {e["action"]: e for e in page["events"]}
    assert by_action["link_downloaded"]["actor_id"] is None and by_action["link_downloaded"]["address"] == "127.0.0.1"
    assert by_action["file_uploaded"]["target_id"] == story["file_id"]
    assert by_action["login_failed"]["actor_id"] is None
    assert actions(client.get("/api/me/activity?action=login").get_json()) == ["login"]


def test_a_links_activity_is_its_owners_alone(app, client, story):
    share_id = story["link"]["share"]["id"]
    page = client.get(f"/api/shares/{share_id}/activity").get_json()
    assert actions(page) == ["link_downloaded", "link_unlocked", "link_opened", "share_created"]
    other = app.test_client()
    AuthActions(other).signup("mallory", PASSWORD)
    refused = other.get(f"/api/shares/{share_id}/activity")
    assert refused.status_code == 404
    assert "link_downloaded" not in actions(other.get("/api/me/activity").get_json())


def test_no_secret_is_ever_written(app, client, story):
    secrets = [PASSWORD, "wrong password", "link pass", story["link"]["token"], story["token"]["secret"]]
    database = app.extensions["drive_db"]
    if database.kind == "sqlite":
        import sqlite3
        conn = sqlite3.connect(database.path)
        stored = repr(conn.execute("SELECT * FROM events").fetchall())
        conn.close()
    else:
        stored = repr(list(database.collection("events").find({})))
    folder = os.path.join(app.instance_path, "audit")
    files = "".join(read(os.path.join(folder, name)) for name in os.listdir(folder))
    assert "link_downloaded" in stored and "link_downloaded" in files
    for secret in secrets:
        assert secret not in stored and secret not in files, secret
    assert all(json.loads(line)["action"] for line in files.splitlines())


def test_administrators_see_everything_with_filters_and_users_do_not(app, client, story):
    admin = app.test_client()
    me = AuthActions(admin).signup("root", PASSWORD)
    assert admin.get("/api/admin/events").status_code == 404
    app.extensions["drive_services"].auth.users.update(me["id"], {"role": "admin"})
    everything = admin.get("/api/admin/events?limit=200").get_json()
    assert {"login", "link_downloaded", "registered"} <= set(actions(everything))
    alices = admin.get(f"/api/admin/events?actor_id={story['alice']['id']}&action=login").get_json()
    assert actions(alices) == ["login"]
    later = admin.get("/api/admin/events", query_string={"since": (utcnow() + timedelta(minutes=1)).isoformat()})
    later = later.get_json()
    assert later["events"] == []
    assert client.get("/api/admin/events").status_code == 404


def test_old_events_go_with_the_maintenance_command(app, client, story):
    log = app.extensions["drive_services"].audit
    old = utcnow() - timedelta(days=app.config["AUDIT_RETENTION_DAYS"] + 2)
    log.events.insert_many([{"_id": ObjectId(), "at": old, "action": "login", "owner_id": story["alice"]["id"],
                             "details": {}}])
    folder = os.path.join(app.instance_path, "audit")
    stale = os.path.join(folder, old.strftime("%Y-%m-%d") + ".jsonl")
    with open(stale, "w", encoding="utf-8") as fh:
        fh.write("{}\n")
    result = app.test_cli_runner().invoke(args=["purge-trash"])
    assert "removed 1 audit event(s)" in result.output, result.output
    assert not os.path.exists(stale) and os.listdir(folder)
    assert len(client.get("/api/me/activity?limit=100").get_json()["events"]) == 12


class _Events:
    def __init__(self):
        self.batches = []

    def insert_many(self, events):
        self.batches.append(list(events))


def test_events_are_written_in_batches_off_the_request(tmp_path):
    events = _Events()
    log = AuditLog(events, str(tmp_path / "audit"), flush_seconds=0.2)
    for i in range(50):
        log.record("file_downloaded", owner_id="u", target_id=i)
    assert events.batches == []  # nothing written while the requests run
    day_file = tmp_path / "audit" / f"{utcnow():%Y-%m-%d}.jsonl"
    deadline = time.time() + 5
    while not (events.batches and day_file.exists()) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.05)
    assert [len(b) for b in events.batches] == [50]  # one write for all of them
    lines = read(day_file).splitlines()
    assert len(lines) == 50 and json.loads(lines[-1])["target_id"] == "49"


def test_events_wait_for_a_database_that_is_down(tmp_path):
    class Down(_Events):
        def insert_many(self, events):
            raise ConnectionError("down")
    log = AuditLog(Down(), None, flush_seconds=0)
    with pytest.raises(ConnectionError):
        log.record("login", owner_id="u")
    events = _Events()
    log.events = events
    log.record("logout", owner_id="u")
    assert [e["action"] for e in events.batches[0]] == ["login", "logout"]  # the first was kept


def test_closing_writes_what_is_queued_and_stops_the_writer(tmp_path):
    """A closing app (a worker's exit, a test's teardown) writes its queued events while the
    database is still open, and its writer stops instead of retrying on a closed handle."""
    events = _Events()
    log = AuditLog(events, None, flush_seconds=0.2)
    log.record("login", owner_id="u")
    assert events.batches == []
    log.close()
    assert [e["action"] for e in events.batches[0]] == ["login"]
    deadline = time.time() + 5
    while log._thread.is_alive() and time.time() < deadline:
        time.sleep(0.05)
    assert not log._thread.is_alive()

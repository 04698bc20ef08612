"""Every query the MongoDB repositories send has an index behind it, as the wire server plans it.

A user's story runs through the app on a database of the MongoDB wire server (tests/
mongo_wire.py): register, upload, replace, folders, every listing and sort order, search with
its filters, stars, the trash, versions, share links, tokens, a delete for good. Every filter
the repositories send is recorded; each must have an index whose leading keys are fields of the
filter (the _id index counts), and explaining the query on that server with that index must
give an index scan, not a collection scan.

Why a hint: secantusdb's planner picks an index only when it covers every field of the filter
(mongod also uses one whose leading keys match and filters the rest after the fetch), so its
unhinted plans would call most of our queries scans that mongod would not.
"""
from __future__ import annotations

import base64
import io
import json

import pymongo.collection
import pytest

from tests.conftest import AuthActions, upload
from tests.mongo_wire import make_wire_app  # noqa: F401  (a fixture)
from tests.smtp_server import capture_mail

pytestmark = pytest.mark.e2e  # needs the wire server from .venv-secantus

# The commands whose filter selects documents; each records (collection, filter, sort).
RECORDED = ("find", "count_documents", "update_one", "update_many", "delete_one", "delete_many",
            "find_one_and_update", "find_one_and_delete", "find_one_and_replace")


def _plan_stages(plan) -> list[str]:
    """Every stage name in an explain document's winning plan."""
    stages: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "stage" in node:
                stages.append(node["stage"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(plan)
    return stages


@pytest.fixture
def recorded_queries(monkeypatch):
    seen: dict[str, tuple] = {}
    for name in RECORDED:
        original = getattr(pymongo.collection.Collection, name)

        def recording(self, filter=None, *args, _original=original, _name=name, **kwargs):
            if isinstance(filter, dict) and self.database.name.startswith("drive_"):
                sort = kwargs.get("sort")
                key = json.dumps([self.name, sorted(filter), sort], default=str)
                seen.setdefault(key, (self.name, filter, sort, _name))
            return _original(self, filter, *args, **kwargs)
        monkeypatch.setattr(pymongo.collection.Collection, name, recording)
    return seen


def story(client, second_client) -> None:
    auth = AuthActions(client)
    auth.signup("alice")
    folder = client.post("/api/folders", json={"name": "Reports"}).get_json()
    inner = client.post("/api/folders", json={"name": "2026", "parent_id": folder["id"]}).get_json()
    files = [upload(client, (f"note {i}.txt", f"text {i}".encode(), "text/plain"),
                    query=f"?folder_id={folder['id']}").get_json()["files"][0] for i in range(5)]
    upload(client, ("note 0.txt", b"text 0 again", "text/plain"), query=f"?folder_id={folder['id']}&on_conflict=replace")
    upload(client, ("photo.png", b"\x89PNG fake", "image/png"))
    for sort in ("name", "created_at", "updated_at", "size"):
        for order in ("asc", "desc"):
            assert client.get(f"/api/files?sort={sort}&order={order}").status_code == 200
            assert client.get(f"/api/folders/{folder['id']}/children?sort={sort}&order={order}").status_code == 200
    assert client.get(f"/api/folders/{folder['id']}/children?name=note%201.txt").status_code == 200
    assert client.get(f"/api/folders/{inner['id']}/path").status_code == 200
    assert client.get("/api/folders/tree").status_code == 200
    for query in ("q=note", "q=no&type=file", "q=a&content_type=image/", "q=t&min_size=1&max_size=100", "q=2026"):
        assert client.get(f"/api/search?{query}").status_code == 200
    assert client.patch(f"/api/files/{files[1]['id']}", json={"starred": True}).status_code == 200
    assert client.get("/api/starred").status_code == 200
    versions = client.get(f"/api/files/{files[0]['id']}/versions").get_json()["versions"]
    assert client.post(f"/api/files/{files[0]['id']}/versions/{versions[0]['id']}/restore").status_code == 200
    with client.get(f"/api/files/{files[0]['id']}") as download:
        assert download.status_code == 200
    share = client.post("/api/shares", json={"item_id": files[2]["id"], "password": "pass word"}).get_json()
    assert client.get("/api/shares").status_code == 200
    assert second_client.get(f"/s/{share['token']}").status_code in (200, 401)
    token = client.post("/api/tokens", json={"name": "cli", "scope": "read"}).get_json()
    assert second_client.get("/api/me", headers={"Authorization": f"Bearer {token['secret']}"}).status_code == 200
    assert client.get("/api/tokens").status_code == 200
    assert client.delete(f"/api/folders/{folder['id']}").status_code in (200, 204)
    assert client.get("/api/trash").status_code == 200
    assert client.post(f"/api/trash/{folder['id']}/restore").status_code == 200
    assert client.delete(f"/api/files/{files[3]['id']}").status_code in (200, 204)
    assert client.delete(f"/api/trash/{files[3]['id']}").status_code in (200, 204)
    assert client.delete(f"/api/files/{files[4]['id']}?permanent=true").status_code in (200, 204)
    assert client.delete("/api/trash").status_code in (200, 204)
    assert client.get("/api/me/usage").status_code == 200
    account_story(client)
    email_story(client)
    drop_story(client, second_client)
    webdav_story(second_client)
    assert client.post("/api/logout").status_code in (200, 204)


def account_story(client) -> None:
    """Sessions, a password change, and what an administrator does."""
    assert client.get("/api/me/sessions").status_code == 200
    assert client.post("/api/me/password", json={"current_password": "correct horse",
                                                 "new_password": "correct horse"}).status_code == 204
    me = client.get("/api/me").get_json()
    client.application.extensions["drive_services"].auth.users.update(me["id"], {"role": "admin"})
    assert client.get("/api/admin/users?q=ali").status_code == 200
    made = client.post("/api/admin/users", json={"username": "bobby", "password": "pass word 1"}).get_json()
    assert client.patch(f"/api/admin/users/{made['id']}", json={"quota_bytes": 10, "disabled": True}).status_code == 200
    assert client.post(f"/api/admin/users/{made['id']}/password", json={"password": "pass word 2"}).status_code == 204
    invite = client.post("/api/admin/invites", json={}).get_json()
    assert client.get("/api/admin/invites").status_code == 200
    assert client.delete(f"/api/admin/invites/{invite['invite']['id']}").status_code == 204


def email_story(client) -> None:
    """An address confirmed, a forgotten password reset (the links caught in an outbox)."""
    outbox = capture_mail(client.application)
    assert client.post("/api/me/email", json={"email": "alice@example.org", "password": "correct horse"}
                       ).status_code == 202
    assert client.post("/api/email/verify", json={"token": outbox.last_link("verify-email")}).status_code == 200
    assert client.post("/api/password/forgot", json={"email": "Alice@example.org"}).status_code == 202
    outbox.drain()  # the lookup and the message happen in the background
    assert client.post("/api/password/reset", json={"token": outbox.last_link("reset"),
                                                    "new_password": "correct horse"}).status_code == 204
    assert AuthActions(client).login("alice").status_code == 200


def drop_story(client, stranger) -> None:
    """An upload-only link on a folder, used by someone without an account."""
    folder = client.post("/api/folders", json={"name": "Drop box"}).get_json()
    made = client.post("/api/shares", json={"item_id": folder["id"], "mode": "upload", "max_files": 3}).get_json()
    sent = stranger.post(f"/s/{made['token']}/upload", data={"file": (io.BytesIO(b"dropped"), "x.txt")},
                         content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert sent.status_code == 201, sent.get_json()
    assert client.get("/api/shares").get_json()["shares"][0]["uploaded_files"] == 1


def webdav_story(client) -> None:
    """What a WebDAV client does: list, write, lock, set a property, move, copy, delete."""
    basic = {"Authorization": "Basic " + base64.b64encode(b"alice:correct horse").decode()}
    lock = ('<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope>'
            '<d:locktype><d:write/></d:locktype></d:lockinfo>')
    prop = ('<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:z="urn:z"><d:set><d:prop><z:a>1</z:a>'
            '</d:prop></d:set></d:propertyupdate>')
    steps = [("PROPFIND", "/dav/alice/Reports/", {"Depth": "1"}, None), ("MKCOL", "/dav/alice/dav", {}, None),
             ("PUT", "/dav/alice/dav/a.txt", {}, b"a"), ("PUT", "/dav/alice/dav/A.txt", {}, b"b"),
             ("PUT", "/dav/alice/locked.txt", {}, b"l"), ("LOCK", "/dav/alice/LOCKED.txt", {"Depth": "0"}, lock),
             ("PUT", "/dav/alice/dav/b.txt", {}, b"b"), ("PROPPATCH", "/dav/alice/dav", {}, prop),
             ("PROPFIND", "/dav/alice/dav/", {"Depth": "1"}, None),
             ("MOVE", "/dav/alice/dav", {"Destination": "http://localhost/dav/alice/dav2"}, None),
             ("COPY", "/dav/alice/dav2", {"Destination": "http://localhost/dav/alice/dav3"}, None),
             ("DELETE", "/dav/alice/dav3", {}, None), ("GET", "/dav/alice/dav2/a.txt", {}, None)]
    for method, path, headers, body in steps:
        with client.open(path, method=method, headers={**basic, **headers}, data=body) as response:
            assert response.status_code < 300, (method, path, response.status_code, response.data[:300])


def leading_index(indexes: dict, query: dict) -> tuple[str, int] | None:
    """The index whose leading keys are most of the query's top-level fields, and how many."""
    fields = set(query)
    best = None
    for name, info in indexes.items():
        prefix = 0
        for key, _direction in info["key"]:
            if key not in fields:
                break
            prefix += 1
        if prefix and (best is None or prefix > best[1]):
            best = (name, prefix)
    return best


def test_every_repository_query_uses_an_index_on_the_wire_server(make_wire_app, recorded_queries):
    app = make_wire_app()
    story(app.test_client(), app.test_client())
    database = app.extensions["drive_db"]
    queries = list(recorded_queries.values())
    recorded_queries.clear()
    assert len(queries) > 40, "the story reached the repositories"
    missing = []
    for collection, query, sort, command in queries:
        indexes = database.collection(collection).index_information()
        chosen = leading_index(indexes, query)
        if chosen is None:
            missing.append(f"{command} on {collection}: {query} (no index starts with one of its fields)")
            continue
        cursor = database.collection(collection).find(query).hint(chosen[0])
        if sort:
            cursor = cursor.sort(sort)
        stages = _plan_stages(cursor.explain()["queryPlanner"]["winningPlan"])
        if "COLLSCAN" in stages or "IXSCAN" not in stages:
            missing.append(f"{command} on {collection}: {query} sort={sort}: {stages}")
    assert not missing, "queries without an index:\n" + "\n".join(missing)

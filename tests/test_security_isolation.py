"""Nobody in where they don't belong: another user's resource is a 404 on every route.

The main test walks ``app.url_map``: every rule that takes an id is called by a second user
(with a session cookie, then with a read-write API token) with the first user's real ids,
and must answer 404, never 403 or 2xx; the first user's data (and the second's) must be
exactly as before. A new route taking an id this file does not know fails the test until
a resource for it is added to ``owned_ids``. WebDAV takes paths, not ids: every method on
user 1's /dav paths (any case, real and missing) is a 404 for user 2, with a password or a token.
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import os
import secrets
from urllib.parse import unquote
from xml.etree import ElementTree
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from bson import ObjectId

from app.drive.schemas import BULK_ACTIONS
from tests.conftest import AuthActions, multipart_body, upload
from tests.conftest import mongo_only

PASSWORD = "correct horse"
SAFE_METHODS = {"GET"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}
# Rules whose arguments are not owned ids: the package's own static files.
STATIC_ENDPOINTS = {"static", "flasgger.static"}
PUBLIC_PREFIX = "/s/"


# -- building two users' worlds ------------------------------------------------------------------

def mkdir(client, name, parent="root"):
    response = client.post("/api/folders", json={"name": name, "parent_id": parent})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def put(client, name, data, folder_id="root", on_conflict=None):
    query = f"?folder_id={folder_id}" + (f"&on_conflict={on_conflict}" if on_conflict else "")
    response = upload(client, (name, data, "text/plain"), query=query)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["files"][0]["id"]


def make_share(client, item_id, **options):
    response = client.post("/api/shares", json={"item_id": item_id, **options})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return body["share"]["id"], body["token"]


def start_upload(client, name: str, data: bytes) -> str:
    """A resumable upload with its first half received; its id."""
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": str(2 * len(data)),
               "Upload-Metadata": f"filename {base64.b64encode(name.encode()).decode()}"}
    response = client.post("/api/tus/", headers=headers, data=data, content_type="application/offset+octet-stream")
    assert response.status_code == 201, response.get_json()
    return response.headers["Location"].rsplit("/", 1)[1]


def make_token(client, scope="read-write"):
    response = client.post("/api/tokens", json={"name": "script", "scope": scope})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return body["token"]["id"], body["secret"]


def closed(response):
    """Read the body and close the response (file downloads hold an open file until then)."""
    response.get_data()
    response.close()
    return response


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


@dataclass
class Person:
    """One user: a cookie client, a read-write token, and ids of each kind of resource."""

    client: object
    id: str
    token_secret: str
    ids: dict = field(default_factory=dict)
    share_tokens: dict = field(default_factory=dict)


def signup(app, username) -> Person:
    client = app.test_client()
    me = AuthActions(client).signup(username, PASSWORD)
    return Person(client, me["id"], "")


def build_alice(app) -> Person:
    """Live and trashed files and folders, versions, shares, a token, a star."""
    alice = signup(app, "alice")
    c = alice.client
    projects = mkdir(c, "Projects")
    sub = mkdir(c, "Sub", projects)
    inner = put(c, "inner.txt", b"alice inner", sub)
    report = put(c, "report.txt", b"alice v1")
    put(c, "report.txt", b"alice v2", on_conflict="replace")
    put(c, "report.txt", b"alice v3", on_conflict="replace")
    versions = [v["id"] for v in c.get(f"/api/files/{report}/versions").get_json()["versions"]]
    assert len(versions) == 2
    old = put(c, "old.txt", b"alice old")
    assert c.delete(f"/api/files/{old}").status_code == 204
    binned = mkdir(c, "Binned")
    put(c, "binned.txt", b"alice binned", binned)
    assert c.delete(f"/api/folders/{binned}").status_code == 204
    assert c.put(f"/api/files/{report}/star").status_code == 200
    file_share, file_token = make_share(c, report, label="report link")
    folder_share, folder_token = make_share(c, projects)
    token_id, alice.token_secret = make_token(c)
    upload_id = start_upload(c, "half.bin", b"alice half")
    # alice administers the server: her user id, an invitation and her session are ids too.
    app.extensions["drive_services"].auth.users.update(alice.id, {"role": "admin"})
    invite = c.post("/api/admin/invites", json={"note": "for a friend"})
    assert invite.status_code == 201, invite.get_json()
    session_id = c.get("/api/me/sessions").get_json()["sessions"][0]["id"]
    alice.ids = {"upload": upload_id, "invite": invite.get_json()["invite"]["id"], "session": session_id,
        "report": report, "inner": inner, "old": old, "projects": projects, "sub": sub, "binned": binned,
        "versions": versions, "file_share": file_share, "folder_share": folder_share, "token": token_id,
    }
    alice.share_tokens = {"file": file_token, "folder": folder_token}
    return alice


def build_bob(app) -> Person:
    bob = signup(app, "bob")
    c = bob.client
    folder = mkdir(c, "Bob's folder")
    bob_file = put(c, "bob.txt", b"bob v1")
    put(c, "bob.txt", b"bob v2", on_conflict="replace")
    version = c.get(f"/api/files/{bob_file}/versions").get_json()["versions"][0]["id"]
    trashed = put(c, "bob-old.txt", b"bob old")
    assert c.delete(f"/api/files/{trashed}").status_code == 204
    share_id, _ = make_share(c, bob_file)
    token_id, bob.token_secret = make_token(c)
    bob.ids = {"session": c.get("/api/me/sessions").get_json()["sessions"][0]["id"],
               "upload": start_upload(c, "bob-half.bin", b"bob half"), "folder": folder, "file": bob_file, "version": version, "trashed": trashed, "share": share_id,
               "token": token_id}
    return bob


def owned_ids(alice: Person) -> dict[str, list[str]]:
    """Every URL variable that names an owned resource → real resources of user 1 to try.

    A new id-taking route must add its variable here (the walk fails otherwise)."""
    a = alice.ids
    return {
        "file_id": [a["report"], a["inner"], a["old"]],
        "folder_id": [a["projects"], a["sub"], a["binned"]],
        "version_id": a["versions"],
        "item_id": [a["old"], a["binned"], a["report"]],
        "share_id": [a["file_share"], a["folder_share"]],
        "token_id": [a["token"]],
        "upload_id": [a["upload"]],
        "user_id": [alice.id],
        "invite_id": [a["invite"]],
        "session_id": [a["session"]],
        # The seed-compatible routes address the caller's root files by name and API key.
        "filename": ["report.txt"],
        # Members of an item are named by username (issue 16).
        "username": ["alice", "carol"],
    }


def own_ids(bob: Person) -> dict[str, str]:
    """User 2's own resource for each variable, to mix with user 1's in multi-id routes."""
    b = bob.ids
    return {"file_id": b["file"], "folder_id": b["folder"], "version_id": b["version"], "item_id": b["trashed"],
            "share_id": b["share"], "token_id": b["token"], "filename": "bob.txt", "upload_id": b["upload"],
            "user_id": bob.id, "invite_id": str(ObjectId()), "session_id": b["session"], "username": "bob"}


@pytest.fixture
def world(app):
    alice, bob = build_alice(app), build_bob(app)
    return app, alice, bob


# -- what a user has, to compare before and after --------------------------------------------------

def _json(client, path):
    response = client.get(path)
    assert response.status_code == 200, (path, response.get_json())
    return response.get_json()


def snapshot(app, person: Person) -> dict:
    """Everything the user can see of their own data, plus their bytes on disk."""
    c = person.client
    files = _json(c, "/api/files?limit=200")
    state = {
        "files": files,
        "tree": _json(c, "/api/folders/tree"),
        "everything": _json(c, "/api/search?limit=200"),
        "trash": _json(c, "/api/trash?limit=200"),
        "starred": _json(c, "/api/starred?limit=200"),
        "usage": _json(c, "/api/me/usage"),
        "shares": _json(c, "/api/shares"),
        "uploads": _json(c, "/api/uploads"),
        "tokens": [{k: v for k, v in t.items() if k != "last_used_at"} for t in _json(c, "/api/tokens")["tokens"]],
        "versions": {f["id"]: _json(c, f"/api/files/{f['id']}/versions") for f in files["files"]},
        "contents": {f["id"]: hashlib.sha256(closed(c.get(f"/api/files/{f['id']}")).get_data()).hexdigest()
                     for f in files["files"]},
    }
    folder = os.path.join(app.config["UPLOAD_FOLDER"], person.id)
    state["disk"] = sorted((e.name, e.stat().st_size) for e in os.scandir(folder))
    for kind, token in person.share_tokens.items():
        state[f"link:{kind}"] = _json(app.test_client(), f"/s/{token}")
    return state


# -- walking the URL map ----------------------------------------------------------------------------

def id_rules(app):
    """(rule, method) for every rule that takes an argument, public links and static files aside."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.arguments or rule.endpoint in STATIC_ENDPOINTS or rule.rule.startswith(PUBLIC_PREFIX):
            continue
        for method in sorted(rule.methods - IGNORED_METHODS):
            yield rule, method


def argument_sets(rule, mine: dict[str, list[str]], theirs: dict[str, str]):
    """User 1's ids for every variable, and (for rules with several) mixes with user 2's own,
    but never user 2's own ids alone."""
    names = sorted(rule.arguments)
    choices = [[("alice", v) for v in mine[n]] + [("bob", theirs[n])] for n in names]
    for combo in itertools.product(*choices):
        if all(owner == "bob" for owner, _ in combo):
            continue
        yield dict(zip(names, (value for _, value in combo)))


def call(client, rule, method, values, headers, bob: Person, query=""):
    url = rule.build(values, append_unknown=False)[1] + query
    if rule.endpoint.startswith("compat."):
        # Seed-compatible routes authenticate by ``key`` only; give them user 2's.
        url += ("&" if "?" in url else "?") + f"key={bob.token_secret}"
    kwargs = {"headers": headers}
    if method not in SAFE_METHODS:
        kwargs["json"] = {"name": "pwned.txt", "label": "pwned", "max_downloads": 1, "password": "pwned-pass",
                          "parent_id": bob.ids["folder"], "username": "carol", "role": "editor"}
    return closed(client.open(url, method=method, **kwargs))


def test_every_id_taking_route_is_covered(app):
    """The walk below knows every URL variable that names an owned resource."""
    known = set(owned_ids(Person(None, "", "", ids=defaultdict(list))))
    unknown = {(rule.rule, name) for rule, _ in id_rules(app) for name in rule.arguments if name not in known}
    assert not unknown, (f"routes take ids the isolation test does not know: {sorted(unknown)}; "
                         "add a real resource of user 1 for each to owned_ids()")
    public = {name for rule in app.url_map.iter_rules() if rule.rule.startswith(PUBLIC_PREFIX)
              for name in rule.arguments}
    assert public <= {"token", "file_id"}, f"public link routes take new arguments: {public}"


# alice's items inside "Projects": what a grant on it opens (the rest of her drive stays closed).
SHARED_KEYS = ("projects", "sub", "inner")


def outside_the_share(alice: Person) -> dict[str, list[str]]:
    shared = {alice.ids[k] for k in SHARED_KEYS}
    return {name: [v for v in values if v not in shared] for name, values in owned_ids(alice).items()}


def grant(app, alice: Person, role: str | None) -> None:
    """alice shares Projects with bob as ``role``; ``revoked``: shared as editor, then removed."""
    if role is None:
        return
    c = alice.client
    response = c.post(f"/api/items/{alice.ids['projects']}/members",
                      json={"username": "bob", "role": "viewer" if role == "viewer" else "editor"})
    assert response.status_code == 201, response.get_json()
    if role == "revoked":
        assert c.delete(f"/api/items/{alice.ids['projects']}/members/bob").status_code == 204


@pytest.mark.parametrize("mode,role", [("cookie", None), ("token", None), ("cookie", "revoked"), ("token", "viewer"),
                                       ("cookie", "editor")])
def test_another_users_ids_are_404_on_every_route_and_change_nothing(world, mode, role):
    """Without a grant (never given, or revoked), every id of user 1 is a 404; with a grant on
    one folder, every id outside it still is."""
    app, alice, bob = world
    grant(app, alice, role)
    before = snapshot(app, alice), snapshot(app, bob)
    if mode == "cookie":
        client, headers = bob.client, {}
    else:
        client, headers = app.test_client(), bearer(bob.token_secret)
    mine = owned_ids(alice) if role in (None, "revoked") else outside_the_share(alice)
    theirs = own_ids(bob)
    failures, tried, walked = [], 0, set()
    for rule, method in id_rules(app):
        walked.add((rule.rule, method))
        queries = ["", "?permanent=true"] if method == "DELETE" else [""]
        for values, query in itertools.product(list(argument_sets(rule, mine, theirs)), queries):
            response = call(client, rule, method, values, headers, bob, query)
            tried += 1
            body = response.get_json(silent=True) or {}
            code = body.get("error", {}).get("code", "")
            token_refused = mode == "token" and response.status_code == 403 and code == "session_required"
            if token_refused:
                # A token may not manage tokens at all: the same answer for any id, so no oracle.
                unknown = call(client, rule, method, {n: str(ObjectId()) for n in rule.arguments}, headers, bob)
                if unknown.status_code == 403 and unknown.get_json()["error"]["code"] == code:
                    continue
            if response.status_code != 404 or not code.endswith("not_found"):
                failures.append(f"{method} {rule.rule} {values}{query}: {response.status_code} {code or body}")
    assert not failures, "another user's resources are reachable:\n" + "\n".join(failures)
    assert tried > 100 and len(walked) >= 25, (tried, walked)
    assert (snapshot(app, alice), snapshot(app, bob)) == before


@pytest.mark.parametrize("mode", ["cookie", "token"])
def test_a_viewer_reads_inside_the_share_and_changes_nothing_anywhere(world, mode):
    """bob views alice's Projects: every route with its ids reads (2xx, or 404 for an id of
    another kind) or refuses a write (403 read_only/owner_only/outside_share, or a 404);
    nothing of alice's or bob's changes."""
    app, alice, bob = world
    grant(app, alice, "viewer")
    before = snapshot(app, alice), snapshot(app, bob)
    client, headers = (bob.client, {}) if mode == "cookie" else (app.test_client(), bearer(bob.token_secret))
    a = alice.ids
    inside = {"file_id": [a["inner"]], "folder_id": [a["projects"], a["sub"]], "item_id": [a["projects"], a["inner"]],
              "version_id": a["versions"], "username": ["alice", "carol"]}
    failures, reads = [], 0
    for rule, method in id_rules(app):
        if not set(rule.arguments) <= set(inside) or not set(rule.arguments) & {"file_id", "folder_id", "item_id"}:
            continue
        names = sorted(rule.arguments)
        for combo in itertools.product(*(inside[n] for n in names)):
            values = dict(zip(names, combo))
            for query in (["", "?permanent=true"] if method == "DELETE" else [""]):
                response = call(client, rule, method, values, headers, bob, query)
                code = (response.get_json(silent=True) or {}).get("error", {}).get("code", "")
                status = response.status_code
                if method == "GET":
                    reads += status == 200
                    ok = status in (200, 415) or (status in (403, 404) and code in (
                        "owner_only", "file_not_found", "folder_not_found", "item_not_found", "version_not_found"))
                elif rule.endpoint in ("files.copy_file", "folders.copy_folder"):
                    ok = status == 403 and code == "outside_share"  # into bob's folder: his own drive
                    if status == 201:  # copying to his own drive is a viewer's right: undo it
                        ok = True
                else:
                    ok = (status == 403 and code in ("read_only", "owner_only", "outside_share")) or (
                        status == 404 and code.endswith("not_found"))
                if not ok:
                    failures.append(f"{method} {rule.rule} {values}{query}: {status} {code}")
    assert not failures, "a viewer got past the rule:\n" + "\n".join(failures)
    assert reads >= 8, reads
    after_alice = snapshot(app, alice)
    assert after_alice == before[0]


@pytest.mark.parametrize("mode", ["cookie", "token"])
def test_another_users_ids_in_bodies_and_query_strings_are_404(world, mode):
    """User 2 cannot put things into user 1's folders, share user 1's items, or list their links."""
    app, alice, bob = world
    a, b = alice.ids, bob.ids
    before = snapshot(app, alice), snapshot(app, bob)
    client, headers = (bob.client, {}) if mode == "cookie" else (app.test_client(), bearer(bob.token_secret))
    multipart, ctype = multipart_body([("file", "planted.txt", b"planted", "text/plain")])
    # The same upload naming user 1's folder in a form field instead of the query string.
    form = (b"--" + ctype.split("boundary=")[1].encode()
            + f'\r\nContent-Disposition: form-data; name="folder_id"\r\n\r\n{a["projects"]}\r\n'.encode()
            + multipart)
    attempts = [
        ("POST", f"/api/upload?folder_id={a['projects']}", {"data": multipart, "content_type": ctype}),
        ("POST", f"/api/upload?folder_id={a['binned']}", {"data": multipart, "content_type": ctype}),
        ("POST", "/api/upload", {"data": form, "content_type": ctype}),
        ("POST", "/api/folders", {"json": {"name": "planted", "parent_id": a["projects"]}}),
        ("POST", "/api/folders", {"json": {"name": "planted", "parent_id": a["sub"]}}),
        ("PATCH", f"/api/files/{b['file']}", {"json": {"parent_id": a["projects"]}}),
        ("PATCH", f"/api/folders/{b['folder']}", {"json": {"parent_id": a["sub"]}}),
        ("POST", f"/api/files/{b['file']}/copy", {"json": {"parent_id": a["projects"]}}),
        ("POST", f"/api/folders/{b['folder']}/copy", {"json": {"parent_id": a["projects"]}}),
        ("POST", "/api/shares", {"json": {"item_id": a["report"]}}),
        ("POST", "/api/shares", {"json": {"item_id": a["projects"]}}),
        ("POST", "/api/shares", {"json": {"item_id": a["old"]}}),
        ("GET", f"/api/shares?item_id={a['report']}", {}),
        ("GET", f"/api/folders/{a['projects']}/children?name=inner.txt", {}),
        ("POST", "/api/zip", {"json": {"ids": [a["report"]]}}),
        ("POST", "/api/zip", {"json": {"ids": [b["file"], a["projects"]]}}),
        ("POST", "/api/zip", {"json": {"ids": [b["folder"], a["old"], b["file"]]}}),
        ("POST", "/api/zip", {"data": {"ids": [b["file"], a["sub"]]}}),
    ]
    failures = []
    for method, path, kwargs in attempts:
        response = closed(client.open(path, method=method, headers=headers, **kwargs))
        code = (response.get_json(silent=True) or {}).get("error", {}).get("code", "")
        if response.status_code != 404 or not code.endswith("not_found"):
            failures.append(f"{method} {path}: {response.status_code} {code}")
    # Bulk requests answer 200 with a result per id: each of user 1's ids is not found, and
    # user 2's own items do not go into user 1's folders.
    alices = [v for values in owned_ids(alice).values() for v in values]
    bulk_attempts = [{"action": action, "ids": alices} for action in BULK_ACTIONS if action != "move"]
    bulk_attempts += [{"action": "move", "ids": alices, "parent_id": "root"},
                      {"action": "move", "ids": [b["file"], b["folder"]], "parent_id": a["projects"]},
                      {"action": "copy", "ids": [b["file"], b["folder"]], "parent_id": a["sub"]}]
    for body in bulk_attempts:
        response = client.post("/api/items/bulk", json=body, headers=headers)
        results = response.get_json().get("results", []) if response.status_code == 200 else []
        wrong = [r for r in results if r["ok"] or not r["error"]["code"].endswith("not_found")]
        if response.status_code != 200 or wrong or len(results) != len(body["ids"]):
            failures.append(f"bulk {body['action']}: {response.status_code} {wrong or response.get_json()}")
    assert not failures, "\n".join(failures)
    found = client.get("/api/search?q=.txt&limit=200", headers=headers).get_json()["items"]
    assert {i["name"] for i in found} == {"bob.txt"}
    assert (snapshot(app, alice), snapshot(app, bob)) == before


# -- WebDAV: /dav/<username>/ takes paths, not ids ---------------------------------------------------

DAV_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "MKCOL", "PROPFIND", "PROPPATCH", "LOCK", "UNLOCK",
               "COPY", "MOVE"]
LOCK_BODY = ('<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope>'
             '<d:locktype><d:write/></d:locktype></d:lockinfo>')
PROPPATCH_BODY = ('<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:z="urn:x"><d:set><d:prop>'
                  '<z:pwned>yes</z:pwned></d:prop></d:set></d:propertyupdate>')


def basic_auth(username, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()}


def dav_paths(alice: Person) -> list[str]:
    """User 1's drive by every name a WebDAV client could use: real paths in any case, missing
    ones, and the top of the drive."""
    return ["/dav/alice", "/dav/alice/", "/dav/ALICE/", "/dav/alice/report.txt", "/dav/Alice/REPORT.TXT",
            "/dav/alice/Projects/", "/dav/alice/Projects/Sub/inner.txt", "/dav/alice/old.txt",
            "/dav/alice/nothing-here.txt", "/dav/alice/Projects/new-folder"]


@pytest.mark.parametrize("mode", ["password", "token"])
def test_another_users_webdav_drive_is_404_for_every_method_and_changes_nothing(world, mode):
    app, alice, bob = world
    before = snapshot(app, alice), snapshot(app, bob)
    client = app.test_client()
    headers = basic_auth("bob", PASSWORD if mode == "password" else bob.token_secret)
    failures = []
    for path in dav_paths(alice):
        for method in DAV_METHODS:
            extra = {"Depth": "1", "Destination": "http://localhost/dav/bob/taken.txt", "Overwrite": "T",
                     "Lock-Token": "<opaquelocktoken:0x1>"}
            body = {"PUT": b"pwned", "LOCK": LOCK_BODY, "PROPPATCH": PROPPATCH_BODY}.get(method)
            response = closed(client.open(path, method=method, headers={**headers, **extra}, data=body))
            if response.status_code != 404 or b"alice" in response.get_data() and method != "OPTIONS":
                failures.append(f"{method} {path}: {response.status_code}")
    # From bob's own drive into alice's: the destination is not his.
    for method in ("COPY", "MOVE"):
        for destination in ("/dav/alice/planted.txt", "/dav/alice/report.txt", "/dav/alice/Projects/x.txt"):
            response = closed(client.open("/dav/bob/bob.txt", method=method,
                                          headers={**headers, "Destination": f"http://localhost{destination}"}))
            if 200 <= response.status_code < 300:
                failures.append(f"{method} /dav/bob/bob.txt -> {destination}: {response.status_code}")
    listing = closed(client.open("/dav/", method="PROPFIND", headers={**headers, "Depth": "1"}))
    assert listing.status_code == 207 and b"alice" not in listing.get_data()
    assert not failures, "another user's WebDAV paths answer:\n" + "\n".join(failures)
    assert (snapshot(app, alice), snapshot(app, bob)) == before


SHARED_DAV = "/dav/Shared%20with%20me"
DAV_READS = ("GET", "HEAD", "PROPFIND", "OPTIONS")


def shared_dav_paths() -> tuple[list[str], list[str]]:
    """What bob can name through /dav/Shared with me/: alice's Projects and what is inside it
    (any case, real and missing), and her items outside it by every name they might have there."""
    inside = [SHARED_DAV + "/Projects", SHARED_DAV + "/projects/", SHARED_DAV + "/Projects/Sub/inner.txt",
              SHARED_DAV + "/PROJECTS/sub/INNER.TXT", SHARED_DAV + "/Projects/new.txt",
              SHARED_DAV + "/Projects/Sub/new-folder", SHARED_DAV + "/Projects/report.txt",
              SHARED_DAV + "/Projects/old.txt"]
    outside = [SHARED_DAV + "/report.txt", SHARED_DAV + "/old.txt", SHARED_DAV + "/Sub", SHARED_DAV + "/inner.txt",
               SHARED_DAV + "/alice", SHARED_DAV + "/alice/report.txt", SHARED_DAV + "/Sub/inner.txt"]
    return inside, outside


def never_shared(path: str) -> str:
    """The same path with names nobody shared, as deep and spelt alike (a trailing slash kept)."""
    rest = path[len(SHARED_DAV):].strip("/").split("/")
    return SHARED_DAV + "/" + "/".join(f"nothing{n}" for n in range(len(rest))) + ("/" if path.endswith("/") else "")


@pytest.mark.parametrize("role", [None, "revoked", "viewer", "editor"])
def test_webdav_through_shares_opens_only_what_a_grant_does(world, role):
    """Through /dav/Shared with me/, bob reaches what a grant on alice's Projects opens and
    nothing else: without one (never given, or revoked) every path there answers as a name
    nobody shared does; with one, her items outside Projects still do, and a viewer's writes
    inside are refused. Nothing of alice's or bob's changes."""
    app, alice, bob = world
    grant(app, alice, role)
    before = snapshot(app, alice), snapshot(app, bob)
    client = app.test_client()
    headers = basic_auth("bob", bob.token_secret)
    inside, outside = shared_dav_paths()
    walked = outside if role in ("viewer", "editor") else inside + outside
    failures = []

    def ask(path, method):
        extra = {"Depth": "1", "Destination": f"http://localhost{SHARED_DAV}/Projects/dropped.txt", "Overwrite": "T",
                 "Lock-Token": "<opaquelocktoken:0x1>"}
        body = {"PUT": b"pwned", "LOCK": LOCK_BODY, "PROPPATCH": PROPPATCH_BODY}.get(method)
        return closed(client.open(path, method=method, headers={**headers, **extra}, data=body))

    for path in walked:
        for method in DAV_METHODS:
            response, never = ask(path, method), ask(never_shared(path), method)
            body = response.get_data()
            asked = {path, unquote(path)}
            for spelling in sorted(asked | {a[len("/dav"):] for a in asked} | {a.rstrip("/") for a in asked}, key=len,
                                   reverse=True):
                body = body.replace(spelling.encode(), b"")  # the answer may repeat what was asked
            leaked = any(word in body for word in (b"alice", b"inner", b"report"))
            if response.status_code != never.status_code or leaked or (
                    200 <= response.status_code < 300 and method != "OPTIONS"):
                failures.append(f"{method} {path}: {response.status_code} (a name nobody shared: {never.status_code})")
    if role == "viewer":
        for path in inside:
            for method in DAV_METHODS:
                response = ask(path, method)
                if method not in DAV_READS and 200 <= response.status_code < 300:
                    failures.append(f"viewer {method} {path}: {response.status_code}")
    listing = closed(client.open(SHARED_DAV + "/", method="PROPFIND", headers={**headers, "Depth": "1"}))
    listed = [h.text for h in ElementTree.fromstring(listing.get_data()).iter("{DAV:}href")]
    expected = [SHARED_DAV + "/"] + ([SHARED_DAV + "/Projects/"] if role in ("viewer", "editor") else [])
    assert sorted(listed) == sorted(expected)
    assert not failures, "WebDAV through shares reaches too far:\n" + "\n".join(failures)
    assert (snapshot(app, alice), snapshot(app, bob)) == before


def test_a_logged_in_browser_cookie_opens_no_webdav_path(world):
    """The session cookie is never read under /dav: alice's own browser gets a 401 there."""
    app, alice, _bob = world
    for method in DAV_METHODS:
        response = closed(alice.client.open("/dav/alice/report.txt", method=method, data=b"x" if method == "PUT" else None))
        assert response.status_code == 401, method


# -- public links: /s/<token> takes a link token, not an owned id ---------------------------------

def public_rules(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith(PUBLIC_PREFIX):
            for method in sorted(rule.methods - IGNORED_METHODS):
                yield rule, method


def call_public(client, rule, method, values):
    url = rule.build(values, append_unknown=False)[1]
    if method == "GET":
        return closed(client.get(url))
    return closed(client.open(url, method=method, json={"password": "guess"}))


@mongo_only
def test_unknown_revoked_expired_and_malformed_link_tokens_are_404_everywhere(world):
    app, alice, _ = world
    c, a = alice.client, alice.ids
    revoked_id, revoked = make_share(c, a["report"])
    assert c.delete(f"/api/shares/{revoked_id}").status_code == 204
    expired_id, expired = make_share(c, a["projects"])
    app.extensions["drive_db"].collection("shares").update_one(
        {"_id": ObjectId(expired_id)}, {"$set": {"expires_at": datetime.now(timezone.utc) - timedelta(seconds=1)}})
    _, used_up = make_share(c, a["report"], max_downloads=1)
    assert closed(app.test_client().get(f"/s/{used_up}/download")).status_code == 200
    gone_file = put(c, "gone.txt", b"soon trashed")
    _, of_trashed = make_share(c, gone_file)
    assert c.delete(f"/api/files/{gone_file}").status_code == 204
    tokens = {"unknown": secrets.token_urlsafe(24), "revoked": revoked, "expired": expired, "used up": used_up,
              "item trashed": of_trashed, "share id": a["file_share"], "short": "x", "dots": "..",
              "long": "a" * 5000, "encoded": "%2e%2e%2f", "alice's file id": a["report"]}
    stranger = app.test_client()
    failures, walked = [], set()
    for rule, method in public_rules(app):
        walked.add(rule.endpoint)
        for label, token in tokens.items():
            response = call_public(stranger, rule, method, {"token": token, "file_id": a["inner"]})
            code = (response.get_json(silent=True) or {}).get("error", {}).get("code")
            if response.status_code != 404 or code not in ("share_not_found", "not_found"):
                failures.append(f"{method} {rule.rule} with {label} token: {response.status_code} {code}")
    assert not failures, "\n".join(failures)
    assert {"public.share_info", "public.download", "public.download_file_in_folder", "public.unlock"} <= walked
    # The live links still work: nothing above spent or broke them.
    assert closed(stranger.get(f"/s/{alice.share_tokens['file']}/download")).status_code == 200
    assert closed(stranger.get(f"/s/{alice.share_tokens['folder']}/files/{a['inner']}")).status_code == 200


def test_a_live_link_reaches_nothing_outside_what_it_shares(world):
    app, alice, bob = world
    a, b = alice.ids, bob.ids
    folder_link, file_link = alice.share_tokens["folder"], alice.share_tokens["file"]
    hidden = mkdir(alice.client, "Hidden", a["projects"])
    in_hidden = put(alice.client, "in-hidden.txt", b"trashed with its folder", hidden)
    assert alice.client.delete(f"/api/folders/{hidden}").status_code == 204
    stranger = app.test_client()
    outside = [
        f"/s/{folder_link}/files/{in_hidden}",         # inside the shared folder, but in the trash
        f"/s/{folder_link}/items?folder_id={hidden}",
        f"/s/{folder_link}/zip?folder_id={hidden}",
        f"/s/{folder_link}/files/{a['report']}",       # alice's file outside the shared folder
        f"/s/{folder_link}/files/{a['old']}",          # alice's trashed file
        f"/s/{folder_link}/files/{a['sub']}",          # a folder is not a file
        f"/s/{folder_link}/files/{b['file']}",         # another user's file
        f"/s/{folder_link}/files/{a['versions'][0]}",  # a version id
        f"/s/{folder_link}/items?folder_id={a['binned']}",
        f"/s/{folder_link}/items?folder_id={b['folder']}",
        f"/s/{folder_link}/zip?folder_id={b['folder']}",
        f"/s/{folder_link}/zip?folder_id={a['binned']}",
        f"/s/{file_link}/files/{a['inner']}",
        f"/s/{file_link}/items",
        f"/s/{file_link}/zip",
    ]
    failures = []
    for path in outside:
        response = closed(stranger.get(path))
        if response.status_code != 404:
            failures.append(f"{path}: {response.status_code}")
    assert not failures, "\n".join(failures)
    assert closed(stranger.get(f"/s/{folder_link}/files/{a['inner']}")).get_data() == b"alice inner"

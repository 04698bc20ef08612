"""Headers everywhere: every response the app produces, errors included, carries
``X-Content-Type-Options: nosniff``, a Content-Security-Policy and a deliberate Cache-Control.

A user's story calls every route of the URL map with real ids and bodies (each must answer its
real 2xx or 3xx; a new route fails the walk until the story calls it), once with the session
cookie and once with a Bearer token (which must never set, refresh or delete a cookie). Then
every rule is called anonymously with unknown ids and a method it does not allow, every static
file is fetched, and every error status the app emits is provoked. Gunicorn's own 400/414/431
pages, sent before the app runs, are the documented exception.

Previews: PDFs are download-only (Chromium does not render a PDF under a CSP ``sandbox``), and
every preview the server still gives is sandboxed.
"""
from __future__ import annotations

import base64
import io
import time
import json
import mimetypes
import os
import re

import pyotp
import pytest
import requests
from PIL import Image
from pymongo.errors import ServerSelectionTimeoutError

from app.http import PREVIEW_TYPES
from app.services import services
from tests.smtp_server import capture_mail
from tests.conftest import AuthActions, multipart_body, upload
from tests.test_security_isolation import PASSWORD, bearer, closed, make_share, make_token, mkdir, put
from tests.test_web_ui import browser, page, row, sign_up  # noqa: F401  (Chromium fixtures, helpers)

IGNORED_METHODS = {"HEAD", "OPTIONS"}
UNKNOWN_ID = "0123456789abcdef01234567"
APP_JS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app", "static", "js", "preview.js")


# -- what every response must carry ----------------------------------------------------------------

def static_folders(app) -> dict[str, str]:
    """Endpoint → folder of every static route: the app's and each blueprint's."""
    folders = {"static": app.static_folder}
    folders.update({f"{name}.static": bp.static_folder for name, bp in app.blueprints.items() if bp.static_folder})
    return folders


def endpoint_of(app, method: str, url: str) -> str | None:
    try:
        endpoint, _ = app.url_map.bind("localhost").match(url.split("?", 1)[0], method=method)
    except Exception:  # not found, wrong method, redirect
        return None
    return endpoint


def assert_protected(app, method: str, url: str, response) -> None:
    """nosniff, a CSP that keeps other sites from framing, and a Cache-Control chosen on purpose:
    ``no-store`` for anything private (every JSON answer), ``private`` for a user's bytes,
    ``no-cache`` (revalidate, nothing private) only for static files and the web app's shell."""
    where = f"{method} {url} → {response.status_code}"
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    policy = headers.get("Content-Security-Policy", "")
    assert "default-src" in policy, f"{where}: CSP {policy!r}"
    if response.mimetype != "text/html":
        assert "default-src 'none'" in policy, f"{where}: a {response.mimetype} answer runs nothing: {policy!r}"
    assert "frame-ancestors" in policy or headers.get("X-Frame-Options") in ("DENY", "SAMEORIGIN"), where
    cache = {d.strip().split("=")[0].lower() for d in headers.get("Cache-Control", "").split(",") if d.strip()}
    if response.mimetype == "application/json":
        assert "no-store" in cache, f"{where}: Cache-Control {headers.get('Cache-Control')!r}"
    public_asset = endpoint_of(app, method, url) in {*static_folders(app), "web.index"}
    assert cache & {"no-store", "private"} or (public_asset and "no-cache" in cache), \
        f"{where}: Cache-Control {headers.get('Cache-Control')!r}"
    assert "public" not in cache, where


def fetch(app, client, method: str, url: str, **kwargs):
    response = closed(client.open(url, method=method, **kwargs))
    assert_protected(app, method, url, response)
    return response


# -- a user's whole story, touching every route ------------------------------------------------------

def build_world(client, username: str) -> dict:
    """Everything the story needs, each destructive call with its own victim."""
    AuthActions(client).signup(username, PASSWORD)
    w = {"projects": mkdir(client, "Projects")}
    w["sub"] = mkdir(client, "Sub", w["projects"])
    w["inner"] = put(client, "inner.txt", b"inner", w["projects"])
    w["report"] = put(client, "report.txt", b"v1")
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(picture, "PNG")
    w["picture"] = upload(client, ("picture.png", picture.getvalue(), "image/png")).get_json()["files"][0]["id"]
    put(client, "report.txt", b"v2", on_conflict="replace")
    put(client, "report.txt", b"v3", on_conflict="replace")
    w["versions"] = [v["id"] for v in client.get(f"/api/files/{w['report']}/versions").get_json()["versions"]]
    w["seed_file"] = "seed.txt"
    put(client, w["seed_file"], b"seed")
    w["doomed_file"] = put(client, "doomed.txt", b"doomed")
    w["doomed_folder"] = mkdir(client, "Doomed")
    for key in ("restorable", "forgettable"):
        w[key] = put(client, f"{key}.txt", b"binned")
        assert client.delete(f"/api/files/{w[key]}").status_code == 204
    w["share"], w["file_token"] = make_share(client, w["report"])
    _, w["folder_token"] = make_share(client, w["projects"])
    _, w["locked_token"] = make_share(client, w["inner"], password="link password")
    w["doomed_share"], _ = make_share(client, w["inner"])
    _, w["drop_token"] = make_share(client, w["projects"], mode="upload")
    w["doomed_token"], _ = make_token(client)
    _, w["secret"] = make_token(client)
    w["upload"], w["doomed_upload"] = (tus_create(client, f"{name}.bin", 6) for name in ("resumed", "cancelled"))
    # The user administers the server: other accounts to change and delete, an invitation, a session.
    me = client.get("/api/me").get_json()["id"]
    client.application.extensions["drive_services"].auth.users.update(me, {"role": "admin"})
    for key in ("member", "doomed_user", "recovering"):
        made = client.post("/api/register", json={"username": f"{username}-{key}", "password": PASSWORD})
        assert made.status_code == 201, made.get_json()
        w[key] = made.get_json()["id"]
    w["invite"] = client.post("/api/admin/invites", json={}).get_json()["invite"]["id"]
    elsewhere = client.application.test_client()
    AuthActions(elsewhere).login(username, PASSWORD)
    w["other_session"] = next(s["id"] for s in client.get("/api/me/sessions").get_json()["sessions"]
                              if not s["current"])
    w["totp"] = pyotp.TOTP(client.post("/api/me/2fa/setup", json={"password": PASSWORD}).get_json()["secret"])
    # Emailed links for the member (a reset, then an address to confirm), caught in an outbox.
    recovery = client.application.extensions["drive_services"].recovery
    outbox = capture_mail(client.application)
    recovering = recovery.users.set_email(w["recovering"], f"{username}-recovering@example.org")
    recovery.send_reset(recovering["email"])  # what POST /api/password/forgot does in the background
    w["reset_link"] = outbox.last_link("reset")
    member = recovery.users.get(w["member"])
    recovery.request_email_change(member, f"{username}-member@example.net")
    w["verify_link"] = outbox.last_link("verify-email")
    return w


TUS = {"Tus-Resumable": "1.0.0"}


def tus_create(client, name: str, length: int) -> str:
    """A resumable upload (tus creation): its URL."""
    encoded = base64.b64encode(name.encode()).decode()
    response = client.post("/api/tus/", headers={**TUS, "Upload-Length": str(length),
                                                 "Upload-Metadata": f"filename {encoded}"})
    assert response.status_code == 201, response.get_json()
    return response.headers["Location"].removeprefix("http://localhost")


def story(app, w: dict, username: str) -> list[tuple[str, str, dict]]:
    """(method, url, request kwargs) in an order where each call can succeed."""
    def multipart(name):
        body, content_type = multipart_body([("file", name, b"new", "text/plain")])
        return {"data": body, "content_type": content_type}
    html = {"headers": {"Accept": "text/html"}}
    key = f"key={w['secret']}"
    f, d, p, s = f"/api/files/{w['report']}", f"/api/folders/{w['projects']}", w["folder_token"], f"/api/shares/{w['share']}"
    va, vb = w["versions"]
    calls = [
        ("GET", "/api/me", {}), ("GET", "/api/me/usage", {}), ("GET", "/api/files", {}), ("GET", f, {}),
        ("GET", f"{f}/info", {}), ("GET", f"{f}/preview", {}), ("GET", f"/api/files/{w['picture']}/thumbnail", {}), ("GET", f"{f}/versions", {}),
        ("GET", f"{f}/versions/{va}", {}), ("GET", "/api/folders/tree", {}), ("GET", d, {}),
        ("GET", f"{d}/children", {}), ("GET", f"{d}/path", {}), ("GET", "/api/search?q=report", {}),
        ("GET", "/api/starred", {}), ("GET", "/api/shares", {}), ("GET", s, {}), ("GET", "/api/tokens", {}),
        ("GET", "/api/trash", {}), ("GET", f"{d}/zip", {}),
        ("POST", "/api/zip", {"json": {"ids": [w["report"], w["sub"]]}}),
        ("GET", f"/s/{w['file_token']}", {}), ("GET", f"/s/{w['file_token']}", html), ("GET", f"/s/{p}", html),
        ("GET", f"/s/{p}?folder_id={w['sub']}", html), ("GET", f"/s/{w['locked_token']}", html),
        ("POST", f"/s/{w['locked_token']}/unlock", {"json": {"password": "link password"}}),
        ("POST", f"/s/{w['locked_token']}/unlock", {"data": {"password": "link password"}}),
        ("GET", f"/s/{w['file_token']}/download", {}), ("GET", f"/s/{p}/items", {}),
        ("GET", f"/s/{p}/files/{w['inner']}", {}), ("GET", f"/s/{p}/zip", {}),
        ("GET", f"/s/{w['drop_token']}", html), ("POST", f"/s/{w['drop_token']}/upload", multipart("dropped.txt")),
        ("GET", f"/list?{key}", {}), ("GET", f"/download/{w['seed_file']}?{key}", {}),
        ("POST", f"/upload?{key}", multipart("seed-new.txt")), ("DELETE", f"/delete/{w['seed_file']}?{key}", {}),
        ("POST", "/api/upload", multipart("new.txt")),
        ("POST", "/api/tus/", {"headers": {**TUS, "Upload-Length": "3", "Upload-Metadata": "filename dHVzLnR4dA=="}}),
        ("PATCH", w["upload"], {"data": b"abcdef", "content_type": "application/offset+octet-stream",
                                "headers": {**TUS, "Upload-Offset": "0"}}),
        ("DELETE", w["doomed_upload"], {"headers": TUS}), ("POST", "/api/folders", {"json": {"name": "New folder"}}),
        ("PATCH", f, {"json": {"name": "renamed.txt"}}), ("POST", f"{f}/copy", {"json": {"parent_id": w["sub"]}}),
        ("PUT", f"{f}/star", {}), ("DELETE", f"{f}/star", {}), ("POST", f"{f}/versions/{va}/restore", {}),
        ("DELETE", f"{f}/versions/{vb}", {}), ("DELETE", f"/api/files/{w['doomed_file']}", {}),
        ("PATCH", d, {"json": {"name": "Projects 2"}}), ("POST", f"{d}/copy", {"json": {}}),
        ("PUT", f"{d}/star", {}), ("DELETE", f"{d}/star", {}), ("DELETE", f"/api/folders/{w['doomed_folder']}", {}),
        ("POST", "/api/items/bulk", {"json": {"action": "star", "ids": [w["report"], w["sub"]]}}),
        ("POST", "/api/shares", {"json": {"item_id": w["inner"]}}), ("PATCH", s, {"json": {"label": "renamed"}}),
        ("DELETE", f"/api/shares/{w['doomed_share']}", {}),
        ("POST", "/api/tokens", {"json": {"name": "another", "scope": "read"}}),
        ("DELETE", f"/api/tokens/{w['doomed_token']}", {}),
        ("POST", f"/api/trash/{w['restorable']}/restore", {}), ("DELETE", f"/api/trash/{w['forgettable']}", {}),
        ("DELETE", "/api/trash", {}),
        ("POST", f"/api/items/{w['sub']}/members", {"json": {"username": f"{username}-member", "role": "viewer"}}),
        ("GET", f"/api/items/{w['sub']}/members", {}),
        ("PATCH", f"/api/items/{w['sub']}/members/{username}-member", {"json": {"role": "editor"}}),
        ("DELETE", f"/api/items/{w['sub']}/members/{username}-member", {}), ("GET", "/api/shared-with-me", {}),
        ("GET", "/api/admin/users", {}), ("GET", f"/api/admin/users/{w['member']}", {}),
        ("POST", "/api/admin/users", {"json": {"username": f"{username}-made", "password": PASSWORD}}),
        ("PATCH", f"/api/admin/users/{w['member']}", {"json": {"quota_bytes": 1000}}),
        ("POST", f"/api/admin/users/{w['member']}/password", {"json": {"password": "another password"}}),
        ("DELETE", f"/api/admin/users/{w['doomed_user']}", {"json": {"confirm": f"{username}-doomed_user"}}),
        ("POST", "/api/admin/invites", {"json": {"note": "a friend"}}), ("GET", "/api/admin/invites", {}),
        ("DELETE", f"/api/admin/invites/{w['invite']}", {}),
        ("GET", "/api/me/export", {}), ("GET", "/api/me/activity", {}), ("GET", f"{s}/activity", {}),
        ("GET", "/api/admin/events?action=login", {}),
        ("GET", "/api/me/sessions", {}), ("DELETE", f"/api/me/sessions/{w['other_session']}", {}),
        ("POST", "/api/me/password", {"json": {"current_password": PASSWORD, "new_password": PASSWORD}}),
        ("POST", "/api/me/email", {"json": {"email": f"{username}@example.org", "password": PASSWORD}}),
        ("DELETE", "/api/me/email", {"json": {"password": PASSWORD}}),
        ("DELETE", "/api/me/sessions", {}),
        ("POST", "/api/password/reset", {"json": {"token": w["reset_link"], "new_password": PASSWORD}}),
        ("POST", "/api/email/verify", {"json": {"token": w["verify_link"]}}),
        ("POST", "/api/password/forgot", {"json": {"email": f"{username}-member@example.net"}}),
        ("POST", "/api/register", {"json": {"username": f"{username}-2", "password": PASSWORD}}),
        ("POST", "/api/login", {"json": {"username": f"{username}-2", "password": PASSWORD}}),
        ("DELETE", "/api/me", {"json": {"password": PASSWORD}}),
        ("POST", "/api/login", {"json": {"username": username, "password": PASSWORD}}),
    ]
    # Two-factor login, last: on, a login in two steps, off, and a new setup.
    now = time.time()
    if now % 30 > 25:
        time.sleep(30 - now % 30 + 0.1)
        now = time.time()
    totp = w["totp"]
    calls += [
        ("POST", "/api/me/2fa/enable", {"json": {"code": totp.at(now - 30)}}),
        ("POST", "/api/logout", {}),
        ("POST", "/api/login", {"json": {"username": username, "password": PASSWORD}, "expect": 401}),
        ("POST", "/api/login/2fa", {"json": {"code": totp.at(now)}}),
        ("POST", "/api/me/2fa/disable", {"json": {"password": PASSWORD, "code": totp.at(now + 30)}}),
        ("POST", "/api/me/2fa/setup", {"json": {"password": PASSWORD}}),
        ("POST", "/api/logout", {}),
    ]
    # First the pages and documents without arguments (the web app, the API docs), last static files.
    called = {endpoint_of(app, method, url) for method, url, _ in calls}
    pages = [("GET", rule.rule, {}) for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and not rule.arguments and rule.endpoint not in called]
    return pages + calls + [("GET", url, {}) for url in static_urls(app, first_only=True)]


def static_urls(app, first_only: bool = False):
    """The URL of every file of every static route (or of the first file of each)."""
    urls = app.url_map.bind("localhost")
    for endpoint, folder in static_folders(app).items():
        for root, _, names in sorted(os.walk(folder)):
            for name in sorted(names):
                filename = os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")
                yield urls.build(endpoint, {"filename": filename})
                if first_only:
                    break
            else:
                continue
            break


def test_the_story_calls_every_route(app, client):
    """A new route fails here until the story gives it a real request."""
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules() for method in rule.methods - IGNORED_METHODS}
    called = {(endpoint_of(app, method, url), method) for method, url, _ in story(app, build_world(client, "alice"),
                                                                                   "alice")}
    assert routes <= called, f"routes the header walk never calls: {sorted(routes - called)}"


def test_every_route_answers_with_the_three_headers(app, client):
    world = build_world(client, "alice")
    url = f"/api/files/{world['report']}"
    etag = fetch(app, client, "GET", url).headers["ETag"]
    assert fetch(app, client, "GET", url, headers={"If-None-Match": etag}).status_code == 304
    assert fetch(app, client, "HEAD", url).status_code == 200
    for method, url, kwargs in story(app, world, "alice"):
        expected = kwargs.pop("expect", None)  # a step whose right answer is an error (a login's first half)
        response = fetch(app, client, method, url, **kwargs)
        assert response.status_code < 400 if expected is None else response.status_code == expected, (
            method, url, response.status_code, response.get_data()[:200])


def test_a_bearer_request_never_touches_a_cookie(app, client):
    """The same story with a token (and the session and a Flask-Login remember cookie sent along,
    as a browser-based script might): no response sets, refreshes or deletes a cookie, and
    logging out with the token leaves the browser session logged in."""
    world = build_world(client, "bob")
    client.set_cookie("remember_token", "left over from somewhere")
    token = bearer(world["secret"])
    for method, url, kwargs in story(app, world, "bob"):
        kwargs.pop("expect", None)
        headers = {**kwargs.pop("headers", {}), **token}
        response = fetch(app, client, method, url, headers=headers, **kwargs)
        assert "Set-Cookie" not in response.headers, (method, url, response.headers["Set-Cookie"])
        if url.startswith(("/api/tokens", "/api/me/sessions", "/api/me/password", "/api/me/2fa", "/api/me/email")) or \
                (method, url) == ("DELETE", "/api/me"):
            assert response.status_code == 403  # credentials are managed with a password session
        elif url == "/api/login/2fa":
            assert response.status_code == 401  # no login waits for a code in a stateless request
        else:
            assert response.status_code < 400, (method, url, response.status_code, response.get_data()[:200])
    assert client.get("/api/me").status_code == 200


def test_logging_out_with_a_token_sends_no_cookie(client, auth):
    auth.signup()
    _, secret = make_token(client)
    response = client.application.test_client().post("/api/logout", headers=bearer(secret))
    assert response.status_code == 204
    assert "Set-Cookie" not in response.headers
    # A token with a cookie from another browser (Flask-Login's session protection) still works, cookie untouched.
    response = client.get("/api/me", headers={**bearer(secret), "User-Agent": "another browser"})
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    response = client.post("/api/logout", headers=bearer(secret))
    assert response.status_code == 204 and "Set-Cookie" not in response.headers
    assert client.get("/api/me").status_code == 200


def test_every_rule_answers_strangers_and_wrong_methods_with_the_three_headers(app, client):
    statuses = set()
    for rule in app.url_map.iter_rules():
        values = {name: "missing.txt" if name == "filename" else UNKNOWN_ID for name in rule.arguments}
        url = app.url_map.bind("localhost").build(rule.endpoint, values)
        wrong = next(m for m in ("PATCH", "PUT", "DELETE", "POST") if m not in rule.methods)
        for method in sorted(rule.methods | {wrong}):
            statuses.add(fetch(app, client, method, url).status_code)
    assert {401, 404, 405} <= statuses, statuses


def test_every_static_file_has_the_three_headers(app, client):
    for url in static_urls(app):
        assert fetch(app, client, "GET", url).status_code == 200, url


# -- every error status the app emits ---------------------------------------------------------------

@pytest.fixture
def alice(app, client, auth):
    auth.signup()
    return client


def database_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connection refused")
    import mongomock
    monkeypatch.setattr(mongomock.collection.Collection, "find_one", refuse)


def crash(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")
    monkeypatch.setattr(type(services().search), "usage", broken)


def over_quota(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    upload(client, ("big.bin", b"x" * app.config["USER_QUOTA_BYTES"]))
    return upload(client, ("more.bin", b"y"))


def one_too_many_logins(app):
    stranger = app.test_client()
    for _ in range(10):
        stranger.post("/api/login", json={"username": "alice", "password": "wrong password"})
    return stranger.post("/api/login", json={"username": "alice", "password": "wrong password"})


ERRORS = {
    "400 malformed JSON": (400, lambda app, c, mp: c.post("/api/folders", data="{", content_type="application/json")),
    "401 not logged in": (401, lambda app, c, mp: app.test_client().get("/api/me")),
    "403 cross-site write": (403, lambda app, c, mp: c.post("/api/folders", json={"name": "x"},
                                                           headers={"Origin": "https://evil.example"})),
    "404 unknown /api path": (404, lambda app, c, mp: c.get("/api/nothing-here")),
    "404 unknown path": (404, lambda app, c, mp: c.get("/nothing-here")),
    "404 unknown static file": (404, lambda app, c, mp: c.get("/static/nothing.js")),
    "404 unknown file id": (404, lambda app, c, mp: c.get(f"/api/files/{UNKNOWN_ID}")),
    "404 unknown link, as a page": (404, lambda app, c, mp: c.get("/s/nothing", headers={"Accept": "text/html"})),
    "405 /api": (405, lambda app, c, mp: c.put("/api/me")),
    "405 elsewhere": (405, lambda app, c, mp: c.put("/status")),
    "409 name taken": (409, lambda app, c, mp: [c.post("/api/folders", json={"name": "Twice"}) for _ in "12"][1]),
    "413 upload too large": (413, lambda app, c, mp: upload(c, ("big.bin", b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)))),
    "413 before the view": (413, lambda app, c, mp: c.post("/api/login", data=json.dumps({"pad": "x" * 600_000}),
                                                          content_type="application/json")),
    "415 PDF preview": (415, lambda app, c, mp: c.get(f"/api/files/{pdf_id(c)}/preview")),
    "416 range": (416, lambda app, c, mp: c.get(f"/api/files/{pdf_id(c)}", headers={"Range": "bytes=9999-"})),
    "429 login throttled": (429, lambda app, c, mp: one_too_many_logins(app)),
    "500 a bug": (500, lambda app, c, mp: crash(mp) or c.get("/api/me")),
    "503 database down": (503, lambda app, c, mp: database_down(mp) or c.get("/api/me")),
    "507 quota": (507, lambda app, c, mp: over_quota(app, c)),
}


def pdf_id(client) -> str:
    return upload(client, ("doc.pdf", b"%PDF-1.4 tiny", "application/pdf")).get_json()["files"][0]["id"]


@pytest.mark.parametrize("case", list(ERRORS))
def test_every_error_status_has_the_three_headers(app, alice, monkeypatch, case):
    status, provoke = ERRORS[case]
    with app.app_context():
        response = closed(provoke(app, alice, monkeypatch))
    assert response.status_code == status, response.get_data()[:300]
    assert response.mimetype == "text/html" or response.get_json()["error"]["code"]
    assert_protected(app, response.request.method, response.request.path, response)


# -- previews ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", sorted(PREVIEW_TYPES) + ["audio/mpeg", "video/mp4"])
def test_every_preview_is_sandboxed(app, alice, content_type):
    name = "sample" + (mimetypes.guess_extension(content_type) or ".bin")
    record = upload(alice, (name, b"sample bytes", content_type)).get_json()["files"][0]
    assert record["content_type"] == content_type
    response = fetch(app, alice, "GET", f"/api/files/{record['id']}/preview")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "inline"
    policy = [d.strip() for d in response.headers["Content-Security-Policy"].split(";")]
    assert "sandbox" in policy and "default-src 'none'" in policy
    assert response.headers["Cache-Control"] == "private, no-cache"


def test_a_pdf_is_download_only(app, alice):
    file_id = pdf_id(alice)
    response = fetch(app, alice, "GET", f"/api/files/{file_id}/preview")
    assert response.status_code == 415 and response.get_json()["error"]["code"] == "preview_unavailable"
    download = fetch(app, alice, "GET", f"/api/files/{file_id}")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in download.headers["Content-Security-Policy"]


def test_the_web_app_previews_exactly_what_the_server_previews():
    with open(APP_JS, encoding="utf-8") as fh:
        source = fh.read()
    # Images go through /preview (served inline); text is read from the download and drawn as text.
    listed = re.search(r"const INLINE_IMAGES = \[([^\]]*)\]", source).group(1)
    assert set(re.findall(r'"([^"]+)"', listed)) == {t for t in PREVIEW_TYPES if t.startswith("image/")}


@pytest.mark.e2e
def test_clicking_a_pdf_in_the_browser_downloads_it(page, server, tmp_path):
    sign_up(page, server, "grace")
    doc = tmp_path / "minutes.pdf"
    doc.write_bytes(b"%PDF-1.4\n%minutes\n")
    page.set_input_files(".file-input", [str(doc)])
    with page.expect_download() as download:
        row(page, "minutes.pdf").get_by_role("button", name="minutes.pdf", exact=True).click()
    assert download.value.suggested_filename == "minutes.pdf"
    assert page.locator("dialog .preview").count() == 0
    for path in ("/static/js/main.js", "/nothing-here", "/api/status"):  # the same through Gunicorn
        response = requests.get(server.base_url + path, timeout=10)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'"), path
        assert response.headers["Cache-Control"] in ("no-store", "no-cache"), path


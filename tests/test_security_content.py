"""User bytes never run as script in our origin.

HTML, SVG, JavaScript (and XHTML/XML) uploads download as attachments with ``nosniff`` and a
sandboxing CSP. Then every GET route of the URL map is called with ids of such files (a new
GET route taking an argument fails the walk until it is given a value here), and any answer
that carries the uploaded bytes must be an attachment, or inline only as a type that cannot
run script, always with ``nosniff`` and a sandbox.
"""
from __future__ import annotations

import pytest

from tests.conftest import upload
from tests.test_security_isolation import closed

MARKER = b"u53r-byt35-m4rk3r"
PAYLOADS = {
    "html": b"<!doctype html><html><body><script>alert('" + MARKER + b"')</script></body></html>",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><text>' + MARKER + b"</text></svg>",
    "js": b"alert('" + MARKER + b"'); document.cookie;",
    "xhtml": b'<html xmlns="http://www.w3.org/1999/xhtml"><script>alert("' + MARKER + b'")</script></html>',
}
# (name, declared Content-Type, payload): declared honestly, declared vaguely (the type is then
# guessed from the name), declared in odd spellings, and script bytes under harmless names.
UPLOADS = [
    ("page.html", "text/html", "html"),
    ("page.htm", "application/octet-stream", "html"),
    ("upper.html", "Text/HTML; charset=UTF-8", "html"),
    ("drawing.svg", "image/svg+xml", "svg"),
    ("guessed.svg", "application/octet-stream", "svg"),
    ("app.js", "application/javascript", "js"),
    ("module.mjs", "text/javascript", "js"),
    ("page.xhtml", "application/xhtml+xml", "xhtml"),
    ("feed.xml", "text/xml", "xhtml"),
    ("data.xml", "application/xml", "xhtml"),
    ("sneaky.txt", "text/plain", "html"),
    ("sneaky.png", "image/png", "svg"),
    ("noext", "text/html", "html"),
]
SCRIPT_TYPES = {"text/html", "image/svg+xml", "application/javascript", "text/javascript",
                "application/xhtml+xml", "text/xml", "application/xml", "application/ecmascript",
                "text/ecmascript", "multipart/x-mixed-replace"}
# What may be shown inline at all (the preview's list): none of these runs script.
INLINE_OK = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp",
             "text/plain", "audio/", "video/")
STATIC_ENDPOINTS = {"static", "flasgger.static"}
# Routes whose answers carry stored bytes; the walk must see the marker on each.
BYTE_ENDPOINTS = {"files.download", "files.download_version", "files.preview", "public.download",
                  "public.download_file_in_folder", "public.download_zip", "compat.download"}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/svg+xml,*/*;q=0.8"


def is_sandboxed(response) -> bool:
    policy = response.headers.get("Content-Security-Policy", "")
    return "default-src 'none'" in policy and "sandbox" in policy


@pytest.fixture
def hostile_files(app, client, auth):
    """Script-capable files (with an earlier version each), in the root and copied into a
    shared folder; a link to each root file; a seed-compatible key."""
    auth.signup()
    web = client.post("/api/folders", json={"name": "Web"}).get_json()["id"]
    files = []
    for name, declared, kind in UPLOADS:
        assert upload(client, (name, b"first " + PAYLOADS[kind], declared)).status_code == 201
        response = upload(client, (name, PAYLOADS[kind], declared), query="?on_conflict=replace")
        assert response.status_code == 201, response.get_json()
        record = response.get_json()["files"][0]
        [version] = client.get(f"/api/files/{record['id']}/versions").get_json()["versions"]
        copy = client.post(f"/api/files/{record['id']}/copy", json={"parent_id": web}).get_json()
        link = client.post("/api/shares", json={"item_id": record["id"]}).get_json()
        files.append({"record": record, "version_id": version["id"], "copy_id": copy["id"],
                      "file_token": link["token"], "share_id": link["share"]["id"]})
    folder_link = client.post("/api/shares", json={"item_id": web}).get_json()["token"]
    key = client.post("/api/tokens", json={"name": "seed", "scope": "read"}).get_json()["secret"]
    return {"files": files, "web": web, "folder_token": folder_link, "key": key,
            "user_id": client.get("/api/me").get_json()["id"]}


@pytest.mark.parametrize("name, declared, kind", UPLOADS)
def test_script_capable_uploads_download_as_sandboxed_attachments(client, auth, name, declared, kind):
    auth.signup()
    record = upload(client, (name, PAYLOADS[kind], declared)).get_json()["files"][0]
    response = closed(client.get(f"/api/files/{record['id']}", headers={"Accept": BROWSER_ACCEPT}))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert is_sandboxed(response)
    preview = closed(client.get(f"/api/files/{record['id']}/preview"))
    if preview.status_code == 200:
        assert preview.mimetype not in SCRIPT_TYPES and preview.mimetype.startswith(INLINE_OK)
        assert preview.headers["X-Content-Type-Options"] == "nosniff" and is_sandboxed(preview)
    else:
        assert preview.status_code == 415 and preview.get_json()["error"]["code"] == "preview_unavailable"


def argument_values(rule, entry, world) -> dict | None:
    """Values for the rule's variables that point at this hostile file."""
    values = {}
    for name in rule.arguments:
        if name == "token":
            values[name] = entry["file_token"] if rule.endpoint == "public.download" else world["folder_token"]
        elif name == "file_id":
            values[name] = entry["copy_id"] if rule.rule.startswith("/s/") else entry["record"]["id"]
        elif name == "version_id":
            values[name] = entry["version_id"]
        elif name == "filename":
            values[name] = entry["record"]["name"]
        elif name == "folder_id":
            values[name] = world["web"]
        elif name == "share_id":
            values[name] = entry["share_id"]
        elif name == "item_id":
            values[name] = entry["record"]["id"]  # its members, as JSON: never bytes
        elif name == "token_id":
            return None  # no GET route takes it today; a new one gets a value in this function
        elif name == "user_id":
            values[name] = world["user_id"]  # an account as JSON (administrators only), never bytes
        else:
            raise AssertionError(f"GET {rule.rule} takes <{name}>, which this walk cannot fill")
    return values


def test_no_get_route_serves_user_bytes_as_something_a_browser_would_run(app, client, hostile_files):
    world = hostile_files
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint not in STATIC_ENDPOINTS]
    unfilled = [r.rule for r in rules for n in r.arguments
                if n not in ("token", "file_id", "version_id", "filename", "folder_id", "share_id", "user_id",
                             "item_id")]
    assert not unfilled, f"GET routes take arguments the walk cannot fill: {unfilled}"
    failures, carried = [], set()
    for rule in sorted(rules, key=lambda r: r.rule):
        for entry in world["files"] if rule.arguments else world["files"][:1]:
            values = argument_values(rule, entry, world)
            url = rule.build(values, append_unknown=False)[1]
            if rule.endpoint.startswith("compat."):
                url += f"?key={world['key']}"
            for headers in ({}, {"Accept": BROWSER_ACCEPT}, {"Accept": BROWSER_ACCEPT, "Range": "bytes=0-"}):
                response = closed(client.get(url, headers=headers))
                if MARKER not in response.get_data():
                    continue
                carried.add(rule.endpoint)
                label = f"GET {url} {headers}: {response.status_code} {response.content_type}"
                disposition = response.headers.get("Content-Disposition", "inline")
                if disposition.startswith("attachment"):
                    safe = True
                else:
                    safe = response.mimetype not in SCRIPT_TYPES and response.mimetype.startswith(INLINE_OK)
                if not safe:
                    failures.append(f"{label}: shown inline ({disposition})")
                if response.headers.get("X-Content-Type-Options") != "nosniff":
                    failures.append(f"{label}: no nosniff")
                if not is_sandboxed(response):
                    failures.append(f"{label}: CSP {response.headers.get('Content-Security-Policy')!r}")
    assert not failures, "\n".join(failures)
    assert BYTE_ENDPOINTS <= carried, f"the walk never got user bytes from {BYTE_ENDPOINTS - carried}"

"""Hostile names: traversal, absolute and Windows paths, NUL, encoded and overlong sequences,
reserved device names, huge names, CR/LF. Each is a clear 400 or stored safely as a display
name; nothing is written outside uploads/<user_id>/; Content-Disposition stays one clean header.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
import zipfile
from urllib.parse import quote, unquote

import pytest

# Sent as text (multipart filename, JSON name).
HOSTILE_NAMES = [
    "../../etc/passwd", "/etc/passwd", "..\\..\\windows\\win.ini", "C:\\x", "C:x.txt", "\\\\server\\share\\x",
    "a\x00b.txt", "\x00", "evil.txt\x00.html", "%2e%2e%2f", "%2e%2e%2fetc%2fpasswd", "..%2f..%2fetc%2fpasswd",
    "..%5c..%5cwindows", "%00.txt", "CON", "NUL.txt", "COM1", "LPT1", "aux.c", "CON.",
    "x" * 10_000, "é" * 200, "a\r\nb.txt", "a\nContent-Type: text/html", "a\rb", "name\r\n\r\n<script>",
    'evil"; filename="x.html', 'quote".txt', "semi;colon.txt", "..", "...", ". .", " ../x", "./x",
    "\u202egpj.exe", "tab\there", "a\u2028b.txt", "\ufeffbom.txt", "e\u0301.txt",
]
# Sent as bytes: overlong UTF-8 for '.', '/' and '\', and bytes that are not UTF-8 at all.
HOSTILE_BYTES = [b"\xc0\xae\xc0\xae/", b"\xc0\xae\xc0\xae", b"\xc0\xae\xc0\xae\xc0\xafetc\xc0\xafpasswd",
                 b"\xe0\x80\xae\xe0\x80\xae\xe0\x80\xaf", b"..\xc1\x9c..\xc1\x9cwin.ini", b"\xff\xfe.txt"]
CLEAR_400_CODES = {"invalid_name", "missing_file", "empty_file_part", "bad_request", "malformed_json",
                   "invalid_input"}
BLOB_NAME = re.compile(r"[0-9a-f]{32}")
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
# attachment; filename="<ascii, no quote or backslash>"; filename*=UTF-8''<percent-encoded>
DISPOSITION = re.compile(r"attachment; filename=\"([\x20-\x7e]*)\"; filename\*=UTF-8''([A-Za-z0-9%._~-]+)")


# -- helpers --------------------------------------------------------------------------------------

def disposition_value(name: str | bytes, style: str) -> bytes:
    """A part's Content-Disposition: the name raw (as browsers and curl send it, quotes and
    backslashes escaped as in conftest.multipart_body) or RFC 2231 ``filename*=UTF-8''...``."""
    raw = name.encode("utf-8", "surrogatepass") if isinstance(name, str) else name
    if style == "raw":
        return b'form-data; name="file"; filename="' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return b"form-data; name=\"file\"; filename*=UTF-8''" + quote(raw, safe="").encode()


def multipart(name: str | bytes, style: str, data: bytes = b"hostile name payload\n", key: str | None = None):
    boundary = b"----security-names-boundary-3f9a"
    body = b""
    if key is not None:
        body += b"--" + boundary + b'\r\nContent-Disposition: form-data; name="key"\r\n\r\n' + key.encode() + b"\r\n"
    body += (b"--" + boundary + b"\r\nContent-Disposition: " + disposition_value(name, style)
             + b"\r\nContent-Type: text/plain\r\n\r\n" + data + b"\r\n--" + boundary + b"--\r\n")
    return body, "multipart/form-data; boundary=" + boundary.decode()


def tree_of(root) -> dict[str, str]:
    """Every file under ``root`` (relative path → SHA-256), symlinks included as their target."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(directory, d))]:
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                found[rel] = "symlink:" + os.readlink(path)
            else:
                with open(path, "rb") as fh:
                    found[rel] = hashlib.sha256(fh.read()).hexdigest()
    return found


AUDIT_FILE = re.compile(r"instance/audit/\d{4}-\d{2}-\d{2}\.jsonl")


@pytest.fixture
def canaries(tmp_path):
    """Files where a traversal from uploads/<user_id>/ would land, and the tree before."""
    for rel in ("etc/passwd", "windows/win.ini", "uploads/passwd", "x", "instance/x"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"canary " + rel.encode())
    return tmp_path, tree_of(tmp_path)


def assert_nothing_written_outside_the_users_folder(tmp_path, before: dict, user_id: str):
    after = tree_of(tmp_path)
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    allowed_dir = os.path.join("uploads", user_id)
    stray = sorted(p for p in changed
                   if not (os.path.dirname(p) == allowed_dir and BLOB_NAME.fullmatch(os.path.basename(p))
                           and p not in before)
                   and not AUDIT_FILE.fullmatch(p))  # the server's own log, named by the date
    assert not stray, f"written, changed or removed outside {allowed_dir}/<blob>: {stray}"


def assert_safe_display_name(name: str) -> None:
    assert isinstance(name, str) and name.strip() == name and name
    assert "/" not in name and "\\" not in name, name
    assert not any(unicodedata.category(ch) == "Cc" or ch in _BIDI for ch in name), repr(name)
    assert set(name) != {"."} and len(name.encode("utf-8")) <= 255, repr(name)


def assert_clean_headers(response) -> None:
    for header, value in response.headers.items():
        assert "\r" not in value and "\n" not in value, (header, value)


def assert_safe_disposition(value: str, name: str) -> None:
    match = DISPOSITION.fullmatch(value)
    assert match, f"unexpected Content-Disposition {value!r}"
    fallback, encoded = match.groups()
    assert '"' not in fallback and "\\" not in fallback and ".." not in fallback.replace("...", "")
    assert unquote(encoded, errors="strict") == name


def download_disposition(client, path: str, name: str, headers=None) -> None:
    response = client.get(path, headers=headers or {})
    response.get_data()
    response.close()
    assert response.status_code == 200, path
    assert_clean_headers(response)
    assert_safe_disposition(response.headers["Content-Disposition"], name)


def check_answer(response, sent: str | None, failures: list, label: str):
    """A clear 400 with a JSON code, or 201/200 storing a safe display name. Returns the record."""
    body = response.get_json(silent=True)
    if response.status_code == 400 and body and body.get("error", {}).get("code") in CLEAR_400_CODES:
        return None
    if response.status_code in (200, 201) and body:
        record = body["files"][0] if "files" in body else body
        try:
            assert_safe_display_name(record["name"])
            if sent is not None:
                assert record["name"] == unicodedata.normalize("NFC", sent.strip()), (record["name"], sent)
        except AssertionError as exc:
            failures.append(f"{label}: stored unsafely: {exc}")
        return record
    failures.append(f"{label}: {response.status_code} {response.get_data()[:200]!r}")
    return None


@pytest.fixture
def user(client, auth):
    return auth.signup()


# -- uploads ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("style", ["raw", "rfc2231"])
def test_hostile_upload_names_are_refused_or_stored_as_display_names_only(client, user, canaries, style):
    tmp_path, before = canaries
    failures, stored = [], []
    for name in HOSTILE_NAMES + HOSTILE_BYTES:
        body, ctype = multipart(name, style)
        response = client.post("/api/upload?on_conflict=rename", data=body, content_type=ctype)
        label = f"{style} {name[:40]!r}"
        # Raw CR/LF breaks the part header itself; bytes names decode however the parser can.
        exact = name if isinstance(name, str) and not (style == "raw" and re.search("[\r\n\"\\\\]", name)) else None
        record = check_answer(response, exact, failures, label)
        if record:
            stored.append(record)
            download_disposition(client, f"/api/files/{record['id']}", record["name"])
    assert not failures, "\n".join(failures)
    assert stored, "no hostile-looking but valid name was accepted; the test proves nothing"
    listing = client.get("/api/files?limit=200").get_json()["files"]
    assert {f["id"] for f in listing} == {r["id"] for r in stored}
    for item in listing:
        assert_safe_display_name(item["name"])
    assert_nothing_written_outside_the_users_folder(tmp_path, before, user["id"])


def test_hostile_names_through_the_seed_compatible_upload(app, client, user, canaries):
    tmp_path, before = canaries
    secret = client.post("/api/tokens", json={"name": "seed", "scope": "read-write"}).get_json()["secret"]
    script, failures = app.test_client(), []
    for name in HOSTILE_NAMES + HOSTILE_BYTES:
        # The key in the query string: Werkzeug drops a whole multipart body whose part
        # headers are not UTF-8, which would lose a key sent as a form field too.
        body, ctype = multipart(name, "raw")
        response = script.post(f"/upload?key={secret}", data=body, content_type=ctype)
        json_body = response.get_json(silent=True) or {}
        if response.status_code == 200:
            assert_safe_display_name(json_body["filename"])
            download_disposition(script, f"/download/{quote(json_body['filename'], safe='')}?key={secret}",
                                 json_body["filename"])
        elif response.status_code != 400 or json_body.get("error", {}).get("code") not in CLEAR_400_CODES:
            failures.append(f"{name[:40]!r}: {response.status_code} {json_body}")
    assert not failures, "\n".join(failures)
    # With the key in the query the parts stream into the user's folder, never .incoming.
    incoming = os.path.join(app.config["UPLOAD_FOLDER"], ".incoming")
    assert not os.path.exists(incoming) or os.listdir(incoming) == []
    assert_nothing_written_outside_the_users_folder(tmp_path, before, user["id"])


def test_compat_download_by_a_traversal_name_finds_nothing(app, client, user):
    secret = client.post("/api/tokens", json={"name": "seed", "scope": "read-write"}).get_json()["secret"]
    for path in ("/download/..%2f..%2fetc%2fpasswd", "/download/%2e%2e", "/download/..", "/download/%00",
                 "/download/..%5c..%5cwindows", "/delete/..%2f..%2fetc%2fpasswd"):
        method = "DELETE" if path.startswith("/delete") else "GET"
        response = client.open(f"{path}?key={secret}", method=method)
        assert response.status_code == 404 and response.is_json, (path, response.status_code)


# -- folder names, renames, copies ----------------------------------------------------------------

# JSON carries text only: bytes names become what a client would send after decoding them,
# and a lone surrogate (valid JSON, not valid Unicode) joins the list.
JSON_NAMES = HOSTILE_NAMES + [n.decode("latin-1") for n in HOSTILE_BYTES] + ["\ud800", "a\udcc0.txt"]


def test_hostile_folder_names_are_refused_or_stored_safely(client, user, canaries):
    tmp_path, before = canaries
    failures = []
    for name in JSON_NAMES:
        response = client.post("/api/folders", json={"name": name, "on_conflict": "rename"})
        check_answer(response, name, failures, f"folder {name[:40]!r}")
    assert not failures, "\n".join(failures)
    for node in client.get("/api/folders/tree").get_json()["children"]:
        assert_safe_display_name(node["name"])
    assert_nothing_written_outside_the_users_folder(tmp_path, before, user["id"])


@pytest.mark.parametrize("kind", ["files", "folders"])
def test_hostile_renames_and_copy_names_are_refused_or_stored_safely(client, user, canaries, kind):
    tmp_path, before = canaries
    if kind == "files":
        body, ctype = multipart("plain.txt", "raw")
        item = client.post("/api/upload", data=body, content_type=ctype).get_json()["files"][0]
    else:
        item = client.post("/api/folders", json={"name": "plain"}).get_json()
    failures = []
    for name in JSON_NAMES:
        renamed = client.patch(f"/api/{kind}/{item['id']}", json={"name": name, "on_conflict": "rename"})
        record = check_answer(renamed, name, failures, f"rename {name[:40]!r}")
        if record and kind == "files":
            download_disposition(client, f"/api/files/{item['id']}", record["name"])
        copied = client.post(f"/api/{kind}/{item['id']}/copy", json={"name": name})
        check_answer(copied, None, failures, f"copy {name[:40]!r}")
    assert not failures, "\n".join(failures)
    assert_nothing_written_outside_the_users_folder(tmp_path, before, user["id"])


def test_a_shared_folders_zip_keeps_every_entry_inside_the_archive(app, client, user):
    """No zip-slip: accepted names never give an absolute path or a '..' segment."""
    top = client.post("/api/folders", json={"name": "CON"}).get_json()["id"]
    accepted = []
    for name in JSON_NAMES:
        folder = client.post("/api/folders", json={"name": name, "parent_id": top, "on_conflict": "rename"})
        if folder.status_code == 201:
            body, ctype = multipart(name, "rfc2231")
            query = f"?folder_id={folder.get_json()['id']}&on_conflict=rename"
            assert client.post("/api/upload" + query, data=body, content_type=ctype).status_code == 201
            accepted.append(name)
    assert len(accepted) > 10
    token = client.post("/api/shares", json={"item_id": top}).get_json()["token"]
    response = app.test_client().get(f"/s/{token}/zip")
    data = response.get_data()
    response.close()
    assert_clean_headers(response)
    assert_safe_disposition(response.headers["Content-Disposition"], "CON.zip")
    entries = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert len(entries) == 2 * len(accepted)
    for entry in entries:
        assert not entry.startswith(("/", "\\")) and not re.match(r"[A-Za-z]:", entry), entry
        assert ".." not in entry.rstrip("/").split("/") and "\\" not in entry and "\x00" not in entry, entry

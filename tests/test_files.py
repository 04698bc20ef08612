import hashlib
import io
import os

import pytest

from tests.conftest import AuthActions, upload


def stored_blobs(app):
    """Every file under the uploads folder (committed blobs and staging debris)."""
    root = app.config["UPLOAD_FOLDER"]
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def fetch(client, path, **headers):
    response = client.get(path, headers=headers)
    body = response.get_data()
    response.close()
    return response, body


def test_upload_returns_the_stored_record(client, auth):
    auth.signup()
    data = b"%PDF-1.4 example"
    response = upload(client, ("example.pdf", data, "application/pdf"))
    assert response.status_code == 201
    [record] = response.get_json()["files"]
    assert record["name"] == "example.pdf"
    assert record["size"] == len(data)
    assert record["content_type"] == "application/pdf"
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["created_at"].endswith("Z")


def test_several_files_in_one_upload(client, auth):
    auth.signup()
    response = upload(client, ("a.txt", b"aaa"), ("b.txt", b"bbbb"))
    assert response.status_code == 201
    assert [f["name"] for f in response.get_json()["files"]] == ["a.txt", "b.txt"]
    assert client.get("/api/files").get_json()["total"] == 2


def test_download_gives_back_the_bytes_as_an_attachment(client, uploaded):
    response, body = fetch(client, f"/api/files/{uploaded['id']}")
    assert response.status_code == 200
    assert body == b"hello world\n"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"] == f'"{uploaded["sha256"]}"'
    assert "Last-Modified" in response.headers
    assert "private" in response.headers["Cache-Control"]


def test_unicode_names_are_kept_and_get_an_ascii_fallback(client, auth):
    auth.signup()
    record = upload(client, ("تقرير.pdf", b"report")).get_json()["files"][0]
    assert record["name"] == "تقرير.pdf"
    assert record["content_type"] == "application/pdf"
    response, _ = fetch(client, f"/api/files/{record['id']}")
    disposition = response.headers["Content-Disposition"]
    assert 'filename="download.pdf"' in disposition
    assert "filename*=UTF-8''%D8%AA%D9%82%D8%B1%D9%8A%D8%B1.pdf" in disposition


def test_range_request_returns_partial_content(client, uploaded):
    response, body = fetch(client, f"/api/files/{uploaded['id']}", Range="bytes=6-10")
    assert response.status_code == 206
    assert body == b"world"
    assert response.headers["Content-Range"] == "bytes 6-10/12"


def test_unsatisfiable_range_is_416(client, uploaded):
    response, _ = fetch(client, f"/api/files/{uploaded['id']}", Range="bytes=100-200")
    assert response.status_code == 416


def test_conditional_download_is_304_when_unchanged(client, uploaded):
    first, _ = fetch(client, f"/api/files/{uploaded['id']}")
    response, body = fetch(client, f"/api/files/{uploaded['id']}", **{"If-None-Match": first.headers["ETag"]})
    assert response.status_code == 304 and body == b""
    response, _ = fetch(client, f"/api/files/{uploaded['id']}",
                        **{"If-Modified-Since": first.headers["Last-Modified"]})
    assert response.status_code == 304


def test_info_returns_the_record(client, uploaded):
    response = client.get(f"/api/files/{uploaded['id']}/info")
    assert response.status_code == 200
    assert response.get_json() == uploaded


def test_delete_moves_the_file_to_the_trash_and_keeps_its_bytes(app, client, uploaded):
    assert client.delete(f"/api/files/{uploaded['id']}").status_code == 204
    assert client.get(f"/api/files/{uploaded['id']}/info").status_code == 404
    assert client.get("/api/files").get_json()["total"] == 0
    assert client.delete(f"/api/files/{uploaded['id']}").status_code == 404
    assert len(stored_blobs(app)) == 1
    assert client.get("/api/me").get_json()["used_bytes"] == uploaded["size"]
    assert [i["id"] for i in client.get("/api/trash").get_json()["items"]] == [uploaded["id"]]


def test_permanent_delete_removes_record_and_bytes(app, client, uploaded):
    assert len(stored_blobs(app)) == 1
    assert client.delete(f"/api/files/{uploaded['id']}?permanent=true").status_code == 204
    assert stored_blobs(app) == []
    assert client.get(f"/api/files/{uploaded['id']}/info").status_code == 404
    assert client.get("/api/trash").get_json()["total"] == 0
    assert client.get("/api/me").get_json()["used_bytes"] == 0


@pytest.mark.parametrize("file_id", ["nope", "0" * 24, "6b039c27f251f2244befbcbz", "../../etc/passwd"])
def test_malformed_or_unknown_ids_are_404(client, auth, file_id):
    auth.signup()
    for method, path in [("get", f"/api/files/{file_id}"), ("get", f"/api/files/{file_id}/info"),
                         ("delete", f"/api/files/{file_id}")]:
        response = getattr(client, method)(path)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] in ("file_not_found", "not_found")


def test_another_user_cannot_see_download_or_delete_my_file(app, client, uploaded):
    bob = app.test_client()
    AuthActions(bob).signup("bob")
    mine = client.get(f"/api/files/{uploaded['id']}/info").get_json()
    for method, path in [("get", f"/api/files/{uploaded['id']}"), ("get", f"/api/files/{uploaded['id']}/info"),
                         ("delete", f"/api/files/{uploaded['id']}")]:
        response = getattr(bob, method)(path)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "file_not_found"
    assert bob.get("/api/files").get_json()["files"] == []
    assert client.get(f"/api/files/{uploaded['id']}/info").get_json() == mine


def test_my_listing_never_shows_another_users_files(app, client, uploaded):
    bob = app.test_client()
    AuthActions(bob).signup("bob")
    bobs = upload(bob, ("bob.txt", b"bob")).get_json()["files"][0]
    assert [f["id"] for f in client.get("/api/files").get_json()["files"]] == [uploaded["id"]]
    assert client.get(f"/api/files/{bobs['id']}/info").status_code == 404


def test_file_routes_require_login(client):
    for method, path in [("get", "/api/files"), ("post", "/api/upload"), ("get", "/api/files/x"),
                         ("delete", "/api/files/x")]:
        response = getattr(client, method)(path)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_listing_paginates_and_sorts(client, auth):
    auth.signup()
    for name, size in [("b.txt", 30), ("A.txt", 10), ("c.txt", 20)]:
        upload(client, (name, b"x" * size))
    names = lambda r: [f["name"] for f in r.get_json()["files"]]  # noqa: E731
    assert names(client.get("/api/files?sort=name&order=asc")) == ["A.txt", "b.txt", "c.txt"]
    assert names(client.get("/api/files?sort=size&order=desc")) == ["b.txt", "c.txt", "A.txt"]
    assert names(client.get("/api/files?sort=created_at&order=asc")) == ["b.txt", "A.txt", "c.txt"]
    page2 = client.get("/api/files?sort=name&order=asc&limit=2&page=2").get_json()
    assert [f["name"] for f in page2["files"]] == ["c.txt"]
    assert (page2["total"], page2["pages"], page2["limit"]) == (3, 2, 2)


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=abc", "page=0", "sort=owner_id", "order=up"])
def test_listing_rejects_bad_parameters(client, auth, query):
    auth.signup()
    response = client.get(f"/api/files?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_query"


@pytest.mark.parametrize("name", ["..", ".", "...", "a/b.txt", "a\\b.txt", "bad\x00name", "line\nbreak",
                                  "tab\tname", "e" * 256, "é" * 128, "evil\u202egpj.exe"])
def test_invalid_names_are_refused_and_nothing_is_stored(app, client, auth, name):
    auth.signup()
    response = upload(client, (name, b"data"))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] in ("invalid_name", "missing_file")
    assert stored_blobs(app) == []
    assert client.get("/api/files").get_json()["total"] == 0


def test_name_of_255_utf8_bytes_is_accepted(client, auth):
    auth.signup()
    name = "é" * 125 + ".txt"  # 250 + 4 bytes
    assert upload(client, (name, b"x")).get_json()["files"][0]["name"] == name


def test_one_bad_name_refuses_the_whole_upload(app, client, auth):
    auth.signup()
    response = upload(client, ("good.txt", b"good"), ("..", b"bad"))
    assert response.status_code == 400
    assert stored_blobs(app) == []


def test_missing_file_field_is_400(client, auth):
    auth.signup()
    response = client.post("/api/upload", data={"other": (io.BytesIO(b"x"), "x.txt")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "missing_file"
    response = client.post("/api/upload", data={"file": "just text"}, content_type="multipart/form-data")
    assert response.get_json()["error"]["code"] == "missing_file"


def test_empty_file_part_is_400(app, client, auth):
    auth.signup()
    response = client.post("/api/upload", data={"file": (io.BytesIO(b""), "")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "empty_file_part"
    assert stored_blobs(app) == []


def test_non_multipart_upload_is_400(client, auth):
    auth.signup()
    response = client.post("/api/upload", json={"file": "x"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_content_type"


def test_bodies_over_max_content_length_get_413_json(app, client, auth):
    auth.signup()
    too_big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = upload(client, ("big.bin", too_big))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert stored_blobs(app) == []


def test_quota_is_enforced_and_nothing_is_stored(app, client, auth):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    auth.signup()
    quota = app.config["USER_QUOTA_BYTES"]
    assert upload(client, ("first.bin", b"x" * (quota - 100))).status_code == 201
    response = upload(client, ("second.bin", b"y" * 101))
    assert response.status_code == 507
    assert response.get_json()["error"]["code"] == "quota_exceeded"
    assert len(stored_blobs(app)) == 1
    assert upload(client, ("fits.bin", b"z" * 100)).status_code == 201
    response = upload(client, ("more.bin", b"z"))
    assert response.get_json()["error"]["code"] == "quota_exceeded"
    assert client.get("/api/me").get_json()["used_bytes"] == quota


def test_zero_quota_means_unlimited(app, client, auth):
    auth.signup()
    app.extensions["drive_services"].drive.quota_bytes = 0
    assert upload(client, ("a.bin", b"x" * 1000)).status_code == 201


def test_a_cut_off_upload_leaves_no_file_and_no_record(app, client, auth):
    auth.signup()
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.bin\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + b"A" * 200_000
    response = client.post("/api/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 400
    assert stored_blobs(app) == []
    assert client.get("/api/files").get_json()["total"] == 0


@pytest.mark.parametrize("failing", ["items", "blobs"])
def test_bytes_are_removed_when_the_record_cannot_be_written(app, client, auth, monkeypatch, failing):
    auth.signup()
    drive = app.extensions["drive_services"].drive
    repo = drive.items if failing == "items" else drive.blobs.blobs

    def failing_insert(record):
        raise RuntimeError("database write failed")
    monkeypatch.setattr(repo, "insert", failing_insert)
    response = upload(client, ("a.txt", b"data"))
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert "database write failed" not in response.get_data(as_text=True)
    assert stored_blobs(app) == []
    assert client.get("/api/me").get_json()["used_bytes"] == 0


def test_bytes_live_under_the_users_folder_with_server_names(app, client, auth):
    me = auth.signup()
    upload(client, ("../../escape.txt".replace("/", "_"), b"x"))
    [blob] = stored_blobs(app)
    folder, name = blob.split(os.sep)
    assert folder == me["id"]
    assert "escape" not in name


@pytest.mark.parametrize("name, content_type, previewable", [
    ("photo.png", "image/png", True), ("notes.txt", "text/plain", True), ("doc.pdf", "application/pdf", False),
    ("song.mp3", "audio/mpeg", True), ("clip.mp4", "video/mp4", True),
    ("page.html", "text/html", False), ("drawing.svg", "image/svg+xml", False),
    ("script.js", "application/javascript", False), ("data.bin", "application/octet-stream", False)])
def test_only_types_that_cannot_run_script_are_previewed_inline(client, auth, name, content_type, previewable):
    auth.signup()
    record = upload(client, (name, b"<script>alert(1)</script>", content_type)).get_json()["files"][0]
    response, body = fetch(client, f"/api/files/{record['id']}/preview")
    if not previewable:
        assert response.status_code == 415
        assert response.get_json()["error"]["code"] == "preview_unavailable"
        return
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "inline"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.mimetype in (content_type, "text/plain")
    assert "sandbox" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("name, content_type", [("page.html", "text/html"), ("drawing.svg", "image/svg+xml"),
                                                ("app.js", "text/javascript")])
def test_script_capable_uploads_download_only_as_sandboxed_attachments(client, auth, name, content_type):
    auth.signup()
    record = upload(client, (name, b"<svg onload=alert(1)>", content_type)).get_json()["files"][0]
    response, _ = fetch(client, f"/api/files/{record['id']}")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]

"""Resumable uploads over tus 1.0, in process: creation, chunks, offsets, checksums,
termination, expiry, quota, permissions; the finished upload is a file like a multipart one."""
from __future__ import annotations

import base64
import hashlib
import threading
from datetime import timedelta

import pytest

from app.services import services
from app.timeutil import utcnow
from tests.conftest import upload

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = "application/offset+octet-stream"


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(client, length: int, body: bytes | None = None, headers=None, **meta):
    meta.setdefault("filename", "big.bin")
    sent = {**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata(**meta), **(headers or {})}
    if body is None:
        return client.post("/api/tus/", headers=sent)
    return client.post("/api/tus/", headers=sent, data=body, content_type=CHUNK)


def location(response) -> str:
    assert response.status_code == 201, response.get_data(as_text=True)
    url = response.headers["Location"]
    assert url.startswith("http://localhost/api/tus/")
    return url.removeprefix("http://localhost")


def patch(client, url: str, offset: int, data: bytes, headers=None):
    return client.patch(url, data=data, content_type=CHUNK,
                        headers={**TUS, "Upload-Offset": str(offset), **(headers or {})})


def sha256_header(data: bytes, algorithm: str = "sha256") -> dict:
    return {"Upload-Checksum": f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"}


def files_named(client, name: str) -> list[dict]:
    return [f for f in client.get("/api/files?limit=200").get_json()["files"] if f["name"] == name]


def content(client, file_id: str) -> bytes:
    response = client.get(f"/api/files/{file_id}")
    try:
        return response.get_data()
    finally:
        response.close()


def usage(client) -> int:
    return client.get("/api/me/usage").get_json()["used_bytes"]


def test_options_advertises_the_protocol(client):
    response = client.options("/api/tus/")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation", "creation-with-upload", "termination", "checksum", "expiration"}
    assert "sha256" in response.headers["Tus-Checksum-Algorithm"].split(",")
    assert int(response.headers["Tus-Max-Size"]) == client.application.config["MAX_CONTENT_LENGTH"]


def test_an_upload_in_chunks_becomes_a_file_like_a_multipart_one(client, auth):
    auth.signup()
    data = bytes(range(256)) * 1000
    url = location(create(client, len(data), filename="Ünïcode report.bin", filetype="application/x-test"))
    head = client.head(url, headers=TUS)
    assert head.status_code == 200
    assert (head.headers["Upload-Offset"], head.headers["Upload-Length"]) == ("0", str(len(data)))
    assert head.headers["Cache-Control"] == "no-store" and head.headers["Tus-Resumable"] == "1.0.0"
    assert "Upload-Expires" in head.headers
    offset = 0
    for size in (1000, 100_000, len(data)):
        piece = data[offset:size]
        response = patch(client, url, offset, piece)
        assert response.status_code == 204, response.get_data(as_text=True)
        offset = size
        assert response.headers["Upload-Offset"] == str(offset)
        assert ("Upload-File-Id" in response.headers) == (offset == len(data))
    [stored] = files_named(client, "Ünïcode report.bin")
    assert response.headers["Upload-File-Id"] == stored["id"]
    assert stored["size"] == len(data) and stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored["content_type"] == "application/x-test"
    assert content(client, stored["id"]) == data
    assert usage(client) == len(data)
    # A retry after completion, or a late HEAD: the same answer, no second file.
    late = client.head(url, headers=TUS)
    assert (late.headers["Upload-Offset"], late.headers["Upload-File-Id"]) == (str(len(data)), stored["id"])
    assert patch(client, url, len(data), b"").status_code == 409
    assert patch(client, url, 1000, data[1000:]).status_code == 409
    assert len(files_named(client, "Ünïcode report.bin")) == 1
    assert client.get("/api/uploads").get_json() == {"uploads": []}


def test_creation_with_upload_and_an_empty_file(client, auth):
    auth.signup()
    response = create(client, 5, b"hel", filename="greeting.txt")
    url = location(response)
    assert response.headers["Upload-Offset"] == "3"
    assert patch(client, url, 3, b"lo").status_code == 204
    assert content(client, files_named(client, "greeting.txt")[0]["id"]) == b"hello"
    empty = create(client, 0, filename="empty.txt")
    assert empty.status_code == 201 and empty.headers["Upload-Offset"] == "0"
    assert files_named(client, "empty.txt")[0]["size"] == 0


def test_wrong_offset_is_409_and_the_upload_stays_where_it_was(client, auth):
    auth.signup()
    url = location(create(client, 10))
    assert patch(client, url, 0, b"abcd").status_code == 204
    response = patch(client, url, 2, b"cdef")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "offset_mismatch"
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "4"


def test_checksums_are_checked_and_a_mismatch_keeps_nothing(client, auth):
    auth.signup()
    url = location(create(client, 8, filename="sum.bin"))
    assert patch(client, url, 0, b"abcd", sha256_header(b"abcd")).status_code == 204
    wrong = patch(client, url, 4, b"XXXX", sha256_header(b"efgh"))
    assert wrong.status_code == 460
    assert wrong.get_json()["error"]["code"] == "checksum_mismatch"
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "4"
    unknown = patch(client, url, 4, b"efgh", {"Upload-Checksum": "crc32 AAAA"})
    assert unknown.status_code == 400
    assert patch(client, url, 4, b"efgh", sha256_header(b"efgh", "sha1")).status_code == 204
    stored = files_named(client, "sum.bin")[0]
    assert stored["sha256"] == hashlib.sha256(b"abcdefgh").hexdigest()


def test_protocol_errors(client, auth):
    auth.signup()
    assert client.post("/api/tus/", headers={"Upload-Length": "3"}).status_code == 412
    assert client.post("/api/tus/", headers={**TUS, "Upload-Length": "x"}).status_code == 400
    assert client.post("/api/tus/", headers={**TUS, "Upload-Length": "3"}).status_code == 400  # no filename
    assert create(client, 3, filename="a/b").status_code == 400
    assert create(client, 3, on_conflict="sometimes").status_code == 400
    assert create(client, 3, folder_id="0123456789abcdef01234567").status_code == 404
    url = location(create(client, 3))
    assert client.patch(url, data=b"abc", headers={**TUS, "Upload-Offset": "0"},
                        content_type="application/octet-stream").status_code == 415
    assert client.patch(url, data=b"abc", headers={"Upload-Offset": "0"}, content_type=CHUNK).status_code == 412
    assert patch(client, url, 0, b"abcdef").status_code == 413
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "0"
    assert client.head("/api/tus/nonsense", headers=TUS).status_code == 404


def test_upload_length_is_limited_and_reserved_against_the_quota(app, client, auth):
    auth.signup()
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert create(client, limit + 1).status_code == 413
    quota = app.config["USER_QUOTA_BYTES"]
    half = location(create(client, quota // 2, filename="half.bin"))
    url = location(create(client, quota - quota // 2 - 100, filename="large.bin"))
    assert usage(client) == quota - 100
    refused = create(client, 200, filename="other.bin")
    assert refused.status_code == 507
    assert upload(client, ("small.txt", b"x" * 200)).status_code == 507
    assert client.delete(url, headers=TUS).status_code == 204
    assert client.delete(half, headers=TUS).status_code == 204
    assert usage(client) == 0
    assert client.head(url, headers=TUS).status_code == 404
    assert create(client, 200, filename="other.bin").status_code == 201


def test_content_already_owned_is_free_and_replace_makes_a_version(client, auth):
    auth.signup()
    data = b"the same bytes" * 100
    assert upload(client, ("first.bin", data)).status_code == 201
    url = location(create(client, len(data), filename="second.bin"))
    assert usage(client) == 2 * len(data)  # reserved while it arrives
    assert patch(client, url, 0, data).status_code == 204
    assert usage(client) == len(data)  # settled: the content was already there
    url = location(create(client, 3, filename="first.bin", on_conflict="replace"))
    assert patch(client, url, 0, b"new").status_code == 204
    [first] = files_named(client, "first.bin")
    assert content(client, first["id"]) == b"new"
    assert len(client.get(f"/api/files/{first['id']}/versions").get_json()["versions"]) == 1
    clash = location(create(client, 3, filename="later.bin"))  # free at creation...
    assert upload(client, ("later.bin", b"xyz")).status_code == 201  # ...taken before the last byte
    response = patch(client, clash, 0, b"abc")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "name_conflict"
    assert client.head(clash, headers=TUS).status_code == 404
    assert usage(client) == len(data) + 3 + 3  # the refused upload is not charged


def test_the_owner_lists_unfinished_uploads_and_another_user_gets_404(client, auth, make_client):
    auth.signup()
    url = location(create(client, 10, filename="half.bin"))
    assert patch(client, url, 0, b"12345").status_code == 204
    [listed] = client.get("/api/uploads").get_json()["uploads"]
    assert (listed["name"], listed["size"], listed["offset"], listed["state"]) == ("half.bin", 10, 5, "active")
    bob = make_client()
    from tests.conftest import AuthActions
    AuthActions(bob).signup("bob")
    assert bob.head(url, headers=TUS).status_code == 404
    for response in (patch(bob, url, 5, b"67890"), bob.delete(url, headers=TUS)):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "upload_not_found"
    assert bob.get("/api/uploads").get_json() == {"uploads": []}
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "5"


def test_read_tokens_may_look_but_not_write_and_other_sites_are_refused(client, auth, make_client):
    auth.signup()
    url = location(create(client, 10))
    secrets = {}
    for scope in ("read", "read-write"):
        response = client.post("/api/tokens", json={"name": scope, "scope": scope})
        assert response.status_code == 201
        secrets[scope] = response.get_json()["secret"]
    stranger = make_client()
    read = {"Authorization": f"Bearer {secrets['read']}"}
    assert stranger.head(url, headers={**TUS, **read}).status_code == 200
    assert stranger.get("/api/uploads", headers=read).status_code == 200
    for response in (create(stranger, 3, headers=read), patch(stranger, url, 0, b"abc", read),
                     stranger.delete(url, headers={**TUS, **read})):
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "insufficient_scope"
    write = {"Authorization": f"Bearer {secrets['read-write']}"}
    assert patch(stranger, url, 0, b"abc", write).status_code == 204
    evil = {"Origin": "https://evil.example"}
    assert create(client, 3, headers=evil).status_code == 403
    assert patch(client, url, 3, b"def", evil).status_code == 403
    assert client.delete(url, headers={**TUS, **evil}).status_code == 403
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "3"


def test_a_second_writer_is_locked_out_and_the_file_is_made_once(app, client, auth):
    auth.signup()
    data = b"z" * 4000
    url = location(create(client, len(data), filename="once.bin"))
    upload_id = url.rsplit("/", 1)[1]
    with app.app_context():
        uploads = services().uploads.uploads
        from bson import ObjectId
        now = utcnow()
        assert uploads.claim(ObjectId(upload_id), 0, "someone-else", now, now + timedelta(seconds=30))
    locked = patch(client, url, 0, data)
    assert locked.status_code == 423
    with app.app_context():
        services().uploads.uploads.release(ObjectId(upload_id), "someone-else")
    results = []

    def send():
        results.append(patch(app.test_client(use_cookies=True), url, 0, data).status_code)

    # Two complete PATCHes at once (the same session): one makes the file, the other is refused.
    cookie = client.get_cookie("session")
    clients = []
    for _ in range(2):
        other = app.test_client()
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain or "localhost")
        clients.append(other)
    threads = [threading.Thread(target=lambda c=c: results.append(patch(c, url, 0, data).status_code))
               for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) in ([204, 409], [204, 423]), results
    assert len(files_named(client, "once.bin")) == 1
    assert usage(client) == len(data)


def test_expired_uploads_are_swept_with_their_reservation_and_repair_knows_the_rest(app, client, auth):
    auth.signup()
    old = location(create(client, 100, filename="old.bin"))
    assert patch(client, old, 0, b"x" * 10).status_code == 204
    fresh = location(create(client, 50, filename="fresh.bin"))
    assert usage(client) == 150
    with app.app_context():
        report = services().repair.scan()
        assert report.clean, report.lines()
        assert len(report.unfinished_uploads) == 2
        assert any(line.startswith("unfinished resumable uploads") and line.endswith(": 2") for line in report.lines())
        uploads = services().uploads
        uploads.expiry = timedelta(hours=-1)  # everything idle is now past its expiry
        # Each PATCH moves the upload's expiry: now into the past.
        assert patch(client, fresh, 0, b"y").status_code == 204
        assert patch(client, old, 10, b"x").status_code == 204
        uploads.expiry = timedelta(hours=24)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["purge-trash"])
    assert "removed 2 unfinished upload(s)" in result.output, result.output
    assert usage(client) == 0
    assert client.head(old, headers=TUS).status_code == 404
    with app.app_context():
        assert services().repair.scan().clean


def test_a_storage_that_cannot_keep_staging_refuses_resumable_uploads_and_holds_nothing(client, auth, monkeypatch):
    """S3 and encryption at rest cannot keep staged bytes between requests yet: 501, no reservation."""
    from app.storage.local import LocalStagedBlob

    def cannot(self):
        raise NotImplementedError("not here")

    monkeypatch.setattr(LocalStagedBlob, "keep", cannot)
    auth.signup()
    response = create(client, 10)
    assert response.status_code == 501
    assert response.get_json()["error"]["code"] == "resumable_unavailable"
    assert usage(client) == 0
    assert client.get("/api/uploads").get_json() == {"uploads": []}


def test_last_modified_is_kept_as_the_files_modification_time(client, auth):
    auth.signup()
    url = location(create(client, 5, filename="photo.jpg", lastModified="1577880000000"))
    assert patch(client, url, 0, b"hello").status_code == 204
    [stored] = files_named(client, "photo.jpg")
    assert stored["modified_at"] == "2020-01-01T12:00:00Z"
    response = client.get(f"/api/files/{stored['id']}")
    assert response.headers["Last-Modified"] == "Wed, 01 Jan 2020 12:00:00 GMT"
    response.close()
    bad = create(client, 5, filename="x.bin", lastModified="last tuesday")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_input"


def folder_named(client, parent: str, name: str) -> list[dict]:
    children = client.get(f"/api/folders/{parent}/children?limit=200").get_json()["items"]
    return [c for c in children if c["name"] == name]


def test_relative_path_puts_the_file_in_folders_made_when_it_finishes(client, auth):
    auth.signup()
    box = client.post("/api/folders", json={"name": "Inbox"}).get_json()
    url = location(create(client, 3, relativePath="Photos/2026/a.jpg", folder_id=box["id"], filename="a.jpg"))
    assert folder_named(client, box["id"], "Photos") == []  # nothing made for an unfinished upload
    [listed] = client.get("/api/uploads").get_json()["uploads"]
    assert listed["relative_path"] == "Photos/2026"
    assert patch(client, url, 0, b"jpg").status_code == 204
    [photos] = folder_named(client, box["id"], "Photos")
    [year] = folder_named(client, photos["id"], "2026")
    [stored] = folder_named(client, year["id"], "a.jpg")
    assert content(client, stored["id"]) == b"jpg"
    # Uppy sends only relativePath ("/Photos/...", its folder drop's full path) and name: the
    # last segment names the file; folders are reused, below the upload's folder
    url = location(create(client, 1, relativePath="/Photos/2026/b.jpg", folder_id=box["id"], filename=""))
    assert patch(client, url, 0, b"b").status_code == 204
    assert len(folder_named(client, box["id"], "Photos")) == 1
    assert {c["name"] for c in client.get(f"/api/folders/{year['id']}/children").get_json()["items"]} == {"a.jpg", "b.jpg"}


@pytest.mark.parametrize("path", ["//etc/a.jpg", "Photos/../a.jpg", "Photos//a.jpg", "./a.jpg", "Ph\x00tos/a.jpg"])
def test_a_relative_path_that_is_not_one_is_a_400_and_reserves_nothing(client, auth, path):
    auth.signup()
    response = create(client, 10, relativePath=path)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "invalid_name"
    assert client.get("/api/uploads").get_json()["uploads"] == [] and usage(client) == 0


def test_a_file_where_a_folder_of_the_path_should_be_is_a_409_and_keeps_nothing(client, auth):
    auth.signup()
    assert upload(client, ("Photos", b"a file")).status_code == 201
    url = location(create(client, 3, relativePath="Photos/a.jpg"))
    response = patch(client, url, 0, b"jpg")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "name_conflict"
    assert [f["name"] for f in client.get("/api/files").get_json()["files"]] == ["Photos"]
    assert client.get("/api/uploads").get_json()["uploads"] == [] and usage(client) == len(b"a file")


def test_parallel_uploads_into_one_new_path_share_its_folders(app, client, auth):
    auth.signup()
    urls = [location(create(client, 4, relativePath=f"Trip/Day 1/{i}.jpg", filename=f"{i}.jpg")) for i in range(8)]
    cookie = client.get_cookie("session")
    barrier = threading.Barrier(len(urls))
    results = []

    def finish(url):
        other = app.test_client()
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain or "localhost")
        barrier.wait()
        results.append(patch(other, url, 0, b"data").status_code)

    threads = [threading.Thread(target=finish, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [204] * 8
    [trip] = folder_named(client, "root", "Trip")
    [day] = folder_named(client, trip["id"], "Day 1")
    names = sorted(c["name"] for c in client.get(f"/api/folders/{day['id']}/children").get_json()["items"])
    assert names == sorted(f"{i}.jpg" for i in range(8))
    tree = client.get("/api/folders/tree").get_json()["children"]
    assert [(t["name"], [c["name"] for c in t["children"]]) for t in tree] == [("Trip", ["Day 1"])]


def test_a_name_that_is_taken_is_refused_at_creation_unless_the_policy_allows_it(client, auth):
    auth.signup()
    assert upload(client, ("taken.txt", b"first")).status_code == 201
    refused = create(client, 5, filename="TAKEN.txt")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "name_conflict"
    assert client.get("/api/uploads").get_json()["uploads"] == [] and usage(client) == len(b"first")
    for policy, expected in (("rename", "taken (1).txt"), ("replace", "taken.txt")):
        url = location(create(client, 5, filename="taken.txt", on_conflict=policy))
        assert patch(client, url, 0, b"again").status_code == 204
        assert files_named(client, expected)


def test_head_is_423_while_the_last_request_is_still_making_the_file(app, client, auth):
    """tus-js-client takes Upload-Offset == Upload-Length for success: while the file is being
    stored (a big S3 upload is read back to be hashed), HEAD must not say that yet."""
    auth.signup()
    url = location(create(client, 4, filename="slow.bin"))
    upload_id = url.rsplit("/", 1)[1]
    from bson import ObjectId
    with app.app_context():
        uploads = services().uploads.uploads
        now = utcnow()
        assert uploads.claim(ObjectId(upload_id), 0, "finisher", now, now + timedelta(seconds=30))
        assert uploads.advance(ObjectId(upload_id), "finisher", 4, now + timedelta(hours=1))
        assert uploads.begin_completion(ObjectId(upload_id), "finisher", 4) is not None
    head = client.head(url, headers=TUS)
    assert head.status_code == 423 and "Upload-Offset" not in head.headers


def test_a_storage_limit_on_resumable_uploads_is_a_413_at_creation(app, client, auth, monkeypatch):
    """S3 holds at most 10,000 parts: an upload that could not fit is refused before its bytes."""
    auth.signup()
    with app.app_context():
        storage = services().storage
    monkeypatch.setattr(type(storage), "max_resumable_size", 1000)
    response = create(client, 1001)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "payload_too_large"
    assert client.get("/api/uploads").get_json()["uploads"] == [] and usage(client) == 0
    assert create(client, 1000).status_code == 201

"""Commit order of a file's contents (``revision``), undo of a replace that a later part of
the same upload failed, and the per-user usage counter the quota is enforced against."""
from __future__ import annotations

import pytest

from app.db import get_db
from app.services import services
from tests.conftest import upload
from tests.conftest import mongo_only


@pytest.fixture
def alice(client, auth):
    return auth.signup()


def put(client, name: str, data: bytes, query: str = "?on_conflict=replace", status: int = 201) -> dict:
    response = upload(client, (name, data), query=query)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def versions_of(client, file_id: str) -> list[dict]:
    return client.get(f"/api/files/{file_id}/versions").get_json()["versions"]


def content_of(client, file_id: str) -> bytes:
    response = client.get(f"/api/files/{file_id}")
    try:
        return response.data
    finally:
        response.close()


def usage(client) -> int:
    return client.get("/api/me/usage").get_json()["used_bytes"]


def repair_report(app):
    with app.app_context():
        return services().repair.scan(verify=True)


def test_each_replace_is_the_next_commit_and_versions_keep_theirs(client, alice):
    first = put(client, "notes.txt", b"one")["files"][0]
    assert first["revision"] == 1
    assert put(client, "notes.txt", b"two")["files"][0]["revision"] == 2
    third = put(client, "notes.txt", b"three")["files"][0]
    assert third["revision"] == 3 and third["id"] == first["id"]
    assert [(v["revision"], v["size"]) for v in versions_of(client, first["id"])] == [(2, 3), (1, 3)]
    # The same bytes again change nothing: no new commit, no new version.
    assert put(client, "notes.txt", b"three")["files"][0]["revision"] == 3
    assert len(versions_of(client, first["id"])) == 2


def test_restoring_a_version_is_a_new_commit(client, alice):
    file = put(client, "plan.txt", b"draft")["files"][0]
    put(client, "plan.txt", b"final")
    [old] = versions_of(client, file["id"])
    restored = client.post(f"/api/files/{file['id']}/versions/{old['id']}/restore").get_json()
    assert restored["revision"] == 3
    assert content_of(client, file["id"]) == b"draft"
    assert [v["revision"] for v in versions_of(client, file["id"])] == [2]
    # The version is gone: restoring it again is a 404, not a second copy.
    again = client.post(f"/api/files/{file['id']}/versions/{old['id']}/restore")
    assert again.status_code == 404


def test_an_upload_whose_later_part_fails_leaves_the_replaced_file_as_it_was(app, client, alice):
    file = put(client, "a.txt", b"old content")["files"][0]
    assert client.post("/api/folders", json={"name": "b.txt"}).status_code == 201
    before = usage(client)
    response = upload(client, ("a.txt", b"new content!"), ("b.txt", b"clashes with a folder"),
                      query="?on_conflict=replace")
    assert response.status_code == 409
    assert content_of(client, file["id"]) == b"old content"
    assert client.get(f"/api/files/{file['id']}/info").get_json()["revision"] == 1
    assert versions_of(client, file["id"]) == []
    assert usage(client) == before
    assert repair_report(app).clean


def test_usage_is_exact_and_new_content_only_is_charged(app, client, alice):
    put(client, "x.bin", b"x" * 1000)
    put(client, "copy.bin", b"x" * 1000)  # the same content: free
    put(client, "x.bin", b"y" * 500)  # a replace keeps the old content as a version
    assert usage(client) == 1500
    file = client.get("/api/files").get_json()["files"]
    for item in file:
        assert client.delete(f"/api/files/{item['id']}?permanent=true").status_code == 204
    assert usage(client) == 0
    assert repair_report(app).clean


@pytest.fixture
def small_quota_app(tmp_path):
    import mongomock

    from app import create_app
    from config import TestingConfig
    settings = TestingConfig.load({})
    settings.update(MONGO_CLIENT_FACTORY=lambda: mongomock.MongoClient(tz_aware=True), USER_QUOTA_BYTES=4096,
                    UPLOAD_FOLDER=str(tmp_path / "uploads"), INSTANCE_PATH=str(tmp_path / "instance"))
    return create_app(settings)


def test_the_quota_refuses_what_does_not_fit_and_charges_nothing(small_quota_app):
    from tests.conftest import AuthActions
    app, client = small_quota_app, small_quota_app.test_client()
    AuthActions(client).signup()
    quota = 4096
    put(client, "big.bin", b"b" * (quota - 10))
    refused = upload(client, ("more.bin", b"m" * 11))
    assert refused.status_code == 507
    assert refused.get_json()["error"]["code"] == "quota_exceeded"
    assert usage(client) == quota - 10
    put(client, "fits.bin", b"f" * 10)
    assert usage(client) == quota
    assert repair_report(app).clean


@mongo_only
def test_accounts_from_before_the_usage_counter_get_one_from_their_blobs(app, client, alice):
    put(client, "old.bin", b"o" * 700)
    with app.app_context():
        get_db().collection("usage").delete_many({})
    assert usage(client) == 700
    put(client, "new.bin", b"n" * 300)
    assert usage(client) == 1000
    assert repair_report(app).clean


@mongo_only
def test_repair_finds_and_fixes_a_wrong_usage_counter(app, client, alice):
    put(client, "a.bin", b"a" * 400)
    with app.app_context():
        get_db().collection("usage").update_many({}, {"$inc": {"bytes": 123}})
    report = repair_report(app)
    assert [(counted, true) for _, counted, true in report.wrong_usage] == [(523, 400)]
    assert "wrong usage counters: 1" in report.lines()
    with app.app_context():
        services().repair.fix(report)
    assert usage(client) == 400
    assert repair_report(app).clean


def test_an_empty_file_is_stored_and_charged_nothing(small_quota_app):
    from tests.conftest import AuthActions
    client = small_quota_app.test_client()
    AuthActions(client).signup()
    put(client, "almost.bin", b"f" * 4000)
    empty = put(client, "empty.txt", b"")["files"][0]
    assert empty["size"] == 0
    assert usage(client) == 4000


@mongo_only  # on SQLite an upload is one transaction: nothing comes in between (test_upload_transaction.py)
def test_a_failed_upload_never_takes_away_a_replace_that_came_in_between(app, client, alice, monkeypatch):
    """Part 1 creates a.txt; another client replaces it (and is told 201); part 2 fails. The
    failed upload's undo must keep the other client's content and drop only its own."""
    from app.drive.service import DriveService
    from tests.conftest import AuthActions
    other = app.test_client()
    AuthActions(other).login()
    original = DriveService._store_one
    calls = []

    def store_one(self, owner_id, parent_id, part, name, *args):
        calls.append(name)
        if name == "b.txt":
            assert upload(other, ("a.txt", b"the other client's content"), query="?on_conflict=replace").status_code == 201
            from app.errors import QuotaExceeded
            part.staged.discard()  # the nested request above has its own teardown
            raise QuotaExceeded("This upload would exceed your storage quota.")
        return original(self, owner_id, parent_id, part, name, *args)
    monkeypatch.setattr(DriveService, "_store_one", store_one)
    response = upload(client, ("a.txt", b"first request's content"), ("b.txt", b"never stored"))
    monkeypatch.undo()
    assert response.status_code == 507
    [kept] = client.get("/api/files").get_json()["files"]
    assert (kept["name"], kept["revision"]) == ("a.txt", 2)
    assert content_of(client, kept["id"]) == b"the other client's content"
    assert versions_of(client, kept["id"]) == []  # the failed request's content is kept nowhere
    assert usage(client) == len(b"the other client's content")
    assert repair_report(app).clean


# -- modification times: the client's, kept with the content -----------------------------------

JAN_2020_MS = "1577880000000"  # 2020-01-01T12:00:00Z
JAN_2020 = "2020-01-01T12:00:00Z"


def upload_with_times(client, files, times, query=""):
    from io import BytesIO
    data = {"file": [(BytesIO(body), name) for name, body in files], "last_modified": times}
    return client.post("/api/upload" + query, data=data, content_type="multipart/form-data")


def test_a_multipart_upload_keeps_the_clients_modification_time(client, alice):
    response = upload(client, ("old.txt", b"written long ago"), query=f"?last_modified={JAN_2020_MS}")
    assert response.status_code == 201, response.get_json()
    [stored] = response.get_json()["files"]
    assert stored["modified_at"] == JAN_2020
    assert client.get(f"/api/files/{stored['id']}/info").get_json()["modified_at"] == JAN_2020
    download = client.get(f"/api/files/{stored['id']}")
    assert download.headers["Last-Modified"] == "Wed, 01 Jan 2020 12:00:00 GMT"
    download.close()
    # without one, the modification time is when the content was stored
    [fresh] = put(client, "new.txt", b"written now", query="")["files"]
    assert fresh["modified_at"] >= fresh["created_at"][:19]


def test_form_fields_give_one_time_per_file_in_order_or_one_for_all(client, alice):
    response = upload_with_times(client, [("a.txt", b"a"), ("b.txt", b"b")], [JAN_2020_MS, "2021-06-30T08:00:00+02:00"])
    assert response.status_code == 201, response.get_json()
    assert [f["modified_at"] for f in response.get_json()["files"]] == [JAN_2020, "2021-06-30T06:00:00Z"]
    response = upload_with_times(client, [("c.txt", b"c"), ("d.txt", b"d")], ["2019-05-05T00:00:00"])
    assert [f["modified_at"] for f in response.get_json()["files"]] == ["2019-05-05T00:00:00Z"] * 2


@pytest.mark.parametrize("times", [["yesterday"], ["1", "2", "3"], ["12.5"]])
def test_a_bad_modification_time_is_a_400_and_stores_nothing(client, alice, times):
    response = upload_with_times(client, [("a.txt", b"a"), ("b.txt", b"b")], times)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input" and "last_modified" in error["message"]
    assert client.get("/api/files").get_json()["files"] == [] and usage(client) == 0


def test_versions_restores_and_copies_keep_each_contents_own_time(client, alice):
    [first] = put(client, "doc.txt", b"draft", query=f"?last_modified={JAN_2020_MS}")["files"]
    [second] = put(client, "doc.txt", b"final", query="?on_conflict=replace&last_modified=2022-02-02T00:00:00Z")["files"]
    assert second["id"] == first["id"] and second["modified_at"] == "2022-02-02T00:00:00Z"
    [version] = versions_of(client, first["id"])
    assert version["modified_at"] == JAN_2020
    copied = client.post(f"/api/files/{first['id']}/copy", json={"name": "copy.txt"}).get_json()
    assert copied["modified_at"] == "2022-02-02T00:00:00Z"
    restored = client.post(f"/api/files/{first['id']}/versions/{version['id']}/restore")
    assert restored.status_code == 200, restored.get_json()
    assert client.get(f"/api/files/{first['id']}/info").get_json()["modified_at"] == JAN_2020


def test_a_multipart_upload_can_name_folders_below_its_folder(client, alice):
    for _ in range(2):  # the second time, the folders are there already
        response = upload(client, ("a.txt", b"a"), query="?relative_path=Trip/Day%201&on_conflict=rename")
        assert response.status_code == 201, response.get_json()
    [trip] = [i for i in client.get("/api/folders/root/children").get_json()["items"] if i["name"] == "Trip"]
    [day] = client.get(f"/api/folders/{trip['id']}/children").get_json()["items"]
    names = [i["name"] for i in client.get(f"/api/folders/{day['id']}/children").get_json()["items"]]
    assert (day["name"], sorted(names)) == ("Day 1", ["a (1).txt", "a.txt"])
    bad = upload(client, ("b.txt", b"b"), query="?relative_path=../etc")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_name"

"""Trash, versions, deduplication, stars, search and usage."""
import hashlib
from datetime import timedelta

import pytest

from app.db import get_db

from app.timeutil import utcnow
from tests.conftest import AuthActions, upload
from tests.test_folders import blob_files, children, folder, names, put_file
from tests.conftest import mongo_only


@pytest.fixture
def alice(client, auth):
    auth.signup()
    return client


def trash_ids(client):
    return [i["id"] for i in client.get("/api/trash").get_json()["items"]]


def usage(client):
    return client.get("/api/me/usage").get_json()


def file_id(response):
    assert response.status_code == 201, response.get_json()
    return response.get_json()["files"][0]["id"]


# -- trash --------------------------------------------------------------------------------------

def test_trashing_a_folder_hides_its_nested_content_and_restoring_brings_it_back(alice):
    top = folder(alice, "top")
    sub = folder(alice, "sub", top)
    deep = file_id(put_file(alice, "deep.txt", b"deep", sub))
    file_id(put_file(alice, "shallow.txt", b"shallow", top))
    assert alice.delete(f"/api/folders/{top}").status_code == 204

    assert names(children(alice)) == []
    assert alice.get(f"/api/files/{deep}/info").status_code == 404
    assert alice.get(f"/api/folders/{sub}/children").status_code == 404
    assert alice.get("/api/search?q=deep").get_json()["total"] == 0
    assert alice.get("/api/files").get_json()["total"] == 0
    assert trash_ids(alice) == [top]
    assert usage(alice)["used_bytes"] == len(b"deep") + len(b"shallow")
    assert usage(alice)["trash_bytes"] == len(b"deep") + len(b"shallow")

    restored = alice.post(f"/api/trash/{top}/restore").get_json()
    assert restored["note"] is None and restored["item"]["parent_id"] == "root"
    assert names(children(alice, top)) == ["sub", "shallow.txt"]
    assert names(children(alice, sub)) == ["deep.txt"]
    assert trash_ids(alice) == []
    assert usage(alice)["trash_bytes"] == 0


def test_an_item_trashed_before_its_folder_stays_in_the_trash_when_the_folder_comes_back(alice):
    top = folder(alice, "top")
    early = file_id(put_file(alice, "early.txt", b"e", top))
    alice.delete(f"/api/files/{early}")
    alice.delete(f"/api/folders/{top}")
    assert set(trash_ids(alice)) == {early, top}
    alice.post(f"/api/trash/{top}/restore")
    assert names(children(alice, top)) == []
    assert trash_ids(alice) == [early]


def test_restoring_into_a_trashed_folder_recreates_the_path(alice):
    a = folder(alice, "A")
    b = folder(alice, "B", a)
    doc = file_id(put_file(alice, "doc.txt", b"d", b))
    alice.delete(f"/api/files/{doc}")
    alice.delete(f"/api/folders/{a}")
    body = alice.post(f"/api/trash/{doc}/restore").get_json()
    assert body["note"] == "parent_recreated"
    crumbs = alice.get(f"/api/folders/{body['item']['parent_id']}/path").get_json()["path"]
    assert [c["name"] for c in crumbs] == ["", "A", "B"]
    assert trash_ids(alice) == [a]  # the old folders stay in the trash


def test_restoring_after_the_folder_was_deleted_for_good_goes_to_the_root(alice):
    a = folder(alice, "A")
    doc = file_id(put_file(alice, "doc.txt", b"d", a))
    alice.delete(f"/api/files/{doc}")
    alice.delete(f"/api/folders/{a}")
    assert alice.delete(f"/api/trash/{a}").status_code == 204
    body = alice.post(f"/api/trash/{doc}/restore").get_json()
    assert body["note"] == "restored_to_root" and body["item"]["parent_id"] == "root"
    response = alice.get(f"/api/files/{doc}")
    assert response.get_data() == b"d"
    response.close()


def test_restoring_onto_a_taken_name_renames(alice):
    first = file_id(put_file(alice, "a.txt", b"1"))
    alice.delete(f"/api/files/{first}")
    file_id(put_file(alice, "a.txt", b"2"))
    body = alice.post(f"/api/trash/{first}/restore").get_json()
    assert (body["note"], body["item"]["name"]) == ("renamed", "a (1).txt")


def test_trashed_names_are_free_again(alice):
    first = file_id(put_file(alice, "a.txt", b"1"))
    alice.delete(f"/api/files/{first}")
    assert put_file(alice, "a.txt", b"2").status_code == 201


def test_empty_trash_deletes_records_and_bytes(app, alice):
    top = folder(alice, "top")
    put_file(alice, "x.txt", b"x", top)
    lone = file_id(put_file(alice, "y.txt", b"y"))
    alice.delete(f"/api/folders/{top}")
    alice.delete(f"/api/files/{lone}")
    assert len(blob_files(app)) == 2
    assert alice.delete("/api/trash").get_json() == {"deleted": 2}
    assert blob_files(app) == []
    assert usage(alice)["used_bytes"] == 0 and trash_ids(alice) == []


def test_restore_and_delete_forever_need_a_trashed_item(alice):
    live = file_id(put_file(alice, "live.txt"))
    assert alice.post(f"/api/trash/{live}/restore").status_code == 404
    assert alice.delete(f"/api/trash/{live}").status_code == 404
    assert alice.post("/api/trash/nonsense/restore").status_code == 404


@mongo_only
def test_purge_command_removes_only_items_past_retention(app, alice):
    old = file_id(put_file(alice, "old.txt", b"old"))
    new = file_id(put_file(alice, "new.txt", b"new"))
    alice.delete(f"/api/files/{old}")
    alice.delete(f"/api/files/{new}")
    with app.app_context():  # the clock moved on: straight to the database, as no route can
        get_db().collection("items").update_many({"name": "old.txt"},
                                                 {"$set": {"trashed_at": utcnow() - timedelta(days=31)}})
    result = app.test_cli_runner().invoke(args=["purge-trash"])
    assert result.exit_code == 0, result.output
    assert "1" in result.output
    assert trash_ids(alice) == [new]
    assert usage(alice)["used_bytes"] == len(b"new")


# -- deduplication and versions -----------------------------------------------------------------

def test_identical_uploads_share_one_blob_and_count_once(app, alice):
    file_id(put_file(alice, "a.bin", b"z" * 1000))
    file_id(put_file(alice, "b.bin", b"z" * 1000))
    assert len(blob_files(app)) == 1
    assert usage(alice)["used_bytes"] == 1000
    assert alice.get("/api/me").get_json()["used_bytes"] == 1000


def test_two_users_uploading_identical_bytes_keep_separate_blobs(app, alice):
    file_id(put_file(alice, "a.bin", b"same"))
    bob = app.test_client()
    AuthActions(bob).signup("bob")
    bob_file = file_id(put_file(bob, "a.bin", b"same"))
    assert len(blob_files(app)) == 2
    bob.delete(f"/api/files/{bob_file}?permanent=true")
    assert len(blob_files(app)) == 1
    assert usage(alice)["used_bytes"] == 4 and usage(bob)["used_bytes"] == 0


def test_quota_counts_content_after_dedup(app, alice):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    quota = app.config["USER_QUOTA_BYTES"]
    data = b"q" * (quota // 2 + 10)
    file_id(put_file(alice, "one.bin", data))
    assert put_file(alice, "two.bin", data).status_code == 201  # same bytes: no new space
    response = put_file(alice, "three.bin", data + b"!")
    assert response.status_code == 507
    assert response.get_json()["error"]["code"] == "quota_exceeded"
    assert usage(alice)["used_bytes"] == len(data)


def test_permanent_delete_removes_bytes_only_when_nothing_uses_them(app, alice):
    original = file_id(put_file(alice, "a.txt", b"v1"))
    put_file(alice, "a.txt", b"v2", on_conflict="replace")  # v1 becomes a version
    copy = alice.post(f"/api/files/{original}/copy").get_json()["id"]  # the copy uses v2
    assert len(blob_files(app)) == 2
    alice.delete(f"/api/files/{original}?permanent=true")  # v1 only had the version: gone
    assert len(blob_files(app)) == 1
    response = alice.get(f"/api/files/{copy}")
    assert response.get_data() == b"v2"
    response.close()
    alice.delete(f"/api/files/{copy}?permanent=true")
    assert blob_files(app) == []


def test_versions_can_be_listed_downloaded_restored_and_deleted(alice):
    fid = file_id(put_file(alice, "doc.txt", b"one"))
    put_file(alice, "doc.txt", b"two", on_conflict="replace")
    put_file(alice, "doc.txt", b"three", on_conflict="replace")
    versions = alice.get(f"/api/files/{fid}/versions").get_json()["versions"]
    assert [v["sha256"] for v in versions] == [hashlib.sha256(b).hexdigest() for b in (b"two", b"one")]

    response = alice.get(f"/api/files/{fid}/versions/{versions[1]['id']}")
    assert response.get_data() == b"one"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    response.close()

    restored = alice.post(f"/api/files/{fid}/versions/{versions[1]['id']}/restore").get_json()
    assert restored["sha256"] == hashlib.sha256(b"one").hexdigest()
    after = alice.get(f"/api/files/{fid}/versions").get_json()["versions"]
    assert {v["sha256"] for v in after} == {hashlib.sha256(b).hexdigest() for b in (b"two", b"three")}

    assert alice.delete(f"/api/files/{fid}/versions/{after[0]['id']}").status_code == 204
    assert len(alice.get(f"/api/files/{fid}/versions").get_json()["versions"]) == 1
    assert alice.get(f"/api/files/{fid}/versions/{after[0]['id']}").status_code == 404


def test_replacing_with_identical_content_adds_no_version(alice):
    fid = file_id(put_file(alice, "same.txt", b"same"))
    put_file(alice, "same.txt", b"same", on_conflict="replace")
    assert alice.get(f"/api/files/{fid}/versions").get_json()["versions"] == []


def test_at_most_n_versions_are_kept(app, alice):
    app.extensions["drive_services"].versions.max_versions = 2
    fid = file_id(put_file(alice, "v.txt", b"0"))
    for n in range(1, 5):
        put_file(alice, "v.txt", str(n).encode(), on_conflict="replace")
    versions = alice.get(f"/api/files/{fid}/versions").get_json()["versions"]
    assert [v["sha256"] for v in versions] == [hashlib.sha256(b).hexdigest() for b in (b"3", b"2")]
    assert len(blob_files(app)) == 3  # current + two versions


def test_another_users_versions_are_404(app, alice):
    fid = file_id(put_file(alice, "v.txt", b"1"))
    put_file(alice, "v.txt", b"2", on_conflict="replace")
    vid = alice.get(f"/api/files/{fid}/versions").get_json()["versions"][0]["id"]
    bob = app.test_client()
    AuthActions(bob).signup("bob")
    for method, path in [("get", f"/api/files/{fid}/versions"), ("get", f"/api/files/{fid}/versions/{vid}"),
                         ("post", f"/api/files/{fid}/versions/{vid}/restore"),
                         ("delete", f"/api/files/{fid}/versions/{vid}")]:
        assert getattr(bob, method)(path).status_code == 404
    assert len(alice.get(f"/api/files/{fid}/versions").get_json()["versions"]) == 1


# -- stars --------------------------------------------------------------------------------------

def test_star_and_unstar_files_and_folders(alice):
    docs = folder(alice, "Docs")
    fid = file_id(put_file(alice, "a.txt"))
    assert alice.put(f"/api/folders/{docs}/star").get_json()["starred"] is True
    assert alice.put(f"/api/files/{fid}/star").get_json()["starred"] is True
    assert names(alice.get("/api/starred").get_json()) == ["Docs", "a.txt"]
    assert alice.delete(f"/api/files/{fid}/star").get_json()["starred"] is False
    assert names(alice.get("/api/starred").get_json()) == ["Docs"]
    alice.delete(f"/api/folders/{docs}")
    assert alice.get("/api/starred").get_json()["total"] == 0


# -- search -------------------------------------------------------------------------------------

def test_search_is_case_insensitive_unicode_aware_and_shows_paths(alice):
    docs = folder(alice, "Documents")
    put_file(alice, "Quarterly REPORT.pdf", b"1", docs)
    put_file(alice, "تقرير سنوي.pdf", b"2")
    folder(alice, "Reports", docs)
    found = alice.get("/api/search?q=report").get_json()
    assert [(i["name"], i["path"]) for i in found["items"]] == [
        ("Reports", "/Documents"), ("Quarterly REPORT.pdf", "/Documents")]
    assert [i["name"] for i in alice.get("/api/search?q=تقرير").get_json()["items"]] == ["تقرير سنوي.pdf"]
    assert [i["name"] for i in alice.get("/api/search?q=DOCUMENTS").get_json()["items"]] == ["Documents"]


@pytest.mark.parametrize("query, expected", [("a.*", ["a.*b.txt"]), ("(", ["(paren).txt"]),
                                             ("\\", ["back\\slash? no"]), ("[", []), ("*", ["a.*b.txt"])])
def test_search_treats_regex_metacharacters_literally(alice, query, expected):
    for name in ["a.*b.txt", "abc.txt", "(paren).txt"]:
        put_file(alice, name, name.encode())
    from urllib.parse import quote
    found = alice.get(f"/api/search?q={quote(query)}").get_json()["items"]
    if query == "\\":
        assert found == []  # names cannot contain a backslash
    else:
        assert [i["name"] for i in found] == expected


def test_search_filters(alice):
    put_file(alice, "photo.png", b"p" * 100)
    put_file(alice, "photo.txt", b"t" * 10)
    folder(alice, "photos")
    q = lambda s: [i["name"] for i in alice.get(f"/api/search?q=photo&{s}").get_json()["items"]]  # noqa: E731
    assert q("type=folder") == ["photos"]
    assert q("type=file") == ["photo.png", "photo.txt"]
    assert q("content_type=image/") == ["photo.png"]
    assert q("min_size=50") == ["photo.png"]
    assert q("max_size=50") == ["photo.txt"]
    assert q("created_after=2000-01-01T00:00:00Z") == ["photos", "photo.png", "photo.txt"]
    assert q("created_before=2000-01-01") == []
    assert alice.get("/api/search?min_size=x").status_code == 400
    assert alice.get("/api/search?created_after=yesterday").status_code == 400


def test_search_never_shows_another_users_items(app, alice):
    put_file(alice, "alice-secret.txt")
    bob = app.test_client()
    AuthActions(bob).signup("bob")
    assert bob.get("/api/search?q=secret").get_json()["total"] == 0


def test_usage_counts_files_folders_and_quota(app, alice):
    folder(alice, "f")
    put_file(alice, "a.txt", b"abc")
    body = usage(alice)
    assert body == {"used_bytes": 3, "trash_bytes": 0, "quota_bytes": app.config["USER_QUOTA_BYTES"],
                    "file_count": 1, "folder_count": 1, "trashed_file_count": 0, "file_bytes": 3,
                    "version_bytes": 0, "version_count": 0,
                    "retention": {"trash_days": app.config["TRASH_RETENTION_DAYS"],
                                  "versions_per_file": app.config["MAX_VERSIONS_PER_FILE"]}}


def test_usage_says_what_fills_the_quota_and_what_governs_it(alice):
    """Files, kept versions and the trash at their sizes, with the retention settings."""
    upload(alice, ("essay.txt", b"first", "text/plain"))
    upload(alice, ("essay.txt", b"second!", "text/plain"), query="?on_conflict=replace")
    doomed = upload(alice, ("old.txt", b"0123456789", "text/plain")).get_json()["files"][0]
    alice.delete(f"/api/files/{doomed['id']}")
    figures = usage(alice)
    assert (figures["file_bytes"], figures["file_count"]) == (len(b"second!"), 1)
    assert (figures["version_bytes"], figures["version_count"]) == (len(b"first"), 1)
    assert (figures["trash_bytes"], figures["trashed_file_count"]) == (10, 1)
    assert figures["retention"] == {"trash_days": 30, "versions_per_file": 10}

"""Owners and members download folders and selections as one ZIP (issue 18), streamed as it is
built, through the one access rule, laid out as share links' ZIPs are."""
from __future__ import annotations

import hashlib
import io
import os
import zipfile

import pytest

from app.db import close_database
from tests.conftest import AuthActions, make_app, upload

PAGE_ORIGIN = "http://localhost"  # the test client's own origin: the web app's pages


def folder(client, name, parent="root") -> str:
    response = client.post("/api/folders", json={"name": name, "parent_id": parent})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def put(client, name, data, parent="root") -> str:
    response = upload(client, (name, data), query=f"?folder_id={parent}")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["files"][0]["id"]


def fetched(response) -> bytes:
    data = response.get_data()
    response.close()
    return data


def opened(response) -> dict[str, bytes | None]:
    """The archive's entries: a file's bytes, None for a directory."""
    assert response.status_code == 200, response.get_data()[:300]
    assert response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(fetched(response))) as archive:
        assert archive.testzip() is None
        return {n: None if n.endswith("/") else archive.read(n) for n in archive.namelist()}


def zip_of(client, ids, **body):
    return client.post("/api/zip", json={"ids": ids, **body})


def error_code(response) -> str:
    return (response.get_json(silent=True) or {}).get("error", {}).get("code", "")


@pytest.fixture
def alice(client):
    AuthActions(client).signup("alice")
    return client


@pytest.fixture
def bob(app):
    client = app.test_client()
    AuthActions(client).signup("bob")
    return client


@pytest.fixture
def holiday(alice):
    """Holiday/{a.txt, sub/b.txt, sub/deep/c.txt, empty/}, and what went to the trash inside it."""
    top = folder(alice, "Holiday")
    sub = folder(alice, "sub", top)
    deep = folder(alice, "deep", sub)
    folder(alice, "empty", top)
    ids = {"top": top, "sub": sub, "deep": deep, "a": put(alice, "a.txt", b"alpha", top),
           "b": put(alice, "b.txt", b"bravo", sub), "c": put(alice, "c.txt", b"charlie", deep)}
    assert alice.delete(f"/api/files/{put(alice, 'gone.txt', b'trashed', top)}").status_code == 204
    binned = folder(alice, "binned", top)
    put(alice, "inside.txt", b"trashed with its folder", binned)
    assert alice.delete(f"/api/folders/{binned}").status_code == 204
    return ids


HOLIDAY = {"Holiday/a.txt": b"alpha", "Holiday/sub/": None, "Holiday/sub/b.txt": b"bravo",
           "Holiday/sub/deep/": None, "Holiday/sub/deep/c.txt": b"charlie", "Holiday/empty/": None}


def test_a_folder_zip_holds_exactly_its_live_files_with_their_paths(alice, holiday):
    response = alice.get(f"/api/folders/{holiday['top']}/zip")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="Holiday.zip"')
    assert response.headers["Cache-Control"] == "private, no-store"
    assert opened(response) == HOLIDAY


def test_the_folder_zip_is_laid_out_as_the_share_links_zip(app, alice, holiday):
    token = alice.post("/api/shares", json={"item_id": holiday["top"]}).get_json()["token"]
    assert opened(app.test_client().get(f"/s/{token}/zip")) == opened(alice.get(f"/api/folders/{holiday['top']}/zip"))


def test_the_root_zip_is_the_whole_drive(alice, holiday):
    put(alice, "loose.txt", b"at the root")
    response = alice.get("/api/folders/root/zip")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="Download.zip"')
    assert opened(response) == {"Holiday/": None, **HOLIDAY, "loose.txt": b"at the root"}


def test_a_selection_of_two_files_and_a_folder(alice, holiday):
    loose = put(alice, "loose.txt", b"at the root")
    response = zip_of(alice, [holiday["a"], loose, holiday["sub"]], name="Picked")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="Picked.zip"')
    assert opened(response) == {"a.txt": b"alpha", "loose.txt": b"at the root", "sub/": None,
                                "sub/b.txt": b"bravo", "sub/deep/": None, "sub/deep/c.txt": b"charlie"}


def test_a_selection_of_one_item_is_named_after_it_and_repeats_count_once(alice, holiday):
    response = zip_of(alice, [holiday["sub"], holiday["sub"]])
    assert response.headers["Content-Disposition"].startswith('attachment; filename="sub.zip"')
    assert list(opened(response)) == ["sub/", "sub/b.txt", "sub/deep/", "sub/deep/c.txt"]


def test_names_that_clash_at_the_top_are_numbered(alice, holiday):
    other = put(alice, "a.txt", b"another a", holiday["sub"])
    twin = folder(alice, "a.txt")
    assert opened(zip_of(alice, [holiday["a"], other, twin])) == {
        "a.txt": b"alpha", "a (2).txt": b"another a", "a (3).txt/": None}
    upper = put(alice, "A.TXT", b"upper case", holiday["deep"])  # Windows ignores case: a clash too
    assert opened(zip_of(alice, [holiday["a"], upper])) == {"A.TXT": b"upper case", "a (2).txt": b"alpha"}


@pytest.mark.parametrize("name", ["", "a/b", "x" * 300, 7])
def test_a_bad_archive_name_is_refused(alice, holiday, name):
    response = zip_of(alice, [holiday["a"]], name=name)
    assert response.status_code == 400 and error_code(response) == "invalid_name"


@pytest.mark.parametrize("body", [{}, {"ids": []}, {"ids": "abc"}, {"ids": [1]}])
def test_a_selection_needs_a_list_of_ids(alice, body):
    response = alice.post("/api/zip", json=body)
    assert response.status_code == 400 and error_code(response) == "invalid_input"


def test_another_users_id_anywhere_is_404_and_nothing_is_streamed(alice, bob, holiday):
    bobs_file = put(bob, "bob.txt", b"bob's")
    bobs_folder = folder(bob, "Bob's")
    for ids in ([holiday["a"]], [holiday["a"], bobs_file], [holiday["sub"]], [bobs_folder, holiday["b"]]):
        response = zip_of(bob, ids)
        assert response.status_code == 404 and error_code(response) == "item_not_found", ids
        assert response.mimetype == "application/json"
    response = bob.get(f"/api/folders/{holiday['top']}/zip")
    assert response.status_code == 404 and error_code(response) == "folder_not_found"
    for ids in ([holiday["a"], bobs_file], [bobs_folder], ["not-an-id"], ["root"]):
        assert zip_of(alice, ids).status_code == 404, ids


def test_trashed_items_are_not_found(alice, holiday):
    assert alice.delete(f"/api/files/{holiday['a']}").status_code == 204
    assert zip_of(alice, [holiday["a"], holiday["b"]]).status_code == 404
    assert alice.delete(f"/api/folders/{holiday['sub']}").status_code == 204
    assert alice.get(f"/api/folders/{holiday['sub']}/zip").status_code == 404
    assert opened(alice.get(f"/api/folders/{holiday['top']}/zip")) == {"Holiday/empty/": None}


def test_a_viewer_zips_the_shared_folder_but_not_its_parent(alice, bob, holiday):
    response = alice.post(f"/api/items/{holiday['sub']}/members", json={"username": "bob", "role": "viewer"})
    assert response.status_code == 201
    assert opened(bob.get(f"/api/folders/{holiday['sub']}/zip")) == {
        "sub/b.txt": b"bravo", "sub/deep/": None, "sub/deep/c.txt": b"charlie"}
    assert opened(zip_of(bob, [holiday["deep"], holiday["b"]])) == {
        "deep/": None, "deep/c.txt": b"charlie", "b.txt": b"bravo"}
    assert bob.get(f"/api/folders/{holiday['top']}/zip").status_code == 404
    assert zip_of(bob, [holiday["sub"], holiday["a"]]).status_code == 404
    events = alice.get("/api/me/activity?action=zip_downloaded").get_json()["events"]
    bob_id = bob.get("/api/me").get_json()["id"]
    assert [(e["actor_id"], e["target_id"]) for e in events] == [(bob_id, None), (bob_id, holiday["sub"])]
    assert events[0]["details"] == {"count": 2, "ids": [holiday["deep"], holiday["b"]]}


def test_a_form_post_from_the_web_app_downloads_and_one_from_another_site_is_refused(alice, holiday):
    form = {"ids": [holiday["a"], holiday["b"]], "name": "From the page"}
    response = alice.post("/api/zip", data=form, headers={"Origin": PAGE_ORIGIN})
    assert response.headers["Content-Disposition"].endswith("''From%20the%20page.zip")
    assert opened(response) == {"a.txt": b"alpha", "b.txt": b"bravo"}
    response = alice.post("/api/zip", data={"ids": holiday["a"]}, headers={"Referer": PAGE_ORIGIN + "/app"})
    assert opened(response) == {"a.txt": b"alpha"}
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                    {"Referer": "https://evil.example/page"}):
        response = alice.post("/api/zip", data=form, headers=headers)
        assert response.status_code == 403 and error_code(response) == "cross_site_request", headers


def test_a_token_reads_a_folder_zip_and_a_read_token_cannot_post(app, alice, holiday):
    read = alice.post("/api/tokens", json={"name": "look", "scope": "read"}).get_json()["secret"]
    script = app.test_client()
    headers = {"Authorization": f"Bearer {read}"}
    assert opened(script.get(f"/api/folders/{holiday['top']}/zip", headers=headers)) == HOLIDAY
    response = script.post("/api/zip", json={"ids": [holiday["a"]]}, headers=headers)
    assert response.status_code == 403 and error_code(response) == "insufficient_scope"


@pytest.fixture
def app_with(tmp_path):
    """An app with some settings changed, closed after the test."""
    made = []

    def build(**settings):
        made.append(make_app(tmp_path, **settings))
        return made[-1]
    yield build
    for app in made:
        close_database(app)


def test_the_cap_refuses_before_streaming_for_owners_and_links(app_with):
    app = app_with(ZIP_MAX_ENTRIES=3)
    client = app.test_client()
    AuthActions(client).signup("alice")
    top = folder(client, "Top")
    ids = [put(client, f"{n}.txt", b"x", top) for n in range(3)]
    assert len(opened(client.get(f"/api/folders/{top}/zip"))) == 3
    extra = folder(client, "extra", top)
    token = client.post("/api/shares", json={"item_id": top}).get_json()["token"]
    for response in (client.get(f"/api/folders/{top}/zip"), zip_of(client, ids + [extra]),
                     zip_of(client, [top]), app.test_client().get(f"/s/{token}/zip")):
        assert response.status_code == 413 and error_code(response) == "zip_too_large"
        assert "ZIP_MAX_ENTRIES" in response.get_json()["error"]["message"]
    assert client.get(f"/api/shares?item_id={top}").get_json()["shares"][0]["download_count"] == 0


@pytest.fixture
def roomy(app_with):
    """alice on a server that takes 20 MB uploads (the tests' default limits are smaller)."""
    client = app_with(MAX_CONTENT_LENGTH=64 * 1024 * 1024, USER_QUOTA_BYTES=0).test_client()
    AuthActions(client).signup("alice")
    return client


def test_a_large_file_is_streamed_in_chunks(roomy):
    alice = roomy
    data = os.urandom(20 * 1024 * 1024)
    top = folder(alice, "Big")
    put(alice, "big.bin", data, top)
    response = alice.get(f"/api/folders/{top}/zip")
    assert response.status_code == 200 and response.is_streamed
    chunks = [len(chunk) for chunk in response.response]
    response.close()
    assert len(chunks) >= 20 and max(chunks) <= 2 * 1024 * 1024, (len(chunks), max(chunks))


def test_a_large_file_arrives_whole(roomy):
    alice = roomy
    data = os.urandom(20 * 1024 * 1024)
    file_id = put(alice, "big.bin", data)
    with zipfile.ZipFile(io.BytesIO(fetched(zip_of(alice, [file_id])))) as archive:
        assert hashlib.sha256(archive.read("big.bin")).digest() == hashlib.sha256(data).digest()


def test_asking_first_checks_everything_and_sends_and_records_nothing(alice, bob, holiday, app_with):
    """`check: true` (what the web app asks before a download): 204 when the ZIP can be made,
    the same refusals as the download otherwise; no body, no audit event. HEAD does the same for
    a folder."""
    assert zip_of(alice, [holiday["a"], holiday["sub"]], check=True).status_code == 204
    assert alice.head(f"/api/folders/{holiday['top']}/zip").status_code == 200
    binned = put(alice, "binned.txt", b"to the trash", holiday["top"])
    assert alice.delete(f"/api/files/{binned}").status_code == 204
    response = zip_of(alice, [holiday["a"], binned], check=True)
    assert response.status_code == 404 and error_code(response).endswith("not_found")
    bobs = put(bob, "bob.txt", b"bob's")
    assert error_code(zip_of(alice, [holiday["a"], bobs], check=True)).endswith("not_found")
    assert alice.get("/api/me/activity?action=zip_downloaded").get_json()["events"] == []
    small = app_with(ZIP_MAX_ENTRIES=1).test_client()
    AuthActions(small).signup("carol")
    ids = [put(small, f"{n}.txt", b"x") for n in range(2)]
    assert error_code(zip_of(small, ids, check=True)) == "zip_too_large"

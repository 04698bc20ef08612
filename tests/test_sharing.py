"""Share links and API tokens."""
import hashlib
import io
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import AuthActions
from tests.test_folders import folder, put_file
from tests.conftest import mongo_only


@pytest.fixture
def alice(client, auth):
    auth.signup()
    return client


@pytest.fixture
def stranger(app):
    return app.test_client()


def share(client, item_id, **options):
    response = client.post("/api/shares", json={"item_id": item_id, **options})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return body["token"], body


def get(client, path, **headers):
    response = client.get(path, headers=headers)
    data = response.get_data()
    response.close()
    return response, data


def file_of(client, name="report.txt", data=b"shared bytes", folder_id="root"):
    response = put_file(client, name, data, folder_id)
    assert response.status_code == 201
    return response.get_json()["files"][0]["id"]


# -- share links: each option alone -------------------------------------------------------------

def test_a_plain_link_lets_anyone_download_the_file(alice, stranger):
    token, body = share(alice, file_of(alice))
    assert body["url"].endswith(f"/s/{token}")
    assert len(token) >= 22  # 128+ bits
    info = stranger.get(f"/s/{token}").get_json()
    assert info["item"]["name"] == "report.txt" and info["requires_password"] is False
    response, data = get(stranger, f"/s/{token}/download")
    assert response.status_code == 200 and data == b"shared bytes"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@mongo_only
def test_the_token_is_stored_only_as_a_hash(app, alice):
    token, _ = share(alice, file_of(alice))
    stored = app.extensions["drive_db"].collection("shares").find_one({})
    assert token not in str(stored)
    assert stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest()


@mongo_only
def test_an_expired_link_is_404(app, alice, stranger):
    token, body = share(alice, file_of(alice), expires_at=(datetime.now(timezone.utc) + timedelta(hours=1)).isoformat())
    assert stranger.get(f"/s/{token}").status_code == 200
    app.extensions["drive_db"].collection("shares").update_one(
        {}, {"$set": {"expires_at": datetime.now(timezone.utc) - timedelta(seconds=1)}})
    response = stranger.get(f"/s/{token}")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "share_not_found"
    assert alice.get(f"/api/shares/{body['share']['id']}").get_json()["state"] == "expired"


def test_expiry_in_the_past_is_refused(alice):
    response = alice.post("/api/shares", json={"item_id": file_of(alice), "expires_at": "2001-01-01T00:00:00Z"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_expiry"


def test_a_password_is_asked_once_per_browser_session(alice, app):
    token, _ = share(alice, file_of(alice), password="open sesame")
    visitor = app.test_client()
    assert visitor.get(f"/s/{token}").get_json() == {"type": "file", "requires_password": True, "unlocked": False,
                                                        "mode": "read"}
    response, _ = get(visitor, f"/s/{token}/download")
    assert response.status_code == 401
    wrong = visitor.post(f"/s/{token}/unlock", json={"password": "nope"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "wrong_password"
    assert visitor.post(f"/s/{token}/unlock", json={"password": "open sesame"}).status_code == 200
    response, data = get(visitor, f"/s/{token}/download")
    assert data == b"shared bytes"
    other_browser = app.test_client()
    response, _ = get(other_browser, f"/s/{token}/download")
    assert response.status_code == 401


def test_wrong_share_passwords_are_throttled(alice, stranger):
    token, _ = share(alice, file_of(alice), password="open sesame")
    for _ in range(10):
        stranger.post(f"/s/{token}/unlock", json={"password": "guess"})
    response = stranger.post(f"/s/{token}/unlock", json={"password": "open sesame"})
    assert response.status_code == 429 and "Retry-After" in response.headers


def test_max_downloads_counts_and_then_the_link_is_404(alice, stranger):
    token, body = share(alice, file_of(alice), max_downloads=2)
    assert get(stranger, f"/s/{token}/download")[0].status_code == 200
    assert get(stranger, f"/s/{token}/download", Range="bytes=5-")[0].status_code == 206  # a resume: not counted
    assert get(stranger, f"/s/{token}/download")[0].status_code == 200
    assert get(stranger, f"/s/{token}/download")[0].status_code == 404
    listed = alice.get("/api/shares").get_json()["shares"][0]
    assert (listed["download_count"], listed["state"]) == (2, "exhausted")
    assert listed["last_used_at"] is not None


def test_label_and_edits(alice, stranger):
    token, body = share(alice, file_of(alice), label="for the accountant")
    share_id = body["share"]["id"]
    assert body["share"]["label"] == "for the accountant"
    edited = alice.patch(f"/api/shares/{share_id}", json={"label": "tax 2026", "password": "pw", "max_downloads": 5})
    assert edited.get_json()["label"] == "tax 2026" and edited.get_json()["has_password"] is True
    assert stranger.get(f"/s/{token}").get_json()["requires_password"] is True
    alice.patch(f"/api/shares/{share_id}", json={"password": None})
    assert stranger.get(f"/s/{token}").get_json()["unlocked"] is True


def test_options_combined(alice, app):
    expires = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    token, _ = share(alice, file_of(alice), password="pw", max_downloads=1, expires_at=expires, label="all")
    visitor = app.test_client()
    assert get(visitor, f"/s/{token}/download")[0].status_code == 401
    visitor.post(f"/s/{token}/unlock", json={"password": "pw"})
    info = visitor.get(f"/s/{token}").get_json()
    assert info["downloads_left"] == 1 and info["label"] == "all" and info["expires_at"]
    assert get(visitor, f"/s/{token}/download")[0].status_code == 200
    assert get(visitor, f"/s/{token}/download")[0].status_code == 404


def test_revoked_unknown_and_malformed_links_are_the_same_404(alice, stranger):
    token, body = share(alice, file_of(alice))
    assert alice.delete(f"/api/shares/{body['share']['id']}").status_code == 204
    answers = [stranger.get(f"/s/{t}") for t in (token, "x" * 32, "short", token[:-1] + "A")]
    assert {r.status_code for r in answers} == {404}
    assert len({r.get_data() for r in answers}) == 1


def test_trashing_stops_links_restoring_brings_back_only_unrevoked_ones(alice, stranger):
    fid = file_of(alice)
    keep, _ = share(alice, fid)
    revoked, body = share(alice, fid)
    alice.delete(f"/api/shares/{body['share']['id']}")
    alice.delete(f"/api/files/{fid}")
    assert stranger.get(f"/s/{keep}").status_code == 404
    states = {s["state"] for s in alice.get(f"/api/shares?item_id={fid}").get_json()["shares"]}
    assert states == {"item_unavailable", "revoked"}
    alice.post(f"/api/trash/{fid}/restore")
    assert stranger.get(f"/s/{keep}").status_code == 200
    assert stranger.get(f"/s/{revoked}").status_code == 404


def test_a_link_to_a_file_in_a_trashed_folder_stops_working(alice, stranger):
    docs = folder(alice, "Docs")
    token, _ = share(alice, file_of(alice, folder_id=docs))
    alice.delete(f"/api/folders/{docs}")
    assert stranger.get(f"/s/{token}").status_code == 404
    assert get(stranger, f"/s/{token}/download")[0].status_code == 404


def test_an_html_page_for_browsers_never_renders_names_as_html(alice, stranger):
    token, _ = share(alice, file_of(alice, name="<img src=x onerror=alert(1)>.txt"))
    response = stranger.get(f"/s/{token}", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;.txt" in page
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_the_password_form_works_in_a_browser(alice, stranger):
    token, _ = share(alice, file_of(alice), password="pw")
    html = {"Accept": "text/html"}
    assert "Password" in stranger.get(f"/s/{token}", headers=html).get_data(as_text=True)
    response = stranger.post(f"/s/{token}/unlock", data={"password": "bad"}, headers=html)
    assert response.status_code == 303 and "error=wrong_password" in response.headers["Location"]
    response = stranger.post(f"/s/{token}/unlock", data={"password": "pw"}, headers=html)
    assert response.status_code == 303
    assert "Download" in stranger.get(f"/s/{token}", headers=html).get_data(as_text=True)


# -- folders ------------------------------------------------------------------------------------

@pytest.fixture
def shared_folder(alice):
    top = folder(alice, "Holiday")
    sub = folder(alice, "Día 1", top)
    files = {"Holiday/notes.txt": b"notes", "Holiday/Día 1/café.jpg": b"\xff\xd8jpeg",
             "Holiday/Día 1/Café.JPG (1)": b"looks like a duplicate"}
    file_of(alice, "notes.txt", files["Holiday/notes.txt"], top)
    file_of(alice, "café.jpg", files["Holiday/Día 1/café.jpg"], sub)
    file_of(alice, "Café.JPG (1)", files["Holiday/Día 1/Café.JPG (1)"], sub)
    folder(alice, "empty", top)
    token, _ = share(alice, top)
    return token, top, sub, files


def test_a_folder_link_lists_contents_and_serves_single_files(shared_folder, stranger):
    token, top, sub, files = shared_folder
    listing = stranger.get(f"/s/{token}/items").get_json()
    assert [i["name"] for i in listing["items"]] == ["Día 1", "empty", "notes.txt"]
    inner = stranger.get(f"/s/{token}/items?folder_id={sub}").get_json()
    assert {i["name"] for i in inner["items"]} == {"café.jpg", "Café.JPG (1)"}
    file_id = next(i["id"] for i in inner["items"] if i["name"] == "café.jpg")
    response, data = get(stranger, f"/s/{token}/files/{file_id}")
    assert data == files["Holiday/Día 1/café.jpg"]


def test_a_folder_link_gives_nothing_outside_the_folder(alice, shared_folder, stranger):
    token, *_ = shared_folder
    outside_file = file_of(alice, "private.txt", b"private")
    outside_folder = folder(alice, "Private")
    assert get(stranger, f"/s/{token}/files/{outside_file}")[0].status_code == 404
    assert stranger.get(f"/s/{token}/items?folder_id={outside_folder}").status_code == 404
    assert get(stranger, f"/s/{token}/zip?folder_id={outside_folder}")[0].status_code == 404


def test_the_zip_of_a_folder_opens_and_matches_byte_for_byte(shared_folder, stranger):
    token, _, _, files = shared_folder
    response, data = get(stranger, f"/s/{token}/zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="Holiday.zip"')
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert "Holiday/empty/" in names
        contents = {n: archive.read(n) for n in names if not n.endswith("/")}
    assert contents == files


def test_zip_of_a_file_link_is_404(alice, stranger):
    token, _ = share(alice, file_of(alice))
    assert get(stranger, f"/s/{token}/zip")[0].status_code == 404
    assert stranger.get(f"/s/{token}/items").status_code == 404


def test_another_user_cannot_see_edit_or_revoke_my_links(app, alice):
    token, body = share(alice, file_of(alice))
    bob = app.test_client()
    AuthActions(bob).signup("bob")
    share_id = body["share"]["id"]
    assert bob.get(f"/api/shares/{share_id}").status_code == 404
    assert bob.patch(f"/api/shares/{share_id}", json={"label": "mine"}).status_code == 404
    assert bob.delete(f"/api/shares/{share_id}").status_code == 404
    assert bob.get("/api/shares").get_json()["shares"] == []
    assert bob.post("/api/shares", json={"item_id": body["share"]["item_id"]}).status_code == 404
    assert alice.get(f"/api/shares/{share_id}").get_json()["state"] == "active"


# -- API tokens -----------------------------------------------------------------------------------

def make_token(client, scope="read-write", **extra):
    response = client.post("/api/tokens", json={"name": "script", "scope": scope, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def test_a_token_authenticates_every_api_call_without_a_cookie(alice, app):
    secret = make_token(alice)["secret"]
    script = app.test_client()
    assert script.get("/api/me", headers=bearer(secret)).get_json()["username"] == "alice"
    body, ctype = __import__("tests.conftest", fromlist=["multipart_body"]).multipart_body(
        [("file", "from-script.txt", b"hi", "text/plain")])
    response = script.post("/api/upload", data=body, content_type=ctype,
                           headers={**bearer(secret), "Origin": "https://elsewhere.example"})
    assert response.status_code == 201
    assert script.get_cookie("session") is None


def test_a_read_token_cannot_change_anything(alice, app):
    fid = file_of(alice)
    secret = make_token(alice, scope="read")["secret"]
    script = app.test_client()
    assert script.get(f"/api/files/{fid}/info", headers=bearer(secret)).status_code == 200
    response = script.delete(f"/api/files/{fid}", headers=bearer(secret))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "insufficient_scope"
    assert script.post("/api/folders", json={"name": "x"}, headers=bearer(secret)).status_code == 403
    assert alice.get(f"/api/files/{fid}/info").status_code == 200


@mongo_only
def test_a_revoked_or_expired_token_is_401(alice, app):
    made = make_token(alice)
    script = app.test_client()
    assert alice.delete(f"/api/tokens/{made['token']['id']}").status_code == 204
    assert script.get("/api/me", headers=bearer(made["secret"])).status_code == 401
    soon = make_token(alice, expires_at=(datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat())
    app.extensions["drive_db"].collection("api_tokens").update_one(
        {}, {"$set": {"expires_at": datetime.now(timezone.utc) - timedelta(seconds=1)}})
    assert script.get("/api/me", headers=bearer(soon["secret"])).status_code == 401
    assert script.get("/api/me", headers=bearer("cdt_not-a-real-token")).status_code == 401


@mongo_only
def test_tokens_are_listed_with_use_but_never_their_secret(app, alice):
    made = make_token(alice)
    app.test_client().get("/api/me", headers=bearer(made["secret"]))
    listed = alice.get("/api/tokens").get_json()["tokens"]
    assert [t["name"] for t in listed] == ["script"] and listed[0]["last_used_at"]
    assert made["secret"] not in alice.get("/api/tokens").get_data(as_text=True)
    stored = app.extensions["drive_db"].collection("api_tokens").find_one({})
    assert made["secret"] not in str(stored)


def test_a_token_cannot_manage_tokens(alice, app):
    secret = make_token(alice)["secret"]
    script = app.test_client()
    response = script.post("/api/tokens", json={"name": "more", "scope": "read"}, headers=bearer(secret))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "session_required"


@pytest.mark.parametrize("payload, code", [({"name": "", "scope": "read"}, "invalid_name"),
                                           ({"name": "x", "scope": "admin"}, "invalid_scope"),
                                           ({"name": "x", "scope": "read", "expires_at": "soon"}, "invalid_expiry")])
def test_token_input_is_validated(alice, payload, code):
    response = alice.post("/api/tokens", json=payload)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == code


def test_another_users_token_ids_are_404(app, alice):
    made = make_token(alice)
    bob = app.test_client()
    AuthActions(bob).signup("bob")
    assert bob.delete(f"/api/tokens/{made['token']['id']}").status_code == 404
    assert app.test_client().get("/api/me", headers=bearer(made["secret"])).status_code == 200


def test_only_a_file_drop_page_may_run_a_script(alice, stranger):
    """The file-drop page loads its own script (this origin only, nothing inline); every other
    page of a link allows none."""
    folder = alice.post("/api/folders", json={"name": "Inbox"}).get_json()
    made = alice.post("/api/shares", json={"item_id": folder["id"], "mode": "upload"}).get_json()
    response = stranger.get(f"/s/{made['token']}", headers={"Accept": "text/html"})
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "default-src 'none'" in policy
    assert 'src="/static/drop.js"' in response.get_data(as_text=True)

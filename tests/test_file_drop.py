"""Upload-only links ("file drops", issue 16): strangers upload into a folder through a link
and see nothing of it but what their own browser uploaded; the link's limits and the owner's
quota hold, also under parallel uploads on a live Gunicorn."""
from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import upload

JSON = {"Accept": "application/json"}


def drop(client, name: str, data: bytes, token: str, **headers):
    return client.post(f"/s/{token}/upload", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", headers={**JSON, **headers})


@pytest.fixture
def inbox(client, auth):
    """alice's folder "Inbox" with a file of hers in it, and an upload-only link to it."""
    auth.signup()
    folder = client.post("/api/folders", json={"name": "Inbox", "parent_id": "root"}).get_json()
    upload(client, ("secret.txt", b"alice's own"), query=f"?folder_id={folder['id']}")
    made = client.post("/api/shares", json={"item_id": folder["id"], "mode": "upload"})
    assert made.status_code == 201 and made.get_json()["share"]["mode"] == "upload"
    return {"folder": folder, "token": made.get_json()["token"], "share": made.get_json()["share"]}


def names_in(client, folder_id: str) -> list[str]:
    return sorted(i["name"] for i in client.get(f"/api/folders/{folder_id}/children").get_json()["items"])


def test_strangers_upload_and_see_nothing_of_the_folder(client, make_client, inbox):
    token = inbox["token"]
    stranger = make_client()
    info = stranger.get(f"/s/{token}", headers=JSON).get_json()
    assert info["mode"] == "upload" and info["item"]["name"] == "Inbox" and info["uploaded"] == []
    answer = drop(stranger, "secret.txt", b"from a stranger", token)
    # Stored as "secret (1).txt" (nothing replaced), but the stranger is told the name they sent:
    # the renaming would tell them the folder holds a "secret.txt".
    assert answer.status_code == 201 and answer.get_json() == {"files": [{"name": "secret.txt", "size": 15}]}
    assert names_in(client, inbox["folder"]["id"]) == ["secret (1).txt", "secret.txt"]
    theirs = next(i for i in client.get(f"/api/folders/{inbox['folder']['id']}/children").get_json()["items"]
                  if i["name"] == "secret.txt")
    for path in (f"/s/{token}/items", f"/s/{token}/zip", f"/s/{token}/download", f"/s/{token}/files/{theirs['id']}"):
        assert stranger.get(path, headers=JSON).status_code == 404, path
    assert stranger.get(f"/s/{token}", headers=JSON).get_json()["uploaded"] == [{"name": "secret.txt", "size": 15}]
    assert make_client().get(f"/s/{token}", headers=JSON).get_json()["uploaded"] == []  # another browser: nothing
    listed = client.get("/api/shares").get_json()["shares"][0]
    assert (listed["uploaded_files"], listed["uploaded_bytes"]) == (1, 15)
    activity = client.get("/api/me/activity?action=link_uploaded").get_json()["events"]
    assert len(activity) == 1 and activity[0]["address"] == "127.0.0.1"


def test_a_read_link_takes_no_upload_and_an_upload_link_goes_on_folders_only(client, make_client, uploaded):
    read = client.post("/api/shares", json={"item_id": uploaded["id"]}).get_json()["token"]
    assert drop(make_client(), "x.txt", b"x", read).status_code == 404
    for body, code in [({"mode": "upload"}, "invalid_input"),  # a file
                       ({"mode": "write"}, "invalid_input"),
                       ({"max_files": 3}, "invalid_input")]:
        answer = client.post("/api/shares", json={"item_id": uploaded["id"], **body})
        assert answer.status_code == 400 and answer.get_json()["error"]["code"] == code, body
    folder = client.post("/api/folders", json={"name": "F", "parent_id": "root"}).get_json()
    answer = client.post("/api/shares", json={"item_id": folder["id"], "mode": "upload", "max_downloads": 3})
    assert answer.get_json()["error"]["code"] == "invalid_max_downloads"
    share = client.post("/api/shares", json={"item_id": folder["id"]}).get_json()["share"]
    assert client.patch(f"/api/shares/{share['id']}", json={"max_files": 2}).status_code == 400


def test_the_links_limits_hold_and_a_refusal_costs_nothing(client, make_client, inbox):
    share_id = inbox["share"]["id"]
    assert client.patch(f"/api/shares/{share_id}", json={"max_file_bytes": 100, "max_files": 2,
                                                         "max_total_bytes": 150}).status_code == 200
    token, stranger = inbox["token"], make_client()
    big = drop(stranger, "big.bin", b"x" * 101, token)
    assert big.status_code == 413 and "100 B" in big.get_json()["error"]["message"]
    assert drop(stranger, "a.bin", b"x" * 100, token).status_code == 201
    over_total = drop(stranger, "b.bin", b"x" * 60, token)
    assert over_total.status_code == 409 and over_total.get_json()["error"]["code"] == "link_full"
    assert drop(stranger, "b.bin", b"x" * 50, token).status_code == 201
    assert drop(stranger, "c.bin", b"x", token).get_json()["error"]["code"] == "link_full"
    listed = client.get("/api/shares").get_json()["shares"][0]
    assert (listed["uploaded_files"], listed["uploaded_bytes"], listed["state"]) == (2, 150, "exhausted")
    assert names_in(client, inbox["folder"]["id"]) == ["a.bin", "b.bin", "secret.txt"]
    assert stranger.get(f"/s/{token}", headers=JSON).status_code == 200  # a full drop still says so


def test_the_owners_quota_counts_and_its_figures_stay_private(app, client, make_client, inbox):
    me = client.get("/api/me").get_json()
    app.extensions["drive_services"].auth.users.update(me["id"], {"quota_bytes": me["used_bytes"] + 10})
    answer = drop(make_client(), "photo.jpg", b"x" * 100, inbox["token"])
    assert answer.status_code == 507
    message = answer.get_json()["error"]["message"]
    assert "owner" in message and not re.search(r"\d", message)  # no figure of someone else's quota
    assert client.get("/api/me").get_json()["used_bytes"] == me["used_bytes"]
    assert client.get("/api/shares").get_json()["shares"][0]["uploaded_files"] == 0


def test_a_password_expiry_revocation_and_other_sites_are_respected(client, make_client, inbox):
    share_id, token = inbox["share"]["id"], inbox["token"]
    client.patch(f"/api/shares/{share_id}", json={"password": "open sesame"})
    stranger = make_client()
    locked = drop(stranger, "a.txt", b"a", token)
    assert locked.status_code == 401 and locked.get_json()["error"]["code"] == "password_required"
    assert stranger.post(f"/s/{token}/unlock", json={"password": "open sesame"}).status_code == 200
    assert drop(stranger, "a.txt", b"a", token, Origin="https://evil.example").status_code == 403
    assert drop(stranger, "a.txt", b"a", token).status_code == 201
    client.delete(f"/api/shares/{share_id}")
    assert drop(stranger, "b.txt", b"b", token).status_code == 404
    assert names_in(client, inbox["folder"]["id"]) == ["a.txt", "secret.txt"]


def test_the_links_page_uploads_without_javascript(make_client, inbox):
    token, visitor = inbox["token"], make_client()
    page = visitor.get(f"/s/{token}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Upload to “Inbox”" in page and "secret.txt" not in page and 'enctype="multipart/form-data"' in page
    sent = visitor.post(f"/s/{token}/upload?from_page=1", data={"file": (io.BytesIO(b"hello"), "hello.txt")},
                        content_type="multipart/form-data", headers={"Accept": "text/html"})
    assert sent.status_code == 303 and sent.headers["Location"].endswith("?uploaded=1")
    page = visitor.get(sent.headers["Location"], headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Uploaded 1 file." in page and "hello.txt" in page
    forged = visitor.get(f"/s/{token}?uploaded=all+your+files+are+safe", headers={"Accept": "text/html"})
    assert "all your files" not in forged.get_data(as_text=True)  # the page says nothing it was not told by us
    empty = visitor.post(f"/s/{token}/upload?from_page=1", data={}, content_type="multipart/form-data",
                         headers={"Accept": "text/html"})
    assert empty.headers["Location"].endswith("?error=missing_file")


@pytest.mark.e2e
def test_parallel_uploads_never_pass_the_links_file_limit(server):
    owner = requests.Session()
    owner.post(server.url("/api/register"), json={"username": "olga", "password": "password123"}, timeout=30)
    owner.post(server.url("/api/login"), json={"username": "olga", "password": "password123"}, timeout=30)
    folder = owner.post(server.url("/api/folders"), json={"name": "Drop", "parent_id": "root"}, timeout=30).json()
    made = owner.post(server.url("/api/shares"), json={"item_id": folder["id"], "mode": "upload", "max_files": 5},
                      timeout=30).json()

    def send(number: int) -> int:
        return requests.post(server.url(f"/s/{made['token']}/upload"), headers=JSON, timeout=60,
                             files={"file": ("report.pdf", f"copy {number}".encode() * 1000)}).status_code
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(send, range(20)))
    assert sorted(answers) == [201] * 5 + [409] * 15
    items = owner.get(server.url(f"/api/folders/{folder['id']}/children?limit=100"), timeout=30).json()["items"]
    assert len(items) == 5 and len({i["name"] for i in items}) == 5  # renamed, never replaced
    share = owner.get(server.url("/api/shares"), timeout=30).json()["shares"][0]
    assert share["uploaded_files"] == 5 and share["uploaded_bytes"] == sum(i["size"] for i in items)
    usage = owner.get(server.url("/api/me/usage"), timeout=30).json()
    assert usage["used_bytes"] == sum(i["size"] for i in items)

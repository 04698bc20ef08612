"""Sharing with users (issue 16): grants on files and folders, "Shared with me", and the one
access rule behind every item route. The user stories of the issue, on both databases."""
from __future__ import annotations

import hashlib
import io

import pytest

from tests.conftest import AuthActions, upload

PASSWORD = "correct horse"


def signup(app, username):
    client = app.test_client()
    AuthActions(client).signup(username, PASSWORD)
    return client


def mkdir(client, name, parent="root"):
    response = client.post("/api/folders", json={"name": name, "parent_id": parent})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def put(client, name, data, folder_id="root", on_conflict=None, **headers):
    query = f"?folder_id={folder_id}" + (f"&on_conflict={on_conflict}" if on_conflict else "")
    return upload(client, (name, data, "text/plain"), query=query, **headers)


def stored(client, name, data, folder_id="root", **kwargs):
    response = put(client, name, data, folder_id, **kwargs)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["files"][0]


def share(client, item_id, username, role="editor", **more):
    return client.post(f"/api/items/{item_id}/members", json={"username": username, "role": role, **more})


def content(client, file_id):
    response = client.get(f"/api/files/{file_id}")
    assert response.status_code == 200, response.get_json()
    data = response.get_data()
    response.close()
    return data


def code(response):
    return (response.get_json(silent=True) or {}).get("error", {}).get("code")


@pytest.fixture
def people(app):
    alice, bob, carol = (signup(app, name) for name in ("alice", "bob", "carol"))
    return app, alice, bob, carol


def usage(client):
    return client.get("/api/me/usage").get_json()["used_bytes"]


def test_the_project_story(people):
    """alice shares "Project" with bob as editor; bob works in it; alice downgrades, then
    revokes; carol never gets in."""
    app, alice, bob, carol = people
    project = mkdir(alice, "Project")["id"]
    plan = stored(alice, "plan.txt", b"alice's plan", project)
    private = stored(alice, "private.txt", b"not for bob")
    response = share(alice, project, "bob")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["role"] == "editor" and response.get_json()["username"] == "bob"

    # bob finds it under "Shared with me", not in his own drive.
    listed = bob.get("/api/shared-with-me").get_json()
    assert listed["total"] == 1
    row = listed["shared"][0]
    assert row["owner"] == "alice" and row["role"] == "editor" and row["item"]["id"] == project
    assert row["item"]["parent_id"] is None  # nothing above the share
    assert bob.get("/api/files").get_json()["total"] == 0
    assert bob.get("/api/folders/tree").get_json()["children"] == []
    assert bob.get("/api/search?q=plan").get_json()["total"] == 0

    # bob lists, downloads, uploads, renames, replaces (a version alice sees), trashes, restores.
    names = [i["name"] for i in bob.get(f"/api/folders/{project}/children").get_json()["items"]]
    assert names == ["plan.txt"]
    assert content(bob, plan["id"]) == b"alice's plan"
    crumbs = bob.get(f"/api/folders/{project}/path").get_json()["path"]
    assert [c["name"] for c in crumbs] == ["Project"]
    alice_before = usage(alice)
    notes = stored(bob, "notes.txt", b"bob's notes", project)
    assert usage(alice) == alice_before + len(b"bob's notes")  # the owner pays
    assert usage(bob) == 0
    renamed = bob.patch(f"/api/files/{notes['id']}", json={"name": "meeting notes.txt"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "meeting notes.txt"
    replaced = stored(bob, "plan.txt", b"bob's better plan", project, on_conflict="replace")
    assert replaced["id"] == plan["id"] and replaced["revision"] == 2
    assert content(alice, plan["id"]) == b"bob's better plan"
    versions = alice.get(f"/api/files/{plan['id']}/versions").get_json()["versions"]
    assert [v["size"] for v in versions] == [len(b"alice's plan")]
    assert bob.delete(f"/api/files/{notes['id']}").status_code == 204
    trashed = alice.get("/api/trash").get_json()["items"]
    assert [(t["name"], t.get("trashed_by")) for t in trashed] == [("meeting notes.txt", "bob")]
    assert bob.get("/api/trash").get_json()["total"] == 0
    restored = bob.post(f"/api/trash/{notes['id']}/restore")
    assert restored.status_code == 200, restored.get_json()
    assert "trashed_by" not in restored.get_json()["item"]
    sub = bob.post("/api/folders", json={"name": "Drafts", "parent_id": project})
    assert sub.status_code == 201

    # Some things stay the owner's, and nothing leaves the share.
    assert code(bob.delete(f"/api/files/{notes['id']}?permanent=true")) == "owner_only"
    assert code(bob.delete(f"/api/folders/{project}")) == "owner_only"
    assert code(bob.patch(f"/api/files/{notes['id']}", json={"parent_id": "root"})) == "outside_share"
    assert code(bob.patch(f"/api/folders/{project}", json={"parent_id": "root"})) == "owner_only"
    # Renaming the shared folder itself would test names in alice's folder above it.
    assert code(bob.patch(f"/api/folders/{project}", json={"name": "Anything"})) == "owner_only"
    assert code(bob.put(f"/api/files/{notes['id']}/star")) == "owner_only"
    assert bob.get(f"/api/folders/{project}").get_json()["parent_id"] is None

    # alice downgrades bob: his next write is a 403, reads keep working.
    assert alice.patch(f"/api/items/{project}/members/bob", json={"role": "viewer"}).status_code == 200
    assert code(put(bob, "more.txt", b"more", project)) == "read_only"
    assert code(bob.patch(f"/api/files/{plan['id']}", json={"name": "x.txt"})) == "read_only"
    assert code(bob.delete(f"/api/files/{plan['id']}")) == "read_only"
    assert code(bob.post("/api/folders", json={"name": "x", "parent_id": project})) == "read_only"
    assert content(bob, plan["id"]) == b"bob's better plan"
    assert bob.get(f"/api/files/{plan['id']}/versions").status_code == 200

    # alice revokes: every id bob saw is a 404, as for carol who never had a grant.
    assert alice.delete(f"/api/items/{project}/members/bob").status_code == 204
    seen = [project, plan["id"], notes["id"], sub.get_json()["id"]]
    for client in (bob, carol):
        for item_id in seen:
            for path in (f"/api/files/{item_id}", f"/api/files/{item_id}/info", f"/api/folders/{item_id}",
                         f"/api/folders/{item_id}/children", f"/api/items/{item_id}/members"):
                response = client.get(path)
                assert response.status_code == 404, (path, response.status_code)
                response.close()
        assert client.get("/api/shared-with-me").get_json()["total"] == 0
        assert client.get(f"/api/files/{private['id']}").status_code == 404
    assert content(alice, private["id"]) == b"not for bob"


def test_a_viewer_copies_to_their_own_drive_and_pays_for_it(people):
    app, alice, bob, _ = people
    folder = mkdir(alice, "Photos")["id"]
    inner = mkdir(alice, "2026", folder)["id"]
    stored(alice, "a.jpg", b"A" * 1000, inner)
    stored(alice, "b.jpg", b"B" * 500, folder)
    assert share(alice, folder, "bob", "viewer").status_code == 201
    alice_usage = usage(alice)
    copied = bob.post(f"/api/folders/{folder}/copy", json={"parent_id": "root"})
    assert copied.status_code == 201, copied.get_json()
    assert copied.get_json()["parent_id"] == "root" and copied.get_json()["name"] == "Photos"
    assert usage(bob) == 1500 and usage(alice) == alice_usage
    paths = {f["name"]: f for f in bob.get("/api/files").get_json()["files"]}
    assert set(paths) == {"a.jpg", "b.jpg"}
    assert content(bob, paths["a.jpg"]["id"]) == b"A" * 1000
    # Beside the original would be a write in alice's folder: not for a viewer.
    b_file = [i for i in bob.get(f"/api/folders/{folder}/children").get_json()["items"] if i["type"] == "file"][0]
    assert code(bob.post(f"/api/files/{b_file['id']}/copy")) == "read_only"


def test_copy_to_my_drive_is_refused_past_the_copiers_quota(tmp_path):
    from tests.conftest import make_app
    app = make_app(tmp_path, USER_QUOTA_BYTES=1000)
    alice, bob = signup(app, "alice"), signup(app, "bob")
    big = stored(alice, "big.bin", b"x" * 900)
    stored(bob, "mine.bin", b"y" * 300)
    assert share(alice, big["id"], "bob", "viewer").status_code == 201
    response = bob.post(f"/api/files/{big['id']}/copy", json={"parent_id": "root"})
    assert response.status_code == 507, response.get_json()
    assert usage(bob) == 300 and bob.get("/api/files").get_json()["total"] == 1


def test_an_editors_upload_is_refused_past_the_owners_quota(tmp_path):
    from tests.conftest import make_app
    app = make_app(tmp_path, USER_QUOTA_BYTES=1000)
    alice, bob = signup(app, "alice"), signup(app, "bob")
    folder = mkdir(alice, "Shared")["id"]
    stored(alice, "mine.bin", b"x" * 800)
    assert share(alice, folder, "bob").status_code == 201
    response = put(bob, "big.bin", b"z" * 400, folder)
    assert response.status_code == 507, response.get_json()
    assert usage(alice) == 800 and usage(bob) == 0
    assert stored(bob, "small.bin", b"z" * 100, folder)["size"] == 100
    assert usage(alice) == 900


def test_if_match_stops_two_editors_overwriting_each_other(people):
    app, alice, bob, _ = people
    folder = mkdir(alice, "Docs")["id"]
    doc = stored(alice, "doc.txt", b"first", folder)
    assert share(alice, folder, "bob").status_code == 201
    etag = f'"{doc["sha256"]}"'
    # Both read the same version; alice saves first, bob's save is refused, nothing is lost.
    assert put(alice, "doc.txt", b"alice's edit", folder, "replace", **{"If-Match": etag}).status_code == 201
    refused = put(bob, "doc.txt", b"bob's edit", folder, "replace", **{"If-Match": etag})
    assert refused.status_code == 412 and code(refused) == "precondition_failed"
    assert content(bob, doc["id"]) == b"alice's edit"
    new_etag = '"%s"' % hashlib.sha256("alice's edit".encode()).hexdigest()
    assert put(bob, "doc.txt", b"bob's edit", folder, "replace", **{"If-Match": new_etag}).status_code == 201
    # PATCH and version restore take it too; the download's ETag is the same value.
    response = bob.get(f"/api/files/{doc['id']}")
    current = response.headers["ETag"]
    response.close()
    assert code(bob.patch(f"/api/files/{doc['id']}", json={"name": "d.txt"}, headers={"If-Match": etag})) \
        == "precondition_failed"
    assert bob.patch(f"/api/files/{doc['id']}", json={"name": "d.txt"}, headers={"If-Match": current}).status_code \
        == 200
    version = bob.get(f"/api/files/{doc['id']}/versions").get_json()["versions"][0]["id"]
    assert bob.post(f"/api/files/{doc['id']}/versions/{version}/restore",
                    headers={"If-Match": etag}).status_code == 412
    assert bob.post(f"/api/files/{doc['id']}/versions/{version}/restore",
                    headers={"If-Match": current}).status_code == 200
    # If-Match for a name that holds no file, or without replace, stores nothing.
    assert put(bob, "nothing.txt", b"x", folder, "replace", **{"If-Match": current}).status_code == 412
    assert code(put(bob, "other.txt", b"x", folder, **{"If-Match": current})) == "invalid_input"
    names = {i["name"] for i in alice.get(f"/api/folders/{folder}/children").get_json()["items"]}
    assert names == {"d.txt"}


def test_grant_management_rules(people):
    app, alice, bob, carol = people
    folder = mkdir(alice, "Team")["id"]
    inner = mkdir(alice, "Inner", folder)["id"]
    assert code(share(alice, folder, "nobody")) == "user_not_found"
    assert code(share(alice, folder, "alice")) == "invalid_input"
    assert code(share(alice, folder, "bob", "owner")) == "invalid_input"
    assert share(alice, folder, "bob", "viewer").status_code == 201
    assert code(share(alice, folder, "BOB")) == "already_member"
    # bob may not share on without the flag; with it, never wider than his own role.
    assert code(share(bob, folder, "carol", "viewer")) == "owner_only"
    assert bob.get(f"/api/items/{folder}/members").status_code == 403
    assert alice.patch(f"/api/items/{folder}/members/bob", json={"can_reshare": True}).status_code == 200
    assert code(share(bob, inner, "carol", "editor")) == "owner_only"
    assert share(bob, inner, "carol", "viewer").status_code == 201
    members = alice.get(f"/api/items/{inner}/members").get_json()["members"]
    assert [(m["username"], m["role"], m["granted_by"]) for m in members] == [("carol", "viewer", "bob")]
    # carol sees only Inner: its parent (alice's Team) stays hidden.
    row = carol.get("/api/shared-with-me").get_json()["shared"][0]
    assert row["item"]["id"] == inner and row["item"]["parent_id"] is None
    assert carol.get(f"/api/folders/{folder}").status_code == 404
    assert [c["name"] for c in carol.get(f"/api/folders/{inner}/path").get_json()["path"]] == ["Inner"]
    # bob's Shared with me shows Team once (Inner is inside it); carol leaves.
    assert [r["item"]["name"] for r in bob.get("/api/shared-with-me").get_json()["shared"]] == ["Team"]
    assert carol.delete(f"/api/items/{inner}/members/carol").status_code == 204
    assert carol.get(f"/api/folders/{inner}").status_code == 404
    # Trashing the shared folder ends access; deleting it for good ends the grants.
    assert alice.delete(f"/api/folders/{folder}").status_code == 204
    assert bob.get(f"/api/folders/{folder}/children").status_code == 404
    assert bob.get("/api/shared-with-me").get_json()["total"] == 0
    assert alice.post(f"/api/trash/{folder}/restore").status_code == 200
    assert bob.get(f"/api/folders/{folder}/children").status_code == 200
    assert alice.delete(f"/api/folders/{folder}?permanent=true").status_code == 204
    services = app.extensions["drive_services"]
    assert services.members.grants.everything() == []


def test_disabling_either_account_ends_access(people):
    app, alice, bob, _ = people
    folder = mkdir(alice, "Box")["id"]
    assert share(alice, folder, "bob").status_code == 201
    users = app.extensions["drive_services"].auth.users
    alice_id = alice.get("/api/me").get_json()["id"]
    users.update(alice_id, {"disabled": True})
    assert bob.get(f"/api/folders/{folder}/children").status_code == 404
    assert bob.get("/api/shared-with-me").get_json()["total"] == 0
    users.update(alice_id, {"disabled": False})
    assert bob.get(f"/api/folders/{folder}/children").status_code == 200


def test_deleting_an_account_removes_its_grants_both_ways(people):
    app, alice, bob, carol = people
    folder = mkdir(alice, "Box")["id"]
    mine = mkdir(bob, "Bob's")["id"]
    assert share(alice, folder, "bob").status_code == 201
    assert share(bob, mine, "carol").status_code == 201
    assert share(alice, folder, "carol").status_code == 201
    response = bob.delete("/api/me", json={"password": PASSWORD})
    assert response.status_code in (200, 204), response.get_json()
    grants = app.extensions["drive_services"].members.grants.everything()
    assert [(g["role"], str(g["item_id"])) for g in grants] == [("editor", folder)]


def tus(client, name, data, folder_id, **more):
    import base64
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                    {"filename": name, "folder_id": folder_id, **more}.items())
    return client.post("/api/tus/", data=data, content_type="application/offset+octet-stream",
                       headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)), "Upload-Metadata": meta})


def test_an_editor_uploads_with_tus_into_the_share_against_the_owners_quota(people):
    app, alice, bob, carol = people
    folder = mkdir(alice, "Inbox")["id"]
    assert share(alice, folder, "bob").status_code == 201
    assert share(alice, folder, "carol", "viewer").status_code == 201
    done = tus(bob, "via-tus.txt", b"resumable bytes", folder)
    assert done.status_code == 201, done.get_json()
    names = {i["name"]: i for i in alice.get(f"/api/folders/{folder}/children").get_json()["items"]}
    assert content(alice, names["via-tus.txt"]["id"]) == b"resumable bytes"
    assert usage(alice) == len(b"resumable bytes") and usage(bob) == 0
    assert code(tus(carol, "no.txt", b"x", folder)) == "read_only"
    # Half an upload, then the grant ends: the rest is refused, the reservation and bytes go on cancel.
    import base64
    meta = f"filename {base64.b64encode(b'half.txt').decode()},folder_id {base64.b64encode(folder.encode()).decode()}"
    started = bob.post("/api/tus/", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10", "Upload-Metadata": meta})
    assert started.status_code == 201
    url = started.headers["Location"]
    assert usage(alice) == len(b"resumable bytes") + 10 and usage(bob) == 0  # alice's quota holds the reservation
    assert alice.delete(f"/api/items/{folder}/members/bob").status_code == 204
    refused = bob.patch(url, data=b"0123456789", content_type="application/offset+octet-stream",
                        headers={"Tus-Resumable": "1.0.0", "Upload-Offset": "0"})
    assert refused.status_code == 404
    assert bob.delete(url, headers={"Tus-Resumable": "1.0.0"}).status_code == 204
    assert usage(alice) == len(b"resumable bytes")
    assert {i["name"] for i in alice.get(f"/api/folders/{folder}/children").get_json()["items"]} == {"via-tus.txt"}


def test_webdav_put_takes_if_match(app):
    import base64
    client = signup(app, "alice")
    basic = {"Authorization": "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()}
    assert client.put("/dav/alice/a.txt", data=b"one", headers=basic).status_code == 201
    stale = client.put("/dav/alice/a.txt", data=b"two", headers={**basic, "If-Match": '"' + "0" * 64 + '"'})
    assert stale.status_code == 412
    current = '"%s"' % hashlib.sha256(b"one").hexdigest()
    assert client.put("/dav/alice/a.txt", data=b"two", headers={**basic, "If-Match": current}).status_code == 204
    response = client.get("/dav/alice/a.txt", headers=basic)
    assert response.get_data() == b"two"
    response.close()


def test_an_editor_grant_below_a_viewer_grant_changes_nothing_in_the_viewed_folder(people):
    """A folder shared as viewer with a subfolder and a file in it shared as editor: the member
    edits inside them, but cannot rename, move or trash them out of the folder they only view."""
    app, alice, bob, _ = people
    top = mkdir(alice, "Top")["id"]
    sub = mkdir(alice, "Sub", top)["id"]
    other = mkdir(alice, "Other")["id"]
    doc = stored(alice, "doc.txt", b"doc", top)
    for item_id, role in ((top, "viewer"), (sub, "editor"), (doc["id"], "editor"), (other, "editor")):
        assert share(alice, item_id, "bob", role).status_code == 201
    assert code(bob.patch(f"/api/folders/{sub}", json={"parent_id": other})) == "read_only"
    assert code(bob.patch(f"/api/folders/{sub}", json={"name": "Renamed"})) == "read_only"
    assert code(bob.delete(f"/api/folders/{sub}")) == "read_only"
    assert code(bob.patch(f"/api/files/{doc['id']}", json={"parent_id": other})) == "read_only"
    assert code(bob.delete(f"/api/files/{doc['id']}")) == "read_only"
    # Inside what he edits, he edits; the file's content is his to replace.
    inner = stored(bob, "inner.txt", b"x", sub)
    assert bob.patch(f"/api/files/{inner['id']}", json={"name": "inner2.txt"}).status_code == 200
    assert {i["name"] for i in alice.get(f"/api/folders/{top}/children").get_json()["items"]} == {"Sub", "doc.txt"}


def test_a_member_searches_inside_the_share_and_sees_no_path_above_it(people):
    app, alice, bob, carol = people
    work = mkdir(alice, "Work")["id"]
    project = mkdir(alice, "Project", work)["id"]
    sub = mkdir(alice, "Sub", project)["id"]
    stored(alice, "plan-a.txt", b"a", project)
    stored(alice, "plan-b.txt", b"b", sub)
    stored(alice, "plan-private.txt", b"p", work)
    stored(alice, "plan-top.txt", b"t")
    assert share(alice, project, "bob", role="viewer").status_code == 201

    found = bob.get(f"/api/search?q=PLAN&folder_id={project}").get_json()
    assert found["total"] == 2
    assert sorted((i["name"], i["path"]) for i in found["items"]) == [("plan-a.txt", "/Project"),
                                                                      ("plan-b.txt", "/Project/Sub")]
    assert [i["name"] for i in bob.get(f"/api/search?q=plan&folder_id={sub}").get_json()["items"]] == ["plan-b.txt"]
    assert bob.get("/api/search?q=plan").get_json()["total"] == 0  # his own drive: none of alice's
    # Outside the share, and for carol, the folder does not exist.
    for client, folder in ((bob, work), (carol, project), (carol, sub)):
        response = client.get(f"/api/search?q=plan&folder_id={folder}")
        assert response.status_code == 404 and code(response) == "folder_not_found"
    # alice searches her own subtree, with her full paths.
    mine = alice.get(f"/api/search?q=plan&folder_id={work}").get_json()["items"]
    assert sorted((i["name"], i["path"]) for i in mine) == [("plan-a.txt", "/Work/Project"),
                                                           ("plan-b.txt", "/Work/Project/Sub"),
                                                           ("plan-private.txt", "/Work")]
    assert alice.get("/api/search?q=plan&folder_id=root").get_json()["total"] == 4
    # Once revoked, the share's ids find nothing.
    assert alice.delete(f"/api/items/{project}/members/bob").status_code == 204
    assert bob.get(f"/api/search?q=plan&folder_id={project}").status_code == 404

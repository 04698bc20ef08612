"""WebDAV inside what other users shared (issue 16): /dav/Shared with me/<item>/... answers as
the API's item routes do, through the same access rule. An editor works there as in their own
drive (bytes counted against the owner, trash going to the owner's, versions the owner sees); a
viewer only reads and copies out; once the grant is gone every path is 404; locks are one per
item, whoever reaches it and how. rclone runs against live Gunicorn in tests/test_dav_clients.py.
"""
from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.test_dav import basic, dav, propfind
from tests.test_members import content, mkdir, share, signup, stored, usage

SHARED = "/dav/Shared%20with%20me"
LOCK = ('<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope>'
        '<d:locktype><d:write/></d:locktype><d:owner>test</d:owner></d:lockinfo>')


@pytest.fixture
def people(app):
    alice, bob, carol = (signup(app, name) for name in ("alice", "bob", "carol"))
    return app, alice, bob, carol


@pytest.fixture
def project(people):
    """alice's "Project" (plan.txt inside), shared with bob as editor; her private.txt beside it."""
    app, alice, bob, carol = people
    folder = mkdir(alice, "Project")["id"]
    plan = stored(alice, "plan.txt", b"alice's plan", folder)
    stored(alice, "private.txt", b"not for bob")
    assert share(alice, folder, "bob").status_code == 201
    return folder, plan


def names(found: dict, under: str) -> set[str]:
    return {href[len(under):].strip("/") for href in found if href.rstrip("/") != under.rstrip("/")}


def files_in(client, folder_id) -> dict[str, dict]:
    listed = client.get(f"/api/folders/{folder_id}/children?limit=200").get_json()
    return {i["name"]: i for i in listed["items"]}


def to(path: str) -> dict:
    return {"Destination": "http://localhost" + path}


def test_an_editor_works_in_the_share_as_in_their_own_drive(people, project):
    app, alice, bob, carol = people
    folder, plan = project
    b = basic("bob")
    top = propfind(bob, "/dav/", {**b}, depth="1")
    assert names(top, "/dav/") == {"bob", "Shared%20with%20me"}
    assert names(propfind(bob, SHARED + "/", b), SHARED + "/") == {"Project"}
    inside = propfind(bob, SHARED + "/Project/", b)
    assert names(inside, SHARED + "/Project/") == {"plan.txt"}  # nothing from beside the share
    assert "{DAV:}quota-used-bytes" not in inside[SHARED + "/Project/"]  # alice's usage is hers
    assert dav(bob, "GET", SHARED + "/Project/plan.txt", b).data == b"alice's plan"

    # A new file: alice's, counted against her quota, not bob's.
    before = usage(alice), usage(bob)
    assert dav(bob, "PUT", SHARED + "/Project/notes.txt", b, data=b"bob's notes").status_code == 201
    assert (usage(alice), usage(bob)) == (before[0] + len(b"bob's notes"), before[1])
    assert content(alice, files_in(alice, folder)["notes.txt"]["id"]) == b"bob's notes"

    # A replace is a version alice sees; If-Match with a stale ETag is refused, not lost.
    etag = propfind(bob, SHARED + "/Project/plan.txt", b, depth="0")[SHARED + "/Project/plan.txt"]["{DAV:}getetag"]
    assert dav(bob, "PUT", SHARED + "/Project/plan.txt", {**b, "If-Match": etag}, data=b"bob's plan").status_code == 204
    stale = dav(bob, "PUT", SHARED + "/Project/plan.txt", {**b, "If-Match": etag}, data=b"lost?")
    assert stale.status_code == 412
    assert content(alice, plan["id"]) == b"bob's plan"
    versions = alice.get(f"/api/files/{plan['id']}/versions").get_json()["versions"]
    assert [v["size"] for v in versions] == [len(b"alice's plan")]  # the one bob replaced, kept

    # Folders, renames and moves inside the share.
    assert dav(bob, "MKCOL", SHARED + "/Project/Drafts", b).status_code == 201
    moved = dav(bob, "MOVE", SHARED + "/Project/notes.txt", {**b, **to(SHARED + "/Project/Drafts/notes-1.txt")})
    assert moved.status_code == 201
    drafts = files_in(alice, folder)["Drafts"]["id"]
    assert list(files_in(alice, drafts)) == ["notes-1.txt"]

    # DELETE: into alice's trash, naming bob; he can restore it through the API.
    assert dav(bob, "DELETE", SHARED + "/Project/Drafts/notes-1.txt", b).status_code == 204
    trashed = alice.get("/api/trash").get_json()["items"]
    assert [(t["name"], t["trashed_by"]) for t in trashed] == [("notes-1.txt", "bob")]
    assert bob.post(f"/api/trash/{trashed[0]['id']}/restore").status_code == 200
    assert list(files_in(alice, drafts)) == ["notes-1.txt"]

    # The shared folder itself stays alice's: not moved, renamed, deleted or overwritten by bob.
    assert dav(bob, "DELETE", SHARED + "/Project", b).status_code == 403
    assert dav(bob, "MOVE", SHARED + "/Project", {**b, **to(SHARED + "/Renamed")}).status_code in (403, 409)
    assert dav(bob, "MOVE", SHARED + "/Project", {**b, **to("/dav/bob/Project")}).status_code == 403
    assert dav(bob, "PUT", SHARED + "/stray.txt", b, data=b"x").status_code == 403
    assert dav(bob, "MKCOL", SHARED + "/Stray", b).status_code == 403
    assert [i["name"] for i in alice.get("/api/folders/root/children").get_json()["items"]] == ["Project", "private.txt"]

    # Between drives: a move is refused (nothing changes), a copy is stored and charged where it lands.
    out = dav(bob, "MOVE", SHARED + "/Project/plan.txt", {**b, **to("/dav/bob/plan.txt")})
    assert out.status_code == 403
    assert "plan.txt" in files_in(alice, folder)
    before = usage(alice), usage(bob)
    assert dav(bob, "COPY", SHARED + "/Project/plan.txt", {**b, **to("/dav/bob/plan.txt")}).status_code == 201
    assert (usage(alice), usage(bob)) == (before[0], before[1] + len(b"bob's plan"))
    assert dav(bob, "PUT", "/dav/bob/mine.txt", b, data=b"from bob's drive").status_code == 201
    before = usage(alice), usage(bob)
    assert dav(bob, "COPY", "/dav/bob/mine.txt", {**b, **to(SHARED + "/Project/mine.txt")}).status_code == 201
    assert (usage(alice), usage(bob)) == (before[0] + len(b"from bob's drive"), before[1])
    assert content(alice, files_in(alice, folder)["mine.txt"]["id"]) == b"from bob's drive"


def test_a_viewer_reads_and_copies_out_but_changes_nothing(people, project):
    app, alice, bob, carol = people
    folder, plan = project
    assert alice.patch(f"/api/items/{folder}/members/bob", json={"role": "viewer"}).status_code == 200
    b = basic("bob")
    assert dav(bob, "GET", SHARED + "/Project/plan.txt", b).data == b"alice's plan"
    patch = ('<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:z="urn:example"><d:set><d:prop>'
             '<z:colour>blue</z:colour></d:prop></d:set></d:propertyupdate>')
    refused = {
        "PUT new": dav(bob, "PUT", SHARED + "/Project/new.txt", b, data=b"x"),
        "PUT over": dav(bob, "PUT", SHARED + "/Project/plan.txt", b, data=b"x"),
        "MKCOL": dav(bob, "MKCOL", SHARED + "/Project/Sub", b),
        "DELETE": dav(bob, "DELETE", SHARED + "/Project/plan.txt", b),
        "MOVE": dav(bob, "MOVE", SHARED + "/Project/plan.txt", {**b, **to(SHARED + "/Project/p.txt")}),
        "COPY in": dav(bob, "COPY", SHARED + "/Project/plan.txt", {**b, **to(SHARED + "/Project/p.txt")}),
        "PROPPATCH": dav(bob, "PROPPATCH", SHARED + "/Project/plan.txt", b, data=patch),
    }
    for what, response in refused.items():
        assert response.status_code == 403 or (what == "PROPPATCH" and b"403" in response.data), what
    assert sorted(files_in(alice, folder)) == ["plan.txt"]
    assert content(alice, plan["id"]) == b"alice's plan"
    assert alice.get("/api/trash").get_json()["items"] == []
    assert dav(bob, "COPY", SHARED + "/Project/plan.txt", {**b, **to("/dav/bob/copy.txt")}).status_code == 201
    assert usage(bob) == len(b"alice's plan")


def test_without_a_grant_every_shared_path_is_404(people, project):
    app, alice, bob, carol = people
    folder, plan = project
    b, c = basic("bob"), basic("carol")
    paths = [SHARED + "/Project", SHARED + "/Project/plan.txt", SHARED + "/project/PLAN.txt"]
    for path in paths:
        assert dav(bob, "GET" if path.endswith(".txt") else "PROPFIND", path, {**b, "Depth": "0"}).status_code in (200, 207)
    # carol never had one: the same paths do not exist for her, and her list is empty.
    assert names(propfind(carol, SHARED + "/", c), SHARED + "/") == set()
    for method in ("PROPFIND", "GET", "PUT", "DELETE", "MKCOL", "LOCK", "PROPPATCH", "MOVE", "COPY"):
        for path in paths + [SHARED + "/Project/new.txt"]:
            def ask(where):
                return dav(carol, method, where, {**c, "Depth": "0", **to("/dav/carol/x")},
                           data=b"x" if method == "PUT" else LOCK if method == "LOCK" else None)
            response = ask(path)
            never = ask(path.replace("Project", "Nothing").replace("project", "Nothing"))
            # The same answer as for a name nobody shared: 404 where something is looked up, 403 or
            # 409 where something would be made in the list or in a folder that is not there.
            assert response.status_code == never.status_code, (method, path, response.status_code)
            assert response.status_code in ((403, 404, 409) if method in ("PUT", "MKCOL", "LOCK") else (404,))
            assert b"alice" not in response.data
    # revoked: bob is where carol is, at once.
    assert alice.delete(f"/api/items/{folder}/members/bob").status_code == 204
    assert names(propfind(bob, SHARED + "/", b), SHARED + "/") == set()
    for path in paths:
        assert dav(bob, "GET", path, b).status_code == 404
    assert dav(bob, "PUT", SHARED + "/Project/plan.txt", b, data=b"late").status_code in (404, 409)
    assert content(alice, plan["id"]) == b"alice's plan"


def test_trashing_the_shared_folder_or_disabling_the_owner_ends_access(people, project, app):
    _, alice, bob, carol = people
    folder, _ = project
    b = basic("bob")
    assert alice.delete(f"/api/folders/{folder}").status_code == 204
    assert dav(bob, "GET", SHARED + "/Project/plan.txt", b).status_code == 404
    trashed = alice.get("/api/trash").get_json()["items"][0]["id"]
    assert alice.post(f"/api/trash/{trashed}/restore").status_code == 200
    assert dav(bob, "GET", SHARED + "/Project/plan.txt", b).status_code == 200


def test_locks_are_one_per_item_whoever_reaches_it(people, project):
    app, alice, bob, carol = people
    a, b = basic("alice"), basic("bob")
    locked = dav(alice, "LOCK", "/dav/alice/Project/plan.txt", {**a, "Depth": "0"}, data=LOCK)
    assert locked.status_code == 200
    token = locked.headers["Lock-Token"]
    blocked = dav(bob, "PUT", SHARED + "/Project/plan.txt", b, data=b"bob's")
    assert blocked.status_code == 423
    assert b"/alice/" not in blocked.data  # the lock is named as bob reaches it
    assert dav(bob, "LOCK", SHARED + "/Project/PLAN.txt", {**b, "Depth": "0"}, data=LOCK).status_code == 423
    discovered = propfind(bob, SHARED + "/Project/plan.txt", b, depth="0", props=["d:lockdiscovery"])
    assert "alice" not in str(discovered)
    # A lock on the folder holds against writes below it, and tokens are their takers' only.
    assert dav(bob, "PUT", SHARED + "/Project/plan.txt", {**b, "If": f"({token})"}, data=b"x").status_code in (412, 423)
    assert dav(alice, "UNLOCK", "/dav/alice/Project/plan.txt", {**a, "Lock-Token": token}).status_code == 204

    mine = dav(bob, "LOCK", SHARED + "/Project", {**b, "Depth": "infinity"}, data=LOCK)
    assert mine.status_code == 200
    assert dav(alice, "PUT", "/dav/alice/Project/plan.txt", a, data=b"alice's").status_code == 423
    assert dav(alice, "DELETE", "/dav/alice/Project", a).status_code == 423
    with_token = dav(bob, "PUT", SHARED + "/Project/plan.txt", {**b, "If": f"({mine.headers['Lock-Token']})"},
                     data=b"bob's, locked")
    assert with_token.status_code == 204
    # carol's own "Project", shared with her by someone else, is another item: bob's lock is not on it.
    dave = signup(app, "dave")
    other = mkdir(dave, "Project")["id"]
    assert share(dave, other, "carol").status_code == 201
    assert dav(carol, "PUT", SHARED + "/Project/c.txt", basic("carol"), data=b"c").status_code == 201


def test_two_shared_items_with_one_name_are_told_apart(people, project, app):
    _, alice, bob, carol = people
    theirs = mkdir(carol, "Project")["id"]
    stored(carol, "carol.txt", b"carol's", theirs)
    assert share(carol, theirs, "bob", role="viewer").status_code == 201
    report = stored(alice, "report.pdf", b"%PDF-1.4 alice")
    assert share(alice, report["id"], "bob").status_code == 201
    b = basic("bob")
    listed = names(propfind(bob, SHARED + "/", b), SHARED + "/")
    assert listed == {"Project", quote("Project (carol)", safe="()"), "report.pdf"}
    assert dav(bob, "GET", SHARED + "/Project%20(carol)/carol.txt", b).data == b"carol's"
    assert dav(bob, "GET", SHARED + "/Project/plan.txt", b).data == b"alice's plan"
    # A shared file: read, and (as editor) replaced with a version alice keeps.
    assert dav(bob, "GET", SHARED + "/report.pdf", b).data == b"%PDF-1.4 alice"
    assert dav(bob, "PUT", SHARED + "/report.pdf", b, data=b"%PDF-1.4 bob").status_code == 204
    assert content(alice, report["id"]) == b"%PDF-1.4 bob"
    assert dav(bob, "DELETE", SHARED + "/report.pdf", b).status_code == 403
    assert dav(bob, "GET", SHARED + "/report.pdf/more", b).status_code == 404

"""Bulk operations (issue 18): one POST /api/items/bulk moves, copies, trashes, restores,
deletes for good, stars or unstars many files and folders, with a result per id, each item
through the rules of its single route. Runs on mongomock and (DRIVE_TEST_DB=sqlite) SQLite."""
from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import TEST_DB, AuthActions
from tests.test_members import PASSWORD, signup
from tests.test_security_isolation import mkdir, put


def bulk(client, action, ids, **more):
    response = client.post("/api/items/bulk", json={"action": action, "ids": ids, **more})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [r["id"] for r in body["results"]] == ids
    assert body["succeeded"] + body["failed"] == len(ids)
    return body


def outcome(body):
    """Per result: True, or its error code."""
    return [r["ok"] or r["error"]["code"] for r in body["results"]]


def names_in(client, folder_id="root"):
    response = client.get(f"/api/folders/{folder_id}/children?limit=200")
    assert response.status_code == 200, response.get_json()
    return sorted(i["name"] for i in response.get_json()["items"])


def trash_names(client):
    return sorted(i["name"] for i in client.get("/api/trash?limit=200").get_json()["items"])


def used_bytes(client):
    return client.get("/api/me/usage").get_json()["used_bytes"]


@pytest.fixture
def alice(app):
    return signup(app, "alice")


def test_moving_three_files_and_a_folder_into_a_folder(alice):
    files = [put(alice, f"{n}.txt", f"file {n}".encode()) for n in "abc"]
    photos = mkdir(alice, "Photos")
    put(alice, "cat.jpg", b"meow", photos)
    archive = mkdir(alice, "Archive")
    body = bulk(alice, "move", files + [photos], parent_id=archive)
    assert body["succeeded"] == 4 and body["failed"] == 0
    assert all(r["item"]["parent_id"] == archive for r in body["results"])
    assert names_in(alice) == ["Archive"]
    assert names_in(alice, archive) == ["Photos", "a.txt", "b.txt", "c.txt"]
    assert names_in(alice, photos) == ["cat.jpg"]
    # And back to the root, by "root".
    assert bulk(alice, "move", files, parent_id="root")["succeeded"] == 3
    assert names_in(alice) == ["Archive", "a.txt", "b.txt", "c.txt"]


def test_a_name_taken_in_the_target_fails_that_item_only_unless_renaming(alice):
    target = mkdir(alice, "Target")
    put(alice, "a.txt", b"already there", target)
    a, b = put(alice, "a.txt", b"mine a"), put(alice, "b.txt", b"mine b")
    body = bulk(alice, "move", [a, b], parent_id=target)
    assert outcome(body) == ["name_conflict", True]
    assert names_in(alice) == ["Target", "a.txt"]  # a.txt stayed where it was, whole
    body = bulk(alice, "move", [a], parent_id=target, on_conflict="rename")
    assert body["results"][0]["item"]["name"] == "a (1).txt"


def test_a_folder_and_what_is_inside_it_move_together(alice):
    """The child goes with its folder (note: with_folder) instead of being taken out of it."""
    folder = mkdir(alice, "Folder")
    child = put(alice, "child.txt", b"child", folder)
    target = mkdir(alice, "Target")
    body = bulk(alice, "move", [child, folder], parent_id=target)
    assert body["results"][0] == {"id": child, "ok": True, "note": "with_folder"}
    assert body["results"][1]["item"]["parent_id"] == target
    assert names_in(alice, folder) == ["child.txt"]


def test_copying_many(alice):
    files = [put(alice, f"{n}.txt", f"copy me {n}".encode()) for n in "ab"]
    folder = mkdir(alice, "Folder")
    put(alice, "inside.txt", b"inside", folder)
    target = mkdir(alice, "Copies")
    before = used_bytes(alice)
    body = bulk(alice, "copy", files + [folder], parent_id=target)
    assert body["succeeded"] == 3
    assert [r["item"]["name"] for r in body["results"]] == ["a.txt", "b.txt", "Folder"]
    assert all(r["item"]["id"] not in files + [folder] for r in body["results"])
    assert names_in(alice, target) == ["Folder", "a.txt", "b.txt"]
    assert names_in(alice, body["results"][2]["item"]["id"]) == ["inside.txt"]
    assert used_bytes(alice) == before  # copies share the bytes
    # Without parent_id: beside each original, renamed as the single route does.
    beside = bulk(alice, "copy", files)
    assert [r["item"]["name"] for r in beside["results"]] == ["a (1).txt", "b (1).txt"]


def test_trashing_then_restoring_many(alice):
    files = [put(alice, f"{n}.txt", f"trash me {n}".encode()) for n in "abc"]
    folder = mkdir(alice, "Folder")
    child = put(alice, "child.txt", b"child", folder)
    keep = put(alice, "keep.txt", b"keep")
    body = bulk(alice, "trash", files + [child, folder])
    assert body["succeeded"] == 5
    assert body["results"][3] == {"id": child, "ok": True, "note": "with_folder"}
    assert names_in(alice) == ["keep.txt"]
    assert trash_names(alice) == ["Folder", "a.txt", "b.txt", "c.txt"]  # the child went with its folder

    body = bulk(alice, "restore", files + [folder, child, keep])
    assert outcome(body) == [True] * 5 + ["item_not_found"]  # keep.txt was never in the trash
    assert body["results"][4]["note"] == "with_folder"
    assert body["results"][3]["item"]["name"] == "Folder"
    assert names_in(alice) == ["Folder", "a.txt", "b.txt", "c.txt", "keep.txt"]
    assert names_in(alice, folder) == ["child.txt"]
    assert trash_names(alice) == []


def test_deleting_for_good_frees_the_quota(alice):
    live = [put(alice, f"{n}.txt", f"delete me for good {n}".encode()) for n in "ab"]
    trashed = put(alice, "old.txt", b"already in the trash")
    folder = mkdir(alice, "Folder")
    put(alice, "inside.txt", b"inside the folder", folder)
    assert alice.delete(f"/api/files/{trashed}").status_code == 204
    assert used_bytes(alice) > 0
    body = bulk(alice, "delete", live + [trashed, folder])
    assert body["succeeded"] == 4
    assert used_bytes(alice) == 0
    assert names_in(alice) == [] and trash_names(alice) == []
    assert outcome(bulk(alice, "delete", [trashed])) == ["item_not_found"]


def test_starring_and_unstarring_many(alice):
    files = [put(alice, f"{n}.txt", f"star {n}".encode()) for n in "ab"]
    folder = mkdir(alice, "Folder")
    body = bulk(alice, "star", files + [folder])
    assert all(r["item"]["starred"] for r in body["results"])
    starred = alice.get("/api/starred").get_json()["items"]
    assert sorted(i["name"] for i in starred) == ["Folder", "a.txt", "b.txt"]
    body = bulk(alice, "unstar", [files[0], folder])
    assert [r["item"]["starred"] for r in body["results"]] == [False, False]
    assert [i["name"] for i in alice.get("/api/starred").get_json()["items"]] == ["b.txt"]


def test_a_repeated_id_is_done_once(alice):
    a = put(alice, "a.txt", b"twice")
    target = mkdir(alice, "Target")
    body = bulk(alice, "copy", [a, a], parent_id=target)
    assert body["results"][0] == body["results"][1] | {"id": a}
    assert names_in(alice, target) == ["a.txt"]  # one copy, not two
    body = bulk(alice, "trash", [a, target, a])
    assert outcome(body) == [True, True, True] and body["succeeded"] == 3


def test_another_users_ids_are_not_found_and_left_alone(app, alice):
    bob = signup(app, "bob")
    secret = put(bob, "secret.txt", b"bob's")
    bobs_folder = mkdir(bob, "Bob's")
    mine = [put(alice, f"{n}.txt", f"alice {n}".encode()) for n in "ab"]
    for action, more in [("trash", {}), ("star", {}), ("copy", {}), ("delete", {}), ("restore", {}),
                         ("move", {"parent_id": "root"})]:
        body = bulk(alice, action, [secret, bobs_folder, "not-an-id"], **more)
        assert outcome(body) == ["item_not_found"] * 3, action
        assert body["results"][0]["error"] == body["results"][2]["error"]  # nothing tells them apart
    body = bulk(alice, "trash", [mine[0], secret, mine[1]])
    assert outcome(body) == [True, "item_not_found", True]
    assert names_in(bob) == ["Bob's", "secret.txt"]
    assert trash_names(bob) == [] and bob.get("/api/starred").get_json()["items"] == []
    # Nor can alice move her own items into bob's folder.
    back = put(alice, "c.txt", b"alice c")
    assert outcome(bulk(alice, "move", [back], parent_id=bobs_folder)) == ["folder_not_found"]
    assert names_in(bob, bobs_folder) == []


@pytest.fixture
def shared(app, alice):
    """alice's "Project" with a file and a subfolder; bob is its viewer, carol its editor."""
    project = mkdir(alice, "Project")
    plan = put(alice, "plan.txt", b"the plan", project)
    notes = put(alice, "notes.txt", b"the notes", project)
    sub = mkdir(alice, "Sub", project)
    bob, carol = signup(app, "bob"), signup(app, "carol")
    for username, role in (("bob", "viewer"), ("carol", "editor")):
        response = alice.post(f"/api/items/{project}/members", json={"username": username, "role": role})
        assert response.status_code == 201, response.get_json()
    return {"project": project, "plan": plan, "notes": notes, "sub": sub, "bob": bob, "carol": carol}


def test_a_viewer_gets_read_only_for_each_write(alice, shared):
    bob, ids = shared["bob"], [shared["plan"], shared["notes"], shared["sub"]]
    for action, more in [("trash", {}), ("move", {"parent_id": shared["sub"]}), ("delete", {})]:
        assert outcome(bulk(bob, action, ids, **more)) == ["read_only"] * 3, action
    assert outcome(bulk(bob, "star", ids)) == ["owner_only"] * 3
    assert alice.delete(f"/api/files/{shared['notes']}").status_code == 204
    assert outcome(bulk(bob, "restore", [shared["notes"], shared["plan"]])) == ["read_only", "item_not_found"]
    assert alice.post(f"/api/trash/{shared['notes']}/restore").status_code == 200
    # What a viewer may do alone, bulk does too: copy to their own drive.
    body = bulk(bob, "copy", [shared["plan"]], parent_id="root")
    assert outcome(body) == [True] and names_in(bob) == ["plan.txt"]
    assert names_in(alice, shared["project"]) == ["Sub", "notes.txt", "plan.txt"]


def test_an_editors_bulk_trash_goes_to_the_owners_trash(alice, shared):
    carol = shared["carol"]
    body = bulk(carol, "trash", [shared["plan"], shared["notes"], shared["project"]])
    # The shared folder itself stays its owner's to trash, as on the single route.
    assert outcome(body) == [True, True, "owner_only"]
    trashed = alice.get("/api/trash").get_json()["items"]
    assert sorted((t["name"], t["trashed_by"]) for t in trashed) == [("notes.txt", "carol"), ("plan.txt", "carol")]
    assert trash_names(carol) == []
    assert outcome(bulk(carol, "delete", [shared["plan"]])) == ["item_not_found"]  # for good: the owner's
    body = bulk(carol, "restore", [shared["plan"], shared["notes"]])
    assert outcome(body) == [True, True]
    assert body["results"][0]["item"]["parent_id"] == shared["project"]
    assert names_in(alice, shared["project"]) == ["Sub", "notes.txt", "plan.txt"]
    assert outcome(bulk(carol, "move", [shared["plan"]], parent_id="root")) == ["outside_share"]


@pytest.mark.parametrize("body,code,message", [
    ({"action": "shred", "ids": ["x"]}, "invalid_input", "'action' must be one of"),
    ({"ids": ["x"]}, "invalid_input", "'action' is required"),
    ({"action": "trash"}, "invalid_input", "'ids' is required"),
    ({"action": "trash", "ids": []}, "invalid_input", "'ids' must list 1 to 10000 ids"),
    ({"action": "trash", "ids": ["x"] * 10_001}, "invalid_input", "'ids' must list 1 to 10000 ids"),
    ({"action": "trash", "ids": ["x", 7]}, "invalid_input", "Every entry of 'ids' must be a string"),
    ({"action": "trash", "ids": "x"}, "invalid_input", "'ids' must be a list"),
    ({"action": "move", "ids": ["x"]}, "invalid_input", "A move needs 'parent_id'"),
    ({"action": "move", "ids": ["x"], "parent_id": 5}, "invalid_input", "'parent_id' must be a string"),
    ({"action": "copy", "ids": ["x"], "on_conflict": "replace"}, "invalid_on_conflict", "on_conflict must be"),
])
def test_invalid_bulk_requests_are_refused_whole(alice, body, code, message):
    keep = put(alice, "keep.txt", b"keep")
    if body.get("ids") and isinstance(body["ids"], list):
        body = {**body, "ids": [keep if i == "x" else i for i in body["ids"]]}
    response = alice.post("/api/items/bulk", json=body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code and message in error["message"], error
    assert names_in(alice) == ["keep.txt"] and trash_names(alice) == []


def test_bulk_needs_a_login_and_a_json_body(app, alice):
    assert app.test_client().post("/api/items/bulk", json={"action": "trash", "ids": ["x"]}).status_code == 401
    response = alice.post("/api/items/bulk", data="action=trash")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_content_type"


def test_the_bulk_route_is_in_the_api_document(app, alice):
    spec = alice.get("/apispec.json").get_json()
    operation = spec["paths"]["/api/items/bulk"]["post"]
    assert {"200", "400", "401"} <= set(operation["responses"])


def trashed_events(client):
    return client.get("/api/me/activity?action=trashed&limit=1").get_json()["total"]


def test_a_long_bulk_request_does_not_keep_the_drive_waiting(app, alice, monkeypatch):
    """The tree lock is held for a chunk of a bulk request at a time, then handed over: a
    rename in the same drive finishes while a bulk trash of many items is still running."""
    count = 500 if TEST_DB == "mongomock" else 2000  # mongomock scans a collection per write
    from app.services import services

    with app.app_context():
        owner = alice.get("/api/me").get_json()["id"]
        ids = [str(services().drive.create_folder(owner, f"f{n:04}")["_id"]) for n in range(count)]
        trash, started = services().trash, threading.Event()
        trash_one = trash.trash

        def slow_trash(*args, **kwargs):  # the bulk request takes 2 s at least
            time.sleep(2 / count)
            started.set()
            return trash_one(*args, **kwargs)
        monkeypatch.setattr(trash, "trash", slow_trash)
    answers = []

    def trash_all():
        try:
            answers.append(bulk(alice, "trash", ids))
        except BaseException as error:  # shown by the assertion below
            answers.append(error)
    worker = threading.Thread(target=trash_all)
    other = app.test_client()
    assert AuthActions(other).login("alice", PASSWORD).status_code == 200
    keep = mkdir(other, "Keep")
    worker.start()
    assert started.wait(10)
    began = time.monotonic()
    response = other.patch(f"/api/folders/{keep}", json={"name": "Renamed"})
    waited = time.monotonic() - began
    still_running = worker.is_alive()
    worker.join(60)
    assert response.status_code == 200 and response.get_json()["name"] == "Renamed"
    assert still_running, f"the rename waited for the whole bulk request ({waited:.2f} s)"
    assert waited < 1.0
    assert not isinstance(answers[0], BaseException), repr(answers[0])
    assert answers[0]["succeeded"] == count and names_in(alice) == ["Renamed"]
    assert trashed_events(alice) == count  # one audit event per item, batched or not


def test_a_crash_in_the_middle_of_a_chunk_leaves_no_item_half_done(app, alice, monkeypatch):
    """Trashing a folder is two writes (the folder, then what is inside). Fail the fifth
    folder's second write: on SQLite the chunk is one transaction, so nothing of it stays
    (no folder in the trash with its content left live, no audit event); on MongoDB, without
    multi-document transactions, the items before it are done whole and audited, as one by one."""
    from app.services import services

    folders = [mkdir(alice, f"Folder {n}") for n in range(8)]
    for folder in folders:
        put(alice, "inside.txt", b"inside", folder)
    with app.app_context():
        items = services().trash.items
    along, calls = items.trash_along, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("the process died here")
        return along(*args, **kwargs)
    monkeypatch.setattr(items, "trash_along", failing)
    response = alice.post("/api/items/bulk", json={"action": "trash", "ids": folders})
    assert response.status_code == 500  # the request ends with the error, as on any route
    monkeypatch.undo()
    live = names_in(alice)
    for n, folder in enumerate(folders):
        inside = names_in(alice, folder) if f"Folder {n}" in live else None
        assert inside in (None, ["inside.txt"])  # a live folder keeps its content live
    if TEST_DB == "sqlite":
        assert live == sorted(f"Folder {n}" for n in range(8)) and trash_names(alice) == []
        assert trashed_events(alice) == 0
    else:
        assert {f"Folder {n}" for n in range(4)} <= set(trash_names(alice))  # the fifth: as one by one
        assert trashed_events(alice) == 4

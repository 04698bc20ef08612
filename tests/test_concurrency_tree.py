"""Many clients at once on the same names and folders, against a live Gunicorn: creating,
renaming, moving, copying, trashing, restoring and deleting for good.

Each round prepares every request first (one connection per client) and releases them with
one barrier. After each round ``check_round`` (tests/concurrency.py) checks what no
interleaving may break: names unique per folder ignoring case, every live item in a live
folder that reaches the root (no cycle from crossed moves, nothing live in a trashed or
deleted folder), exact reference counts and usage, ``flask repair`` clean. Then each test
checks that every 2xx it was answered matches the final state.
"""
from __future__ import annotations

import hashlib
import os

import pytest

from tests.concurrency import Answer, Client, Records, as_json, by_status, check_round, race, signup
from tests.live_server import GunicornServer, on_both_backends

pytestmark = pytest.mark.e2e

ROUNDS = 3  # on the embedded store; one round with several workers on the MongoDB wire server


def rounds(server: GunicornServer) -> range:
    return range(ROUNDS if server.database_kind != "mongodb" else 1)


def mkdir(client: Client, name: str, parent: str = "root") -> str:
    return client.ok("POST", "/api/folders", json={"name": name, "parent_id": parent})["id"]


def put(client: Client, name: str, data: bytes, folder: str = "root") -> str:
    answer = client.ok("POST", "/api/upload", params={"folder_id": folder}, files={"file": (name, data)})
    return answer["files"][0]["id"]


def path_of(kind: str, item_id: str) -> str:
    return f"/api/{kind}s/{item_id}"


def info_path(kind: str, item_id: str) -> str:
    return path_of(kind, item_id) + ("/info" if kind == "file" else "")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def only_one_succeeded(answers: list[Answer], what: str) -> Answer:
    winners = [a for a in answers if a.ok]
    assert len(winners) == 1, f"{what}: {by_status(answers)} {as_json([a.body for a in answers])}"
    return winners[0]


# -- names --------------------------------------------------------------------------------

@on_both_backends
def test_parallel_creates_renames_and_moves_keep_names_unique(server):
    alice = signup(server, "alice")
    for round_no in rounds(server):
        parent = mkdir(alice, f"names {round_no}")
        renamed = [("folder", mkdir(alice, f"folder {i}", parent)) for i in range(6)]
        renamed += [("file", put(alice, f"file {i}.txt", os.urandom(64), parent)) for i in range(4)]
        strays = [put(alice, "doc.txt", os.urandom(64), mkdir(alice, f"from {i}", parent)) for i in range(6)]
        calls = []
        for i in range(8):  # one name, any case, default policy: one 201
            calls.append(alice.prepare("POST", "/api/folders", json={"name": "Reports".swapcase() if i % 2 else
                                                                     "Reports", "parent_id": parent}))
        for _ in range(6):  # one name, rename policy: all 201, each under its own name
            calls.append(alice.prepare("POST", "/api/folders",
                                       json={"name": "Shared", "parent_id": parent, "on_conflict": "rename"}))
        for kind, item_id in renamed:  # ten items renamed to one name: one 200
            calls.append(alice.prepare("PATCH", path_of(kind, item_id), json={"name": "Target"}))
        for file_id in strays:  # six files of one name moved into one folder: one 200
            calls.append(alice.prepare("PATCH", path_of("file", file_id), json={"parent_id": parent}))
        answers = race(calls)
        records = check_round(server, [alice])

        reports, shared, targets, moves = answers[:8], answers[8:14], answers[14:24], answers[24:]
        assert by_status(reports) == {201: 1, 409: 7}
        assert len({a.body["name"].casefold() for a in shared}) == 6 and by_status(shared) == {201: 6}
        only_one_succeeded(targets, "renames to one name")
        only_one_succeeded(moves, "moves of one name into one folder")
        for answer in answers:
            if answer.ok:
                item = records.live(answer.body["id"])
                assert item is not None and item["name"] == answer.body["name"], answer.body
                assert str(item["parent_id"]) == parent


# -- crossed moves ----------------------------------------------------------------------------

@on_both_backends
def test_crossed_moves_never_make_a_folder_cycle(server):
    alice = signup(server, "alice")
    for round_no in rounds(server):
        base = mkdir(alice, f"moves {round_no}")
        moves = []  # (folder, into)
        for i in range(8):  # A into B while B into A
            a, b = mkdir(alice, f"a{i}", base), mkdir(alice, f"b{i}", base)
            moves += [(a, b), (b, a)]
        chain = [mkdir(alice, f"c{i}", base) for i in range(6)]  # c0 into c1 ... c5 into c0
        moves += [(c, chain[(i + 1) % len(chain)]) for i, c in enumerate(chain)]
        outer = mkdir(alice, "outer", base)  # outer into the depths of inner while inner into outer
        inner = mkdir(alice, "inner", base)
        deep = mkdir(alice, "deep", mkdir(alice, "middle", inner))
        moves += [(outer, deep), (inner, outer)]

        answers = race([alice.prepare("PATCH", path_of("folder", folder), json={"parent_id": into})
                        for folder, into in moves])
        records = check_round(server, [alice])

        assert set(by_status(answers)) <= {200, 409}, by_status(answers)
        assert any(a.ok for a in answers)
        for (folder, into), answer in zip(moves, answers):
            if answer.ok:
                assert str(records.live(folder)["parent_id"]) == into, "a 200 move that did not happen"
        listed = {node["id"] for node in walk_tree(alice.ok("GET", "/api/folders/tree")["children"])}
        assert {f for f, _ in moves} <= listed, "a folder no longer reachable from the root"


def walk_tree(nodes):
    for node in nodes:
        yield node
        yield from walk_tree(node["children"])


# -- trash while filling ----------------------------------------------------------------------

@on_both_backends
def test_nothing_stays_live_in_a_folder_being_trashed(server):
    alice = signup(server, "alice")
    for round_no in rounds(server):
        home = mkdir(alice, f"trash {round_no}")
        target = mkdir(alice, "target", home)
        sub = mkdir(alice, "sub", target)
        put(alice, "inside.txt", b"inside", sub)
        came_back = put(alice, "came back.txt", b"restored while its folder goes", target)
        alice.ok("DELETE", path_of("file", came_back))
        outside = [mkdir(alice, f"outside {i}", home) for i in range(2)]
        outside += [put(alice, f"outside {i}.txt", os.urandom(100), home) for i in range(2)]
        originals = [put(alice, f"original {i}.txt", os.urandom(100), home) for i in range(3)]

        expect = []  # (call, kind, expected parent of the 2xx item)
        expect.append((alice.prepare("DELETE", path_of("folder", target)), None, None))
        expect.append((alice.prepare("DELETE", path_of("folder", sub)), None, None))
        for i in range(5):
            expect.append((alice.prepare("POST", "/api/folders", json={"name": f"new {i}", "parent_id": target}),
                           "folder", target))
        for i in range(3):
            expect.append((alice.prepare("POST", "/api/folders", json={"name": f"new {i}", "parent_id": sub}),
                           "folder", sub))
        for i in range(4):
            expect.append((alice.prepare("POST", "/api/upload", params={"folder_id": target},
                                         files={"file": (f"up {i}.txt", os.urandom(200))}), "file", target))
        for i in range(2):
            expect.append((alice.prepare("POST", "/api/upload", params={"folder_id": sub},
                                         files={"file": (f"up {i}.txt", os.urandom(200))}), "file", sub))
        for i, item_id in enumerate(outside):
            kind = "folder" if i < 2 else "file"
            expect.append((alice.prepare("PATCH", path_of(kind, item_id), json={"parent_id": (target, sub)[i % 2]}),
                           kind, (target, sub)[i % 2]))
        for i, file_id in enumerate(originals):
            expect.append((alice.prepare("POST", f"/api/files/{file_id}/copy", json={"parent_id": target}),
                           "file", target))
        expect.append((alice.prepare("POST", f"/api/trash/{came_back}/restore"), "restored", target))

        answers = race([call for call, _, _ in expect])
        check_round(server, [alice])

        assert answers[0].status == 204, answers[0].body
        assert answers[1].status in (204, 404), answers[1].body
        # Put everything back: each item a 2xx answered about must be where it was told.
        alice.ok("POST", f"/api/trash/{target}/restore")
        if answers[1].ok:
            alice.call("POST", f"/api/trash/{sub}/restore")
        for (_, kind, parent), answer in zip(expect[2:], answers[2:]):
            if not answer.ok:
                assert answer.status == 404, answer.body  # the folder was already in the trash
                continue
            if kind == "restored":
                item, note = answer.body["item"], answer.body["note"]
                found = alice.ok("GET", info_path("file", item["id"]))
                assert found["name"] == item["name"]
                assert note == "parent_recreated" or found["parent_id"] == parent
                continue
            item = answer.body["files"][0] if kind == "file" and "files" in answer.body else answer.body
            found = alice.call("GET", info_path(kind, item["id"]))
            assert found.ok, f"{kind} {item['name']!r} was answered {answer.status} but is gone"
            assert found.body["parent_id"] == parent and found.body["name"] == item["name"]


# -- copies of a folder that moves or goes -----------------------------------------------------

@on_both_backends
def test_copies_of_a_folder_being_trashed_or_moved_are_whole_or_absent(server):
    alice = signup(server, "alice")
    copied_whole = 0
    for round_no in range(ROUNDS):  # on the wire server, until a round in which a copy won the race
        if copied_whole and round_no >= len(rounds(server)):
            break
        home = mkdir(alice, f"copies {round_no}")
        away = mkdir(alice, "away", home)
        source = mkdir(alice, "source", home)
        data = {name: os.urandom(300) for name in ("a.txt", "c.txt", "e.txt")} | {"same.txt": b"shared content"}
        put(alice, "a.txt", data["a.txt"], source)
        put(alice, "same too.txt", data["same.txt"], source)
        b = mkdir(alice, "b", source)
        put(alice, "c.txt", data["c.txt"], b)
        d = mkdir(alice, "d", b)
        put(alice, "e.txt", data["e.txt"], d)
        put(alice, "same.txt", data["same.txt"], d)
        mkdir(alice, "f", source)
        file = lambda name, content=None: ("file", name, sha256(data[content or name]), [])  # noqa: E731
        whole = sorted([file("a.txt"), file("same too.txt", "same.txt"), ("folder", "f", None, []),
                        ("folder", "b", None, sorted([file("c.txt"), ("folder", "d", None, sorted(
                            [file("e.txt"), file("same.txt")]))]))])

        calls = [alice.prepare("POST", path_of("folder", source) + "/copy", json={"parent_id": home})
                 for _ in range(14)]
        calls += [alice.prepare("POST", path_of("folder", source) + "/copy", json={"parent_id": away})
                  for _ in range(3)]
        calls += [alice.prepare("PATCH", path_of("folder", source), json={"parent_id": away}),
                  alice.prepare("PATCH", path_of("folder", source), json={"name": "renamed source"}),
                  alice.prepare("PATCH", path_of("folder", source), json={"parent_id": home, "name": "back"}),
                  alice.prepare("DELETE", path_of("folder", source)),
                  alice.prepare("DELETE", path_of("folder", source))]
        answers = race(calls)
        records = check_round(server, [alice])

        copies = [a.body for a in answers[:17] if a.ok]
        assert set(by_status(answers[:17])) <= {201, 404}, by_status(answers[:17])  # 404: trashed first
        copied_whole += len(copies)
        for copy in copies:
            stored = records.live(copy["id"])
            assert stored is not None, f"copy {copy['name']!r} answered 201 is gone"
            assert records.shape(stored["_id"]) == whole, f"copy {copy['name']!r} is not whole"
        copied_ids = {c["id"] for c in copies}
        for folder in (home, away):
            for child in records.children(records.item(folder)["_id"]):
                assert str(child["_id"]) in copied_ids | {source, away}, f"a copy nobody was answered: {child}"
        assert by_status(answers[-2:]) in ({204: 1, 404: 1}, {204: 2}), answers[-2:]
    assert copied_whole, "no copy was made before the trash in any round: nothing was checked"


# -- restore, delete for good and empty trash --------------------------------------------------

@on_both_backends
def test_restore_delete_forever_and_empty_trash_race(server):
    alice = signup(server, "alice")
    bob = signup(server, "bob")  # his trash is emptied while he restores from it
    for round_no in rounds(server):
        home = mkdir(alice, f"restore {round_no}")
        twice = put(alice, "restored many times.txt", os.urandom(500), home)
        either = put(alice, "restored or deleted.txt", os.urandom(500), home)
        parent = mkdir(alice, "parent", home)
        child = mkdir(alice, "child", parent)
        put(alice, "in child.txt", os.urandom(500), child)
        for kind, item_id in (("file", twice), ("file", either), ("folder", child)):
            alice.ok("DELETE", path_of(kind, item_id))
        copied_data = os.urandom(700)
        copied = put(alice, "copied while deleted.txt", copied_data, home)

        kept = mkdir(bob, f"kept {round_no}")
        put(bob, "kept.txt", os.urandom(400), kept)
        put(bob, "dropped.txt", os.urandom(400), kept)
        bob.ok("DELETE", path_of("folder", kept))
        drop = [put(bob, f"drop {i}.txt", os.urandom(400)) for i in range(2)]
        for file_id in drop:
            bob.ok("DELETE", path_of("file", file_id))

        calls = [alice.prepare("POST", f"/api/trash/{twice}/restore") for _ in range(6)]
        calls += [alice.prepare("POST", f"/api/trash/{either}/restore") for _ in range(3)]
        calls += [alice.prepare("DELETE", f"/api/trash/{either}") for _ in range(3)]
        calls += [alice.prepare("POST", f"/api/trash/{child}/restore"),
                  alice.prepare("DELETE", path_of("folder", parent))]
        calls += [alice.prepare("POST", f"/api/files/{copied}/copy") for _ in range(4)]
        calls += [alice.prepare("DELETE", path_of("file", copied), params={"permanent": "true"})]
        calls += [bob.prepare("POST", f"/api/trash/{kept}/restore") for _ in range(2)]
        calls += [bob.prepare("DELETE", "/api/trash") for _ in range(2)]
        answers = race(calls)
        records = check_round(server, [alice, bob])

        restored = only_one_succeeded(answers[:6], "restores of one item")
        assert records.live(twice)["name"] == restored.body["item"]["name"]
        winner = only_one_succeeded(answers[6:12], "restore or delete for good")
        assert (records.live(either) is not None) == (winner.status == 200)
        assert (records.item(either) is None) == (winner.status == 204)
        child_answer, parent_answer = answers[12:14]
        assert parent_answer.status == 204
        assert child_answer.ok, child_answer.body
        # Restored, then trashed with its parent; or restored into a path made again beside it.
        restored_into_trash = records.item(child)["trashed_with"] == records.item(parent)["_id"]
        assert restored_into_trash or child_answer.body["note"] == "parent_recreated", child_answer.body
        for answer in answers[14:18]:
            assert answer.status in (201, 404), answer.body
            if answer.ok:
                response = alice.session.get(server.url(path_of("file", answer.body["id"])))
                assert response.status_code == 200 and sha256(response.content) == sha256(copied_data)
        assert answers[18].status == 204 and records.item(copied) is None
        bob_restored = [a for a in answers[19:21] if a.ok]
        assert len(bob_restored) <= 1
        kept_record = records.item(kept)
        assert (kept_record is not None) == bool(bob_restored), "a 200 restore of what empty trash deleted"
        if bob_restored:
            assert kept_record["trashed_at"] is None and len(records.children(kept_record["_id"])) == 2
        assert all(records.item(file_id) is None for file_id in drop)
        assert sum(a.body["deleted"] for a in answers[21:23]) == 2 + (not bob_restored)


def test_helpers_see_a_cycle_and_a_live_item_in_a_trashed_folder():
    """The checks above can fail: a crossed move and an orphan made by hand are reported."""
    def item(name, parent, trashed=False):
        return {"_id": name, "owner_id": "u", "type": "folder", "name": name, "name_key": name,
                "parent_id": parent, "slot": f"{parent or 'root'}/{name}", "trashed_at": 1 if trashed else None,
                "trash_root": trashed, "trashed_with": None}
    records = Records({"items": [item("a", "b"), item("b", "a"), item("t", None, trashed=True), item("x", "t")],
                       "blobs": [], "versions": []})
    problems = "\n".join(records.tree_problems())
    assert "'a' (a) is in a folder cycle" in problems and "'b' (b) is in a folder cycle" in problems
    assert "live folder 'x' (x) is in a trashed folder" in problems

"""More write routes under many parallel clients against a live Gunicorn: file versions,
API tokens, share links, accounts and sessions, uploads that rename, the compatibility routes,
and emptying the trash while uploads replace.

Each test prepares its requests (one connection per client), releases them with one barrier
(``race`` in tests/concurrency.py) and then checks what no interleaving may break: the limits
(at most one winner where there is one thing to win, never more tokens than allowed), every
2xx matching the final state, and through ``check_round`` exact reference counts and usage
and a clean ``flask repair``.
"""
from __future__ import annotations

import hashlib
import os

import pytest

from tests.concurrency import Answer, Client, as_json, by_status, check_round, race, signup
from tests.live_server import GunicornServer, on_both_backends

pytestmark = pytest.mark.e2e

CLIENTS = 20


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(client: Client, name: str, data: bytes, **params) -> dict:
    return client.ok("POST", "/api/upload", params=params, files={"file": (name, data)})["files"][0]


def replace(client: Client, name: str, data: bytes):
    return client.prepare("POST", "/api/upload", params={"on_conflict": "replace"}, files={"file": (name, data)})


def winners(answers: list[Answer]) -> list[Answer]:
    return [a for a in answers if a.ok]


# -- file versions --------------------------------------------------------------------------

def kept_entries(client: Client, file_id: str) -> list[dict]:
    """The file's current content first, then its versions, as the API lists them."""
    current = client.ok("GET", f"/api/files/{file_id}/info")
    return [current] + client.ok("GET", f"/api/files/{file_id}/versions")["versions"]


@on_both_backends
def test_parallel_restores_deletes_and_replaces_of_versions(server: GunicornServer):
    alice = signup(server, "alice")
    for round_no in range(2):
        name = f"versioned {round_no}.bin"
        contents = [os.urandom(2000 + i) for i in range(5)]
        file_id = put(alice, name, contents[0])["id"]
        for data in contents[1:]:
            put(alice, name, data, on_conflict="replace")
        versions = alice.ok("GET", f"/api/files/{file_id}/versions")["versions"]
        assert [v["revision"] for v in versions] == [4, 3, 2, 1]
        same, contested, other = versions[0], versions[1], versions[2]
        fresh = [os.urandom(3000 + i) for i in range(4)]

        calls = [alice.prepare("POST", f"/api/files/{file_id}/versions/{same['id']}/restore") for _ in range(8)]
        calls += [alice.prepare("POST", f"/api/files/{file_id}/versions/{contested['id']}/restore") for _ in range(3)]
        calls += [alice.prepare("DELETE", f"/api/files/{file_id}/versions/{contested['id']}") for _ in range(3)]
        calls += [alice.prepare("POST", f"/api/files/{file_id}/versions/{other['id']}/restore") for _ in range(2)]
        calls += [replace(alice, name, data) for data in fresh]
        answers = race(calls)
        check_round(server, [alice])

        assert len(winners(answers[:8])) == 1, by_status(answers[:8])
        assert len(winners(answers[8:14])) == 1, f"restore or delete of one version: {by_status(answers[8:14])}"
        assert len(winners(answers[14:16])) == 1, by_status(answers[14:16])
        assert all(a.status in (200, 201, 204, 404) for a in answers), by_status(answers)
        # Every 2xx that committed content names its own commit; the file shows the last one.
        committed = {}
        for answer in winners(answers):
            if answer.status == 204:
                continue
            entry = answer.body["files"][0] if "files" in answer.body else answer.body
            assert entry["revision"] not in committed, "two requests were told the same commit"
            committed[entry["revision"]] = entry["sha256"]
        kept = kept_entries(alice, file_id)
        revisions = [e["revision"] for e in kept]
        assert revisions == sorted(set(revisions), reverse=True), f"commits not distinct and ordered: {revisions}"
        assert kept[0]["revision"] == max(committed), "the current content is not the last commit"
        for entry in kept:
            if entry["revision"] in committed:
                assert committed[entry["revision"]] == entry["sha256"]
        for revision, sha in committed.items():
            if revision >= revisions[-1]:
                assert revision in revisions, f"commit {revision} answered 2xx is gone"
        for version in kept[1:]:
            response = alice.session.get(server.url(f"/api/files/{file_id}/versions/{version['id']}"))
            assert response.status_code == 200 and sha256(response.content) == version["sha256"]
        if winners(answers[11:14]):  # the contested version was deleted: nowhere any more
            assert contested["revision"] not in revisions or committed.get(contested["revision"]) is None
            assert contested["id"] not in {v["id"] for v in kept[1:]}


# -- API tokens -----------------------------------------------------------------------------

MAX_TOKENS = 100  # app.auth.tokens.MAX_TOKENS_PER_USER


@on_both_backends
def test_parallel_token_creation_never_passes_the_per_user_limit(server: GunicornServer):
    alice = signup(server, "alice")
    for i in range(MAX_TOKENS - 5):
        alice.ok("POST", "/api/tokens", json={"name": f"script {i}", "scope": "read"})
    answers = race([alice.prepare("POST", "/api/tokens", json={"name": f"parallel {i}", "scope": "read-write"})
                    for i in range(CLIENTS)])
    assert by_status(answers) == {201: 5, 400: CLIENTS - 5}, by_status(answers)
    assert all(a.body["error"]["code"] == "too_many_tokens" for a in answers if not a.ok)
    tokens = alice.ok("GET", "/api/tokens")["tokens"]
    assert len(tokens) == MAX_TOKENS
    created = {a.body["token"]["id"] for a in winners(answers)}
    assert created <= {t["id"] for t in tokens}

    # Revoking frees room again, once per token however many clients revoke it.
    revoked = tokens[:3]
    answers = race([alice.prepare("DELETE", f"/api/tokens/{t['id']}") for t in revoked for _ in range(4)]
                   + [alice.prepare("POST", "/api/tokens", json={"name": f"again {i}", "scope": "read"})
                      for i in range(8)])
    revokes, creates = answers[:12], answers[12:]
    for i in range(3):
        assert by_status(revokes[4 * i:4 * i + 4]) == {204: 1, 404: 3}, by_status(revokes)
    assert len(winners(creates)) <= 3, by_status(creates)
    assert len(alice.ok("GET", "/api/tokens")["tokens"]) == MAX_TOKENS - 3 + len(winners(creates))
    for _ in range(3 - len(winners(creates))):
        alice.ok("POST", "/api/tokens", json={"name": "fills the room", "scope": "read"})
    refused = alice.call("POST", "/api/tokens", json={"name": "one too many", "scope": "read"})
    assert refused.status == 400 and refused.body["error"]["code"] == "too_many_tokens", refused


# -- accounts and sessions -------------------------------------------------------------------

def test_parallel_registrations_of_one_name_in_any_case_make_one_account(server: GunicornServer):
    spellings = ["casey", "Casey", "CASEY", "cAsEy", "caSey"]
    calls = [Client(server).prepare("POST", "/api/register",
                                    json={"username": spellings[i % 5], "password": f"password number {i}"})
             for i in range(CLIENTS)]
    answers = race(calls)
    assert by_status(answers) == {201: 1, 409: CLIENTS - 1}, by_status(answers)
    (winner,) = [(call, a) for call, a in zip(calls, answers) if a.ok]
    for spelling in spellings:  # the winner's password works under every spelling, no other does
        assert Client(server).call("POST", "/api/login", json={
            "username": spelling, "password": winner[0].kwargs["json"]["password"]}).status == 200


def test_parallel_logins_and_logouts_of_one_user(server: GunicornServer):
    alice = signup(server, "alice")
    creds = {"username": "alice", "password": "correct horse battery"}
    logins = race([Client(server).prepare("POST", "/api/login", json=creds) for _ in range(9)])
    assert by_status(logins) == {200: 9}  # LOGIN_RATE_LIMIT: 10 a minute, signup used one
    # One session logged out from many connections at once, while other sessions work on.
    answers = race([alice.prepare("POST", "/api/logout") for _ in range(10)]
                   + [alice.prepare("GET", "/api/me") for _ in range(10)])
    assert all(a.status in (200, 204, 401) for a in answers[:10]), by_status(answers[:10])
    assert all(a.status in (200, 401) for a in answers[10:]), by_status(answers[10:])
    assert alice.call("GET", "/api/me").status == 401, "a logged-out session still works"


# -- uploads under one name ------------------------------------------------------------------

def test_parallel_uploads_with_rename_each_get_their_own_name(server: GunicornServer):
    alice = signup(server, "alice")
    folder = alice.ok("POST", "/api/folders", json={"name": "renames"})["id"]
    put(alice, "report.pdf", b"the first", folder_id=folder)
    contents = [os.urandom(500 + i) for i in range(CLIENTS)]
    answers = race([alice.prepare("POST", "/api/upload", params={"folder_id": folder, "on_conflict": "rename"},
                                  files={"file": ("Report.pdf" if i % 2 else "report.pdf", data)})
                    for i, data in enumerate(contents)])
    records = check_round(server, [alice])
    assert by_status(answers) == {201: CLIENTS}, by_status(answers)
    stored = [a.body["files"][0] for a in answers]
    assert len({s["name"].casefold() for s in stored}) == CLIENTS
    assert "report.pdf" not in {s["name"].casefold() for s in stored}
    for item, data in zip(stored, contents):
        record = records.live(item["id"])
        assert record is not None and record["name"] == item["name"] and record["sha256"] == sha256(data)


# -- compatibility routes --------------------------------------------------------------------

def test_compat_upload_download_and_delete_of_one_name(server: GunicornServer):
    alice = signup(server, "alice")
    key = alice.ok("POST", "/api/tokens", json={"name": "compat", "scope": "read-write"})["secret"]
    for round_no in range(2):
        name = f"shared-{round_no}.bin"
        first = os.urandom(4000)
        alice.ok("POST", "/upload", params={"key": key}, files={"file": (name, first)})
        contents = [os.urandom(4000 + i) for i in range(8)]
        calls = [Client(server).prepare("POST", "/upload", params={"key": key}, files={"file": (name, data)})
                 for data in contents]
        calls += [Client(server).prepare("DELETE", f"/delete/{name}", params={"key": key}) for _ in range(4)]
        calls += [Client(server).prepare("GET", f"/download/{name}", params={"key": key}) for _ in range(8)]
        answers = race(calls)
        records = check_round(server, [alice])
        uploads, deletes = answers[:8], answers[8:12]
        assert set(by_status(uploads)) <= {200, 201}, by_status(uploads)
        assert set(by_status(deletes)) <= {200, 204, 404}, by_status(deletes)
        assert winners(deletes), "no delete succeeded though the file existed before the race"
        known = {sha256(d) for d in contents + [first]}
        live = [i for i in records.items.values() if i["trashed_at"] is None and i["name"] == name]
        assert len(live) <= 1
        for item in live:
            assert item["sha256"] in known
        # No acknowledged content is lost: each is a file of that name (live or in the trash)
        # or one of its versions, under the commit its answer named.
        named = {i["_id"]: i for i in records.items.values() if i["name"] == name}
        kept = {(i["sha256"], i["revision"]) for i in named.values()}
        kept |= {(v["sha256"], v["revision"]) for v in records.versions if v["file_id"] in named}
        for answer in uploads:
            assert (answer.body["sha256"], answer.body["revision"]) in kept, f"lost: {answer.body}"


# -- share links -----------------------------------------------------------------------------

@on_both_backends
def test_parallel_share_edits_revokes_and_creations(server: GunicornServer):
    alice = signup(server, "alice")
    file_id = put(alice, "shared.txt", b"shared bytes")["id"]
    for _ in range(3):
        share = alice.ok("POST", "/api/shares", json={"item_id": file_id, "password": "first"})["share"]
        calls = [alice.prepare("PATCH", f"/api/shares/{share['id']}", json={"label": f"label {i}",
                                                                            "max_downloads": 10 + i})
                 for i in range(8)]
        calls += [alice.prepare("DELETE", f"/api/shares/{share['id']}") for _ in range(4)]
        calls += [alice.prepare("POST", "/api/shares", json={"item_id": file_id, "label": f"new {i}"}) for i in range(8)]
        answers = race(calls)
        edits, revokes, creations = answers[:8], answers[8:12], answers[12:]
        assert set(by_status(revokes)) <= {204}, by_status(revokes)
        for answer in edits:
            assert answer.status in (200, 400), answer
            if answer.ok:
                assert answer.body["state"] != "revoked", f"a 200 edit of a revoked link: {as_json(answer.body)}"
            else:
                assert answer.body["error"]["code"] == "share_revoked"
        final = alice.ok("GET", f"/api/shares/{share['id']}")
        assert final["state"] == "revoked"
        assert by_status(creations) == {201: 8}
        assert len({a.body["token"] for a in creations}) == 8
        listed = alice.ok("GET", "/api/shares")["shares"]
        assert {a.body["share"]["id"] for a in creations} <= {s["id"] for s in listed}


@on_both_backends
def test_parallel_wrong_link_passwords_are_throttled(server: GunicornServer):
    alice = signup(server, "alice")
    file_id = put(alice, "locked.txt", b"locked bytes")["id"]
    token = alice.ok("POST", "/api/shares", json={"item_id": file_id, "password": "the right one"})["token"]
    answers = race([Client(server).prepare("POST", f"/s/{token}/unlock", json={"password": f"guess {i}"})
                    for i in range(CLIENTS)])
    statuses = by_status(answers)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.get(401, 0) <= 10, f"more wrong guesses than SHARE_PASSWORD_RATE_LIMIT allows: {statuses}"


# -- the trash emptied while uploads replace --------------------------------------------------

def test_empty_trash_while_uploads_replace_the_trashed_name(server: GunicornServer):
    alice = signup(server, "alice")
    for round_no in range(2):
        name = f"churn {round_no}.bin"
        file_id = put(alice, name, os.urandom(3000))["id"]
        put(alice, name, os.urandom(3001), on_conflict="replace")
        calls = [alice.prepare("DELETE", f"/api/files/{file_id}")]
        calls += [alice.prepare("DELETE", "/api/trash") for _ in range(3)]
        calls += [replace(alice, name, os.urandom(3002 + i)) for i in range(12)]
        calls += [alice.prepare("POST", f"/api/trash/{file_id}/restore") for _ in range(4)]
        answers = race(calls)
        records = check_round(server, [alice])
        assert answers[0].status == 204
        assert all(a.status in (201, 200) for a in answers[4:16]), by_status(answers[4:16])
        # An upload that made a new file (it came after the delete) is never lost: nothing in
        # the race deletes a live file. If every upload replaced the first file before the
        # delete, that file may rightly be gone with the emptied trash (a valid order, seen
        # in CI when the delete came last).
        made = {a.body["files"][0]["id"] for a in answers[4:16]} - {file_id}
        lost = [made_id for made_id in made if records.live(made_id) is None]
        assert not lost, f"files that uploads created (201) are not live: {lost}"
        live = [i for i in records.items.values() if i["trashed_at"] is None and i["name"].startswith(f"churn {round_no}")]
        assert live or not made, "uploads created files but nothing of that name is live"
        for answer in answers[4:16]:
            item = answer.body["files"][0]
            record = records.item(item["id"])
            if record is not None and record["trashed_at"] is None and record["revision"] == item["revision"]:
                assert record["sha256"] == item["sha256"]


@on_both_backends
def test_version_restores_while_the_file_is_deleted_for_good(server: GunicornServer):
    alice = signup(server, "alice")
    for round_no in range(3):
        name = f"doomed {round_no}.bin"
        file_id = put(alice, name, os.urandom(1500))["id"]
        for i in range(5):
            put(alice, name, os.urandom(1501 + i), on_conflict="replace")
        versions = alice.ok("GET", f"/api/files/{file_id}/versions")["versions"]
        calls = [alice.prepare("POST", f"/api/files/{file_id}/versions/{v['id']}/restore")
                 for v in versions for _ in range(3)]
        calls += [alice.prepare("DELETE", f"/api/files/{file_id}", params={"permanent": "true"}) for _ in range(3)]
        calls += [alice.prepare("DELETE", f"/api/files/{file_id}/versions/{versions[-1]['id']}")]
        answers = race(calls)
        records = check_round(server, [alice])  # no version left behind its deleted file
        assert winners(answers[-4:-1]), by_status(answers[-4:-1])
        assert records.item(file_id) is None
        assert not [v for v in records.versions if str(v["file_id"]) == file_id], "versions of a deleted file"
        assert alice.call("GET", f"/api/files/{file_id}/versions").status == 404


@on_both_backends
def test_unlocks_racing_a_password_change_end_with_it(server: GunicornServer):
    alice = signup(server, "alice")
    file_id = put(alice, "locked.txt", b"locked bytes")["id"]
    created = alice.ok("POST", "/api/shares", json={"item_id": file_id, "password": "old password"})
    token, share_id = created["token"], created["share"]["id"]
    visitors = [OwnSession(server) for _ in range(9)]  # SHARE_PASSWORD_RATE_LIMIT: 10 a minute
    calls = [v.prepare("POST", f"/s/{token}/unlock", json={"password": "old password"}) for v in visitors]
    calls.append(alice.prepare("PATCH", f"/api/shares/{share_id}", json={"password": "new password"}))
    answers = race(calls)
    assert answers[-1].status == 200, answers[-1]
    assert all(a.status in (200, 401) for a in answers[:-1]), by_status(answers[:-1])
    # Whatever the order, no session unlocked with the old password opens the link now.
    for visitor, answer in zip(visitors, answers):
        assert visitor.call("GET", f"/s/{token}/download").status == 401, f"unlock answered {answer.status}"


class OwnSession(Client):
    """A client whose race call runs on its own session, so it keeps the cookies it is given."""

    def clone(self) -> Client:
        return self

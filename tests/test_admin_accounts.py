"""Running the drive for a team (issue 15): administrators, registration policies and
invitations, per-user quotas, disabled accounts, password changes and resets, login sessions.

User stories through the API: an admin disables a user in the middle of their session (cookie,
token, WebDAV and share link all stop at once); invite-only registration; a password change
kills a stolen cookie. Every admin route is a 404 for anyone who is not an administrator.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading
from datetime import datetime, timedelta

import mongomock
import pytest
from bson import ObjectId

from app import create_app
from app.db import close_database
from app.digests import secret_digest
from app.timeutil import utcnow
from config import TestingConfig
from tests.conftest import TEST_DB, AuthActions, make_app, upload

PASSWORD = "correct horse"


def promote(app, user_id: str) -> None:
    app.extensions["drive_services"].auth.users.update(user_id, {"role": "admin"})


@pytest.fixture
def admin(app):
    client = app.test_client()
    me = AuthActions(client).signup("root", PASSWORD)
    promote(app, me["id"])
    return client


@pytest.fixture
def bob(app):
    client = app.test_client()
    client.user = AuthActions(client).signup("bob", PASSWORD)
    return client


def basic(username, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()}


def code(response) -> str:
    return (response.get_json(silent=True) or {}).get("error", {}).get("code", "")


# -- who may administer ------------------------------------------------------------------------------

def admin_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/admin/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_every_admin_route_is_a_404_for_a_user_and_a_401_for_nobody(app, admin, bob):
    rules = list(admin_rules(app))
    assert len(rules) >= 8
    anonymous = app.test_client()
    secret = bob.post("/api/tokens", json={"name": "t", "scope": "read-write"}).get_json()["secret"]
    for rule, method in rules:
        url = rule.build({name: "0" * 24 for name in rule.arguments}, append_unknown=False)[1]
        body = {"username": "mallory", "password": "pass word 1", "disabled": True, "hours": 1}
        for client, headers in ((bob, {}), (app.test_client(), {"Authorization": f"Bearer {secret}"})):
            response = client.open(url, method=method, json=body, headers=headers)
            assert response.status_code == 404 and code(response) == "not_found", (method, url, response.get_json())
        assert anonymous.open(url, method=method, json=body).status_code == 401
    assert bob.get("/api/me").get_json()["role"] == "user"
    listed = admin.get("/api/admin/users").get_json()
    assert [u["username"] for u in listed["users"]] == ["bob", "root"]  # mallory was never made


def test_create_admin_command_creates_and_promotes(app, bob):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["create-admin", "ops", "--password-stdin"], input="ops password 1\n")
    assert made.exit_code == 0 and "created administrator ops" in made.output, made.output
    client = app.test_client()
    assert AuthActions(client).login("ops", "ops password 1").get_json()["role"] == "admin"
    assert client.get("/api/admin/users").status_code == 200
    promoted = runner.invoke(args=["create-admin", "bob", "--password-stdin"], input="\n")
    assert promoted.exit_code == 0 and "promoted" in promoted.output
    assert bob.get("/api/admin/users").status_code == 200  # the same session, an administrator now
    assert AuthActions(app.test_client()).login("bob", PASSWORD).status_code == 200  # password kept
    short = runner.invoke(args=["create-admin", "newbie", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "8 to 1024" in short.output


def test_the_first_admin_comes_from_the_environment_once(tmp_path):
    first = make_app(tmp_path, EMBEDDED_DB_PATH=str(tmp_path / "data"), ADMIN_USERNAME="chief",
                     ADMIN_PASSWORD="chief password")
    client = first.test_client()
    assert AuthActions(client).login("chief", "chief password").get_json()["role"] == "admin"
    close_database(first)
    again = make_app(tmp_path, EMBEDDED_DB_PATH=str(tmp_path / "data"), ADMIN_USERNAME="chief",
                     ADMIN_PASSWORD="another password")  # a later start changes nothing
    assert AuthActions(again.test_client()).login("chief", "chief password").status_code == 200
    assert AuthActions(again.test_client()).login("chief", "another password").status_code == 401
    close_database(again)


# -- users: list, create, quota --------------------------------------------------------------------------

def test_admins_list_users_with_usage_quota_and_activity_but_never_files(app, admin, bob):
    assert upload(bob, ("secret.txt", b"x" * 1234)).status_code == 201
    for i in range(3):
        AuthActions(app.test_client()).register(f"user{i}", PASSWORD)
    page = admin.get("/api/admin/users?limit=2&page=1").get_json()
    assert page["total"] == 5 and page["pages"] == 3 and len(page["users"]) == 2
    found = admin.get("/api/admin/users?q=BO").get_json()["users"]
    assert [u["username"] for u in found] == ["bob"]
    row = found[0]
    assert row["used_bytes"] == 1234 and row["quota_bytes"] == app.config["USER_QUOTA_BYTES"]
    assert row["own_quota"] is False and row["disabled"] is False and row["role"] == "user"
    assert row["last_seen_at"] is not None
    assert "secret.txt" not in admin.get(f"/api/admin/users/{row['id']}").get_data(as_text=True)
    assert "password_hash" not in str(row)


def test_an_admin_creates_accounts_even_when_registration_is_closed(tmp_path):
    app = make_app(tmp_path, REGISTRATION="closed")
    refused = AuthActions(app.test_client()).register("walkin", PASSWORD)
    assert refused.status_code == 403 and code(refused) == "registration_closed"
    root = app.test_client()
    app.test_cli_runner().invoke(args=["create-admin", "root", "--password-stdin"], input=PASSWORD + "\n")
    AuthActions(root).login("root", PASSWORD)
    made = root.post("/api/admin/users", json={"username": "carol", "password": PASSWORD, "quota_bytes": 5000})
    assert made.status_code == 201 and made.get_json()["quota_bytes"] == 5000 and made.get_json()["own_quota"]
    again = root.post("/api/admin/users", json={"username": "CAROL", "password": PASSWORD})
    assert again.status_code == 409 and code(again) == "username_taken"
    assert AuthActions(app.test_client()).login("carol", PASSWORD).status_code == 200
    close_database(app)


def test_a_quota_of_their_own_replaces_the_default(app, admin, bob):
    user_id = bob.user["id"]
    set_quota = admin.patch(f"/api/admin/users/{user_id}", json={"quota_bytes": 1000})
    assert set_quota.status_code == 200 and set_quota.get_json()["quota_bytes"] == 1000
    refused = upload(bob, ("big.bin", b"b" * 2000))
    assert refused.status_code == 507 and "1000 B" in refused.get_json()["error"]["message"]
    assert bob.get("/api/me/usage").get_json()["quota_bytes"] == 1000
    assert upload(bob, ("small.bin", b"s" * 900)).status_code == 201
    assert admin.patch(f"/api/admin/users/{user_id}", json={"quota_bytes": 0}).get_json()["quota_bytes"] == 0
    assert upload(bob, ("big.bin", b"b" * 2000)).status_code == 201  # 0: unlimited
    back = admin.patch(f"/api/admin/users/{user_id}", json={"quota_bytes": None}).get_json()
    assert back["quota_bytes"] == app.config["USER_QUOTA_BYTES"] and back["own_quota"] is False
    for bad in (-1, "lots", 1.5, True):
        assert admin.patch(f"/api/admin/users/{user_id}", json={"quota_bytes": bad}).status_code == 400


# -- disabling, mid-session ------------------------------------------------------------------------------

def test_a_disabled_user_is_out_at_once_everywhere_and_back_when_enabled(app, admin, bob):
    assert upload(bob, ("shared.txt", b"shared")).status_code == 201
    file_id = bob.get("/api/files").get_json()["files"][0]["id"]
    link = bob.post("/api/shares", json={"item_id": file_id}).get_json()["token"]
    secret = bob.post("/api/tokens", json={"name": "t", "scope": "read-write"}).get_json()["secret"]
    bearer = {"Authorization": f"Bearer {secret}"}
    visitor = app.test_client()
    assert visitor.get(f"/s/{link}").status_code == 200
    assert bob.get("/api/files").status_code == 200
    warm = app.test_client().open("/dav/bob/", method="PROPFIND", headers={**basic("bob", PASSWORD), "Depth": "0"})
    assert warm.status_code == 207  # WebDAV now remembers this password for a minute

    disabled = admin.patch(f"/api/admin/users/{bob.user['id']}", json={"disabled": True})
    assert disabled.status_code == 200 and disabled.get_json()["disabled"] is True
    assert bob.get("/api/files").status_code == 401  # the open session, mid-use
    assert app.test_client().get("/api/files", headers=bearer).status_code == 401
    dav = app.test_client().open("/dav/bob/", method="PROPFIND", headers={**basic("bob", secret), "Depth": "0"})
    assert dav.status_code == 401
    remembered = app.test_client().open("/dav/bob/", method="PROPFIND",  # a password WebDAV checked a moment ago
                                        headers={**basic("bob", PASSWORD), "Depth": "0"})
    assert remembered.status_code == 401
    assert app.test_client().get(f"/s/{link}").status_code == 404
    login = AuthActions(app.test_client()).login("bob", PASSWORD)
    assert login.status_code == 403 and code(login) == "account_disabled"
    wrong = AuthActions(app.test_client()).login("bob", "wrong password")
    assert wrong.status_code == 401  # a wrong password still says nothing about the account

    assert admin.patch(f"/api/admin/users/{bob.user['id']}", json={"disabled": False}).status_code == 200
    assert app.test_client().get("/api/files", headers=bearer).status_code == 200
    assert app.test_client().get(f"/s/{link}").status_code == 200
    assert bob.get("/api/files").status_code == 401  # that session ended for good
    assert AuthActions(app.test_client()).login("bob", PASSWORD).status_code == 200


def test_an_admin_cannot_lock_themselves_out(app, admin):
    me = admin.get("/api/me").get_json()
    for change in ({"disabled": True}, {"role": "user"}):
        response = admin.patch(f"/api/admin/users/{me['id']}", json=change)
        assert response.status_code == 409, change
    assert admin.get("/api/admin/users").status_code == 200


def test_a_password_reset_ends_the_users_sessions(app, admin, bob):
    reset = admin.post(f"/api/admin/users/{bob.user['id']}/password", json={"password": "brand new pass"})
    assert reset.status_code == 204
    assert bob.get("/api/files").status_code == 401
    assert AuthActions(app.test_client()).login("bob", PASSWORD).status_code == 401
    assert AuthActions(app.test_client()).login("bob", "brand new pass").status_code == 200
    missing = admin.post("/api/admin/users/" + "0" * 24 + "/password", json={"password": "brand new pass"})
    assert missing.status_code == 404 and code(missing) == "user_not_found"


# -- registration by invitation --------------------------------------------------------------------------

def test_invite_only_registration(tmp_path):
    app = make_app(tmp_path, REGISTRATION="invite")
    root = app.test_client()
    app.test_cli_runner().invoke(args=["create-admin", "root", "--password-stdin"], input=PASSWORD + "\n")
    AuthActions(root).login("root", PASSWORD)
    anyone = AuthActions(app.test_client())
    refused = anyone.register("dave", PASSWORD)
    assert refused.status_code == 403 and code(refused) == "invite_required"

    made = root.post("/api/admin/invites", json={"hours": 24, "note": "dave"}).get_json()
    assert made["secret"].startswith("cdi_") and made["secret"] in made["url"]
    assert [i["note"] for i in root.get("/api/admin/invites").get_json()["invites"]] == ["dave"]
    assert made["secret"] not in root.get("/api/admin/invites").get_data(as_text=True)
    root_name = anyone.client.post("/api/register", json={"username": "ROOT", "password": PASSWORD,
                                                          "invite": made["secret"]})
    assert root_name.status_code == 409  # a taken name does not use the invitation up
    welcomed = anyone.client.post("/api/register", json={"username": "dave", "password": PASSWORD,
                                                         "invite": made["secret"]})
    assert welcomed.status_code == 201
    reused = anyone.client.post("/api/register", json={"username": "eve", "password": PASSWORD,
                                                       "invite": made["secret"]})
    assert reused.status_code == 403 and code(reused) == "invite_invalid"
    assert root.get("/api/admin/invites").get_json()["invites"] == []

    withdrawn = root.post("/api/admin/invites", json={}).get_json()
    assert root.delete(f"/api/admin/invites/{withdrawn['invite']['id']}").status_code == 204
    assert root.delete(f"/api/admin/invites/{withdrawn['invite']['id']}").status_code == 404
    late = anyone.client.post("/api/register", json={"username": "eve", "password": PASSWORD,
                                                     "invite": withdrawn["secret"]})
    assert late.status_code == 403 and code(late) == "invite_invalid"
    with app.app_context():
        services = app.extensions["drive_services"]
        services.auth.invites.insert({"_id": ObjectId(), "secret_hash": secret_digest("cdi_old"),
                                      "created_by": "x", "created_at": utcnow() - timedelta(days=2),
                                      "expires_at": utcnow() - timedelta(days=1), "note": None})
    expired = anyone.client.post("/api/register", json={"username": "eve", "password": PASSWORD, "invite": "cdi_old"})
    assert expired.status_code == 403 and code(expired) == "invite_invalid"
    close_database(app)


@pytest.mark.skipif(TEST_DB != "sqlite", reason="threads share the SQLite engine (mongomock is not thread-safe)")
def test_one_invitation_registers_one_account_under_parallel_use(tmp_path):
    app = make_app(tmp_path, REGISTRATION="invite", REGISTER_RATE_LIMIT="1000 per hour")
    app.test_cli_runner().invoke(args=["create-admin", "root", "--password-stdin"], input=PASSWORD + "\n")
    root = app.test_client()
    AuthActions(root).login("root", PASSWORD)
    secret = root.post("/api/admin/invites", json={}).get_json()["secret"]
    answers, barrier = [], threading.Barrier(12)

    def register(i):
        client = app.test_client()
        barrier.wait()
        answers.append(client.post("/api/register", json={"username": f"racer{i}", "password": PASSWORD,
                                                          "invite": secret}).status_code)
    threads = [threading.Thread(target=register, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201] + [403] * 11
    close_database(app)


# -- self-service: password, sessions, remember me -------------------------------------------------------

def test_a_password_change_kills_a_stolen_cookie_and_keeps_this_session(app, bob):
    thief = app.test_client()
    thief.set_cookie("session", bob.get_cookie("session").value)
    assert thief.get("/api/files").status_code == 200  # the copied cookie works until...
    laptop = app.test_client()
    AuthActions(laptop).login("bob", PASSWORD)
    secret = bob.post("/api/tokens", json={"name": "dav", "scope": "read-write"}).get_json()["secret"]
    wrong = bob.post("/api/me/password", json={"current_password": "nope nope", "new_password": "new password 1"})
    assert wrong.status_code == 401 and code(wrong) == "wrong_password"
    changed = bob.post("/api/me/password", json={"current_password": PASSWORD, "new_password": "new password 1"})
    assert changed.status_code == 204
    assert laptop.get("/api/files").status_code == 401
    assert bob.get("/api/files").status_code == 200  # the session that changed it stays
    assert thief.get("/api/files").status_code == 200  # (a copy of *this* cookie is this session)
    assert app.test_client().get("/api/files", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    old = app.test_client().open("/dav/bob/", method="PROPFIND", headers={**basic("bob", PASSWORD), "Depth": "0"})
    assert old.status_code == 401
    new = app.test_client().open("/dav/bob/", method="PROPFIND", headers={**basic("bob", "new password 1"),
                                                                          "Depth": "0"})
    assert new.status_code == 207
    revoked = bob.post("/api/me/password", json={"current_password": "new password 1",
                                                 "new_password": "newer password 2", "revoke_tokens": True})
    assert revoked.status_code == 204
    assert app.test_client().get("/api/files", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_sessions_are_listed_and_ended_one_or_all(app, bob):
    phone = app.test_client()
    phone.post("/api/login", json={"username": "bob", "password": PASSWORD}, headers={"User-Agent": "Phone/1.0"})
    sessions = bob.get("/api/me/sessions").get_json()["sessions"]
    assert len(sessions) == 2 and sum(s["current"] for s in sessions) == 1
    other = next(s for s in sessions if not s["current"])
    assert other["user_agent"] == "Phone/1.0" and other["address"] == "127.0.0.1" and other["last_used_at"]
    token = bob.post("/api/tokens", json={"name": "t", "scope": "read-write"}).get_json()["secret"]
    assert app.test_client().get("/api/me/sessions", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert bob.delete(f"/api/me/sessions/{other['id']}").status_code == 204
    assert phone.get("/api/files").status_code == 401
    assert bob.delete(f"/api/me/sessions/{other['id']}").status_code == 404
    AuthActions(phone).login("bob", PASSWORD)
    assert bob.delete("/api/me/sessions").status_code == 204  # log out everywhere
    assert phone.get("/api/files").status_code == 401 and bob.get("/api/files").status_code == 401


def test_remember_me_decides_the_cookie_and_the_session_lifetime(app, bob):
    remembered = app.test_client().post("/api/login", json={"username": "bob", "password": PASSWORD})
    cookie = remembered.headers["Set-Cookie"]
    assert re.search(r"Expires=", cookie), cookie
    days = app.config["SESSION_LIFETIME_DAYS"]
    forgetful = app.test_client()
    answer = forgetful.post("/api/login", json={"username": "bob", "password": PASSWORD, "remember": False})
    assert answer.status_code == 200 and "Expires=" not in answer.headers["Set-Cookie"]
    listed = {s["current"]: s for s in forgetful.get("/api/me/sessions").get_json()["sessions"] if s["current"]}
    expires = datetime.fromisoformat(listed[True]["expires_at"].replace("Z", "+00:00"))
    assert expires - utcnow() < timedelta(hours=app.config["SESSION_UNREMEMBERED_HOURS"] + 1) < timedelta(days=days)
    form = app.test_client().post("/api/login", data={"username": "bob", "password": PASSWORD, "remember": "false"})
    assert form.status_code == 200 and "Expires=" not in form.headers["Set-Cookie"]



# -- deleting an account with everything in it -----------------------------------------------------------

def every_record_mentioning(app, needles: list[str], keep=("events",)) -> list[str]:
    """Every stored record (any collection or table but ``keep``) in which one of ``needles``
    appears. The audit log keeps its events of a deleted account, naming it by id only."""
    database = app.extensions["drive_db"]
    found = []
    if database.kind == "sqlite":
        import sqlite3
        conn = sqlite3.connect(database.path)
        try:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                if table.startswith(("item_names", "sqlite_")) or table in ("schema_versions", *keep):
                    continue
                for row in conn.execute(f"SELECT * FROM {table}"):
                    text = repr(row)
                    found += [f"{table}: {text[:200]}" for needle in needles if needle in text]
        finally:
            conn.close()
    else:
        db = database._db
        for name in db.list_collection_names():
            if name in keep:
                continue
            for doc in db[name].find({}):
                text = repr(doc)
                found += [f"{name}: {text[:200]}" for needle in needles if needle in text]
    return found


def stored_files_of(app, user_id: str) -> list[str]:
    import os
    root = os.path.join(app.config["UPLOAD_FOLDER"], user_id)
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]


def fill_an_account(app, client, username: str) -> None:
    """Files in folders, versions, a trashed folder, a link (opened), a token, an unfinished
    tus upload, a WebDAV lock and a dead property."""
    folder = client.post("/api/folders", json={"name": "Docs"}).get_json()["id"]
    for i in range(3):
        assert upload(client, (f"f{i}.txt", f"{username} {i}".encode()), query=f"?folder_id={folder}").status_code == 201
    assert upload(client, ("f0.txt", b"v2"), query=f"?folder_id={folder}&on_conflict=replace").status_code == 201
    binned = client.post("/api/folders", json={"name": "Binned"}).get_json()["id"]
    assert upload(client, ("b.txt", b"binned " + username.encode()), query=f"?folder_id={binned}").status_code == 201
    assert client.delete(f"/api/folders/{binned}").status_code == 204
    file_id = client.get("/api/files").get_json()["files"][0]["id"]
    link = client.post("/api/shares", json={"item_id": file_id}).get_json()["token"]
    with app.test_client().get(f"/s/{link}/download") as downloaded:
        assert downloaded.status_code == 200 and downloaded.get_data()
    secret = client.post("/api/tokens", json={"name": "dav", "scope": "read-write"}).get_json()["secret"]
    meta = "filename " + base64.b64encode(b"half.bin").decode()
    started = client.post("/api/tus/", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "20",
                                                "Upload-Metadata": meta},
                          data=b"0123456789", content_type="application/offset+octet-stream")
    assert started.status_code == 201
    dav = basic(username, secret)
    assert app.test_client().put(f"/dav/{username}/Docs/dav.txt", data=b"dav", headers=dav).status_code == 201
    lock = ('<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope>'
            '<d:locktype><d:write/></d:locktype></d:lockinfo>')
    assert app.test_client().open(f"/dav/{username}/Docs/dav.txt", method="LOCK", data=lock,
                                  headers={**dav, "Depth": "0"}).status_code == 200
    prop = ('<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:z="urn:z"><d:set><d:prop><z:a>1</z:a>'
            '</d:prop></d:set></d:propertyupdate>')
    assert app.test_client().open(f"/dav/{username}/Docs", method="PROPPATCH", data=prop, headers=dav).status_code == 207


def test_deleting_my_account_leaves_no_record_and_no_byte_of_mine(app, bob):
    carol = app.test_client()
    carol_id = AuthActions(carol).signup("carol", PASSWORD)["id"]
    fill_an_account(app, bob, "bob")
    fill_an_account(app, carol, "carol")
    bob_id = bob.user["id"]
    assert every_record_mentioning(app, [bob_id]) and stored_files_of(app, bob_id)
    carol_before = (carol.get("/api/search?limit=200").get_json(), carol.get("/api/me/usage").get_json(),
                    stored_files_of(app, carol_id))

    wrong = bob.delete("/api/me", json={"password": "not it at all"})
    assert wrong.status_code == 401 and bob.get("/api/files").status_code == 200
    assert bob.delete("/api/me", json={"password": PASSWORD}).status_code == 204

    assert every_record_mentioning(app, [bob_id, "/bob/"]) == []
    assert every_record_mentioning(app, ["'bob'", '"bob"', "/bob/"], keep=()) == []  # no event names bob
    assert stored_files_of(app, bob_id) == []
    assert AuthActions(app.test_client()).login("bob", PASSWORD).status_code == 401
    assert bob.get("/api/files").status_code == 401
    assert (carol.get("/api/search?limit=200").get_json(), carol.get("/api/me/usage").get_json(),
            stored_files_of(app, carol_id)) == carol_before
    assert AuthActions(app.test_client()).register("bob", PASSWORD).status_code == 201  # the name is free again


def test_an_admin_deletes_a_user_after_confirming_and_it_can_be_finished_later(app, admin, bob):
    fill_an_account(app, bob, "bob")
    bob_id = bob.user["id"]
    unconfirmed = admin.delete(f"/api/admin/users/{bob_id}", json={"confirm": "someone else"})
    assert unconfirmed.status_code == 400 and bob.get("/api/files").status_code == 200
    me = admin.get("/api/me").get_json()["id"]
    assert admin.delete(f"/api/admin/users/{me}", json={"confirm": "root"}).status_code == 409

    services = app.extensions["drive_services"]
    real_empty = services.trash.empty
    services.trash.empty = lambda owner_id: (_ for _ in ()).throw(RuntimeError("power cut"))
    with pytest.raises(RuntimeError):
        with app.app_context():
            services.deletion.delete(bob_id)
    services.trash.empty = real_empty
    assert bob.get("/api/files").status_code == 401  # interrupted: the account is already out
    assert AuthActions(app.test_client()).login("bob", PASSWORD).status_code == 403
    finished = app.test_cli_runner().invoke(args=["delete-user", "bob", "--yes"])
    assert finished.exit_code == 0 and "deleted bob" in finished.output, finished.output
    assert every_record_mentioning(app, [bob_id, "/bob/"]) == [] and stored_files_of(app, bob_id) == []
    gone = admin.delete(f"/api/admin/users/{bob_id}", json={"confirm": "bob"})
    assert gone.status_code == 404 and code(gone) == "user_not_found"


def test_my_export_round_trips_my_files_and_metadata(app, bob):
    fill_an_account(app, bob, "bob")
    assert upload(bob, ("con.txt", b"a Windows device name")).status_code == 201
    response = bob.get("/api/me/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    import zipfile
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    response.close()
    names = archive.namelist()
    meta = json.loads(archive.read("metadata.json"))
    files = {i["path"]: i for i in meta["items"] if i["type"] == "file"}
    assert set(files) == {"/Docs/f0.txt", "/Docs/f1.txt", "/Docs/f2.txt", "/Docs/dav.txt", "/con.txt"}
    for item in files.values():
        data = archive.read(item["archive_path"])
        assert hashlib.sha256(data).hexdigest() == item["sha256"] and len(data) == item["size"]
    assert archive.read("drive/Docs/f0.txt") == b"v2" and "drive/_con.txt" in names
    assert [v["size"] for v in files["/Docs/f0.txt"]["versions"]] == [len(b"bob 0")]
    assert [t["name"] for t in meta["trash"]] == ["Binned"] and meta["account"]["username"] == "bob"
    assert len(meta["shares"]) == 1 and "token" not in json.dumps(meta["shares"])
    carol = app.test_client()
    AuthActions(carol).signup("carol", PASSWORD)
    with carol.get("/api/me/export") as theirs:
        assert b"bob" not in theirs.get_data() and b"Docs" not in theirs.get_data()

"""The account and sharing repositories' named operations (users, sessions, API tokens, share
links and their resume allowances), one contract for every implementation.

Like tests/test_repository_contract.py, each test runs on mongomock (standing in for MongoDB)
and SQLite (issue 10), and checks what a service relies on: the same
documents come back (ids, tz-aware times), unique keys hold, and the conditional writes
(download limit, allowance budget, epoch) refuse exactly where they should.
"""
from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from app.auth.repo import SessionsRepository, TokensRepository, UsersRepository
from app.auth.service import AuthService
from app.auth.sqlite_repo import SQLiteSessionsRepository, SQLiteTokensRepository, SQLiteUsersRepository
from app.auth.tokens import TokenService
from app.digests import secret_digest
from app.errors import Conflict, NotFound
from app.sharing.repo import SharesRepository
from app.sharing.service import epoch
from app.sharing.sqlite_repo import SQLiteSharesRepository
from app.sqlite_db import SQLiteDatabase
from app.timeutil import as_utc, utcnow
from tests.repository_backends import BACKENDS, on_backend

OWNER, OTHER = "a" * 24, "b" * 24


@dataclass
class Repos:
    users: UsersRepository | SQLiteUsersRepository
    sessions: SessionsRepository | SQLiteSessionsRepository
    tokens: TokensRepository | SQLiteTokensRepository
    shares: SharesRepository | SQLiteSharesRepository


def sqlite_repos(db: SQLiteDatabase) -> Repos:
    repos = Repos(SQLiteUsersRepository(db), SQLiteSessionsRepository(db), SQLiteTokensRepository(db),
                  SQLiteSharesRepository(db))
    for repo in [*vars(repos).values()] * 2:  # creating the schema twice is harmless
        repo.ensure_indexes()
    return repos


@pytest.fixture(params=BACKENDS)
def repos(request, tmp_path):
    yield from on_backend(request, tmp_path, lambda db: Repos(UsersRepository(db), SessionsRepository(db),
                                                              TokensRepository(db), SharesRepository(db)),
                          sqlite_repos)


@pytest.fixture
def sqlite_db(tmp_path):
    db = SQLiteDatabase(str(tmp_path / "drive.sqlite3"))
    yield db, sqlite_repos(db)
    db.close()


def same_time(stored, expected) -> bool:
    return stored is not None and as_utc(stored) == as_utc(expected)


# -- users and sessions ------------------------------------------------------------------------

def test_usernames_are_unique_ignoring_case(repos):
    now = utcnow()
    alice = repos.users.create("Alice", "hash-1", now)
    assert isinstance(alice["_id"], ObjectId)
    with pytest.raises(Conflict) as taken:
        repos.users.create("aLICE", "hash-2", now)
    assert taken.value.code == "username_taken"

    found = repos.users.get_by_username("ALICE")
    assert found["_id"] == alice["_id"] and found["username"] == "Alice" and found["password_hash"] == "hash-1"
    assert same_time(repos.users.get(str(alice["_id"]))["created_at"], now)
    assert repos.users.get("not-an-object-id") is None
    assert repos.users.get(str(ObjectId())) is None
    assert repos.users.get_by_username("bob") is None


def test_a_session_logs_in_until_it_expires_or_ends(repos):
    user = repos.users.create("carol", "x", utcnow())
    auth = AuthService(repos.users, repos.sessions, session_days=1)
    session = auth.start_session(user)
    assert auth.load_session(session.session_token).id == str(user["_id"])
    record = repos.sessions.get(secret_digest(session.session_token))
    assert record["user_id"] == str(user["_id"]) and as_utc(record["expires_at"]) > utcnow()

    expired = AuthService(repos.users, repos.sessions, session_days=0).start_session(user)
    assert auth.load_session(expired.session_token) is None
    left = repos.sessions.get(secret_digest(expired.session_token))
    assert left is None or as_utc(left["expires_at"]) <= utcnow(), "an expired record is never live"

    auth.end_session(session)
    assert auth.load_session(session.session_token) is None
    assert repos.sessions.get(secret_digest("never issued")) is None


def test_a_password_hashed_with_another_method_still_logs_in(repos):
    """The testing profile hashes with a cheap PASSWORD_HASH_METHOD, the others with werkzeug's
    default (scrypt): a hash names its method, so changing the setting locks nobody out."""
    cheap = AuthService(repos.users, repos.sessions, session_days=1, password_method="pbkdf2:sha256:1000")
    default = AuthService(repos.users, repos.sessions, session_days=1)
    assert cheap.register("dora", "password123")["password_hash"].startswith("pbkdf2:sha256:1000$")
    assert default.register("eric", "password123")["password_hash"].startswith("scrypt:")
    for service in (cheap, default):
        for username in ("dora", "eric"):
            assert service.authenticate(username, "password123")["username"] == username


def test_logging_out_everywhere_ends_only_that_users_sessions(repos):
    later = utcnow() + timedelta(days=1)
    for token_hash, user_id in (("h1", OWNER), ("h2", OWNER), ("h3", OTHER)):
        repos.sessions.create(token_hash, user_id, utcnow(), later)
    with pytest.raises(DuplicateKeyError):
        repos.sessions.create("h1", OTHER, utcnow(), later)
    repos.sessions.delete_for_user(OWNER)
    assert repos.sessions.get("h1") is None and repos.sessions.get("h2") is None
    assert repos.sessions.get("h3")["user_id"] == OTHER
    repos.sessions.delete("h3")
    assert repos.sessions.get("h3") is None


# -- API tokens ---------------------------------------------------------------------------------

def a_token(owner=OWNER, secret="s", created_at=None, **fields) -> dict:
    return {"_id": ObjectId(), "owner_id": owner, "name": f"token {secret}", "scope": "read",
            "secret_hash": secret_digest(secret), "prefix": "cdt_" + secret[:4], "created_at": created_at or utcnow(),
            "expires_at": None, "last_used_at": None, **fields}


def test_tokens_are_found_by_their_hash_and_listed_oldest_first(repos):
    base = utcnow()
    second = a_token(secret="two", created_at=base + timedelta(seconds=1), expires_at=base + timedelta(days=9))
    first = a_token(secret="one", created_at=base)
    for token in (second, first, a_token(OTHER, secret="theirs")):
        repos.tokens.insert(token)
    with pytest.raises(DuplicateKeyError):
        repos.tokens.insert(a_token(OTHER, secret="one"))

    found = repos.tokens.by_secret_hash(secret_digest("two"))
    assert {k: v for k, v in found.items() if k not in ("created_at", "expires_at")} == \
        {k: v for k, v in second.items() if k not in ("created_at", "expires_at")}
    assert same_time(found["created_at"], second["created_at"]) and same_time(found["expires_at"], second["expires_at"])
    assert repos.tokens.by_secret_hash(secret_digest("nope")) is None
    assert [t["_id"] for t in repos.tokens.for_owner(OWNER)] == [first["_id"], second["_id"]]

    used = base + timedelta(minutes=5)
    repos.tokens.touch(first["_id"], used)
    assert same_time(repos.tokens.by_secret_hash(secret_digest("one"))["last_used_at"], used)


def test_only_the_owner_deletes_a_token(repos):
    token = a_token()
    repos.tokens.insert(token)
    assert not repos.tokens.delete_owned(OTHER, str(token["_id"]))
    assert not repos.tokens.delete_owned(OWNER, "malformed")
    assert repos.tokens.by_secret_hash(token["secret_hash"]) is not None
    assert repos.tokens.delete_owned(OWNER, str(token["_id"]))
    assert not repos.tokens.delete_owned(OWNER, str(token["_id"]))
    assert repos.tokens.for_owner(OWNER) == []


def test_a_script_authenticates_with_its_token_until_revoked(repos):
    user = repos.users.create("dave", "x", utcnow())
    service = TokenService(repos.tokens, repos.users)
    token, secret = service.create(str(user["_id"]), "backup", "read", None)
    assert service.authenticate(secret).id == str(user["_id"])
    assert repos.tokens.by_secret_hash(token["secret_hash"])["last_used_at"] is not None
    with pytest.raises(NotFound):
        service.revoke(OTHER, str(token["_id"]))
    service.revoke(str(user["_id"]), str(token["_id"]))
    assert service.authenticate(secret) is None


def test_an_owner_holds_at_most_the_limit_of_tokens(repos):
    kept = [a_token(secret=f"mine{i}") for i in range(3)]
    assert all(repos.tokens.insert_within_limit(token, 3) for token in kept)
    assert not repos.tokens.insert_within_limit(a_token(secret="one too many"), 3)
    assert repos.tokens.insert_within_limit(a_token(OTHER, secret="theirs"), 3), "the limit is per owner"
    assert repos.tokens.by_secret_hash(secret_digest("one too many")) is None
    assert repos.tokens.delete_owned(OWNER, str(kept[0]["_id"]))
    assert repos.tokens.insert_within_limit(a_token(secret="in its place"), 3)
    assert len(repos.tokens.for_owner(OWNER)) == 3


# -- share links -------------------------------------------------------------------------------

def a_share(repos, token="link", owner=OWNER, item_id=None, created_at=None, **settings) -> dict:
    share = {"_id": ObjectId(), "owner_id": owner, "item_id": item_id or ObjectId(), "item_type": "file",
             "token_hash": secret_digest(token), "created_at": created_at or utcnow(), "download_count": 0,
             "last_used_at": None, "revoked_at": None, "label": None, "expires_at": None, "password_hash": None,
             "max_downloads": None, "epoch": 0, "mode": "read", "max_file_bytes": None, "max_total_bytes": None,
             "max_files": None, "uploaded_files": 0, "uploaded_bytes": 0, **settings}
    repos.shares.insert(share)
    return share


def test_an_upload_only_link_counts_files_and_bytes_within_its_limits(repos):
    drop = a_share(repos, "drop", item_type="folder", mode="upload", max_files=3, max_total_bytes=100)
    read = a_share(repos, "read")
    now = utcnow()
    assert repos.shares.reserve_drop(read["_id"], 1, 1, now) is None  # only upload-only links take uploads
    taken = repos.shares.reserve_drop(drop["_id"], 2, 60, now)
    assert (taken["uploaded_files"], taken["uploaded_bytes"]) == (2, 60) and same_time(taken["last_used_at"], now)
    assert repos.shares.reserve_drop(drop["_id"], 1, 41, now) is None  # past max_total_bytes
    assert repos.shares.reserve_drop(drop["_id"], 2, 1, now) is None  # past max_files
    assert repos.shares.reserve_drop(drop["_id"], 1, 40, now)["uploaded_files"] == 3
    repos.shares.release_drop(drop["_id"], 1, 40)  # that upload failed after all
    again = repos.shares.reserve_drop(drop["_id"], 1, 40, now)
    assert (again["uploaded_files"], again["uploaded_bytes"]) == (3, 100)
    repos.shares.update(drop["_id"], {"max_files": None, "max_total_bytes": None})
    assert repos.shares.reserve_drop(drop["_id"], 10, 10**9, now)["uploaded_files"] == 13
    repos.shares.update_unless_revoked(drop["_id"], {"revoked_at": now})
    assert repos.shares.reserve_drop(drop["_id"], 1, 1, now) is None


def test_a_link_is_found_by_its_hash_and_by_its_owner_only(repos):
    item = ObjectId()
    share = a_share(repos, item_id=item, label="for Bob", password_hash="pw", max_downloads=3)
    with pytest.raises(DuplicateKeyError):
        a_share(repos, owner=OTHER)  # the same token hash

    found = repos.shares.by_token_hash(secret_digest("link"))
    assert {k: v for k, v in found.items() if k != "created_at"} == {k: v for k, v in share.items() if k != "created_at"}
    assert same_time(found["created_at"], share["created_at"]) and isinstance(found["item_id"], ObjectId)
    assert repos.shares.by_token_hash(secret_digest("other")) is None
    assert repos.shares.get_owned(OWNER, str(share["_id"]))["_id"] == share["_id"]
    assert repos.shares.get_owned(OTHER, str(share["_id"])) is None
    assert repos.shares.get_owned(OWNER, "malformed") is None


def test_an_owners_links_are_listed_newest_first(repos):
    base, item = utcnow(), ObjectId()
    old = a_share(repos, "t1", item_id=item, created_at=base)
    new = a_share(repos, "t2", item_id=item, created_at=base + timedelta(seconds=1))
    other_item = a_share(repos, "t3", created_at=base + timedelta(seconds=2))
    theirs = a_share(repos, "t5", owner=OTHER, item_id=item)

    assert [s["_id"] for s in repos.shares.for_owner(OWNER)] == [other_item["_id"], new["_id"], old["_id"]]
    assert [s["_id"] for s in repos.shares.for_owner(OWNER, item)] == [new["_id"], old["_id"]]
    assert [s["_id"] for s in repos.shares.for_owner(OTHER)] == [theirs["_id"]], "another owner's links are theirs"


def test_every_edit_bumps_the_epoch(repos):
    share = a_share(repos)
    later = utcnow() + timedelta(days=2)
    edited = repos.shares.update(share["_id"], {"label": "new", "expires_at": later, "max_downloads": 7})
    assert edited["epoch"] == 1 and edited["label"] == "new" and edited["max_downloads"] == 7
    assert same_time(edited["expires_at"], later)
    assert repos.shares.update(share["_id"], {"label": None, "password_hash": "h"})["epoch"] == 2
    assert repos.shares.update(share["_id"], {})["epoch"] == 3
    assert repos.shares.by_token_hash(share["token_hash"])["label"] is None
    assert repos.shares.update(ObjectId(), {"label": "x"}) is None


def test_a_revoked_link_takes_no_more_edits(repos):
    share, now = a_share(repos), utcnow()
    assert repos.shares.update_unless_revoked(share["_id"], {"label": "x"})["epoch"] == 1
    revoked = repos.shares.update_unless_revoked(share["_id"], {"revoked_at": now})
    assert revoked["epoch"] == 2 and same_time(revoked["revoked_at"], now)
    assert repos.shares.update_unless_revoked(share["_id"], {"label": "late"}) is None
    assert repos.shares.update_unless_revoked(share["_id"], {"revoked_at": utcnow()}) is None
    after = repos.shares.by_token_hash(share["token_hash"])
    assert after["epoch"] == 2 and after["label"] == "x" and same_time(after["revoked_at"], now)


def test_a_link_made_before_epochs_starts_at_epoch_zero(repos):
    share = a_share(repos)
    del share["epoch"]
    share.update(_id=ObjectId(), token_hash=secret_digest("legacy"))
    repos.shares.insert(share)
    assert epoch(repos.shares.by_token_hash(share["token_hash"])) == 0
    assert repos.shares.update(share["_id"], {})["epoch"] == 1


def test_downloads_are_counted_up_to_the_limit_exactly(repos):
    share = a_share(repos, max_downloads=3)
    now = utcnow()
    counts = [repos.shares.count_download(share["_id"], now) for _ in range(4)]
    assert [c["download_count"] for c in counts[:3]] == [1, 2, 3] and counts[3] is None
    assert same_time(counts[0]["last_used_at"], now)
    assert repos.shares.by_token_hash(share["token_hash"])["download_count"] == 3

    unlimited = a_share(repos, "free")
    assert [repos.shares.count_download(unlimited["_id"], now)["download_count"] for _ in range(5)][-1] == 5
    repos.shares.update(unlimited["_id"], {"revoked_at": now})
    assert repos.shares.count_download(unlimited["_id"], now) is None, "a revoked link counts nothing"
    assert repos.shares.count_download(ObjectId(), now) is None


# -- resume allowances ---------------------------------------------------------------------------

def test_an_allowance_is_live_for_its_share_epoch_and_time_only(repos):
    share, file, now = ObjectId(), ObjectId(), utcnow()
    grant = repos.shares.create_grant(share, file, 2, 0, now + timedelta(hours=1))
    assert isinstance(grant, str) and ObjectId.is_valid(grant)
    assert repos.shares.has_live_grant(["junk", grant], share, 2, now)
    assert not repos.shares.has_live_grant([grant], share, 3, now), "an edit ends it"
    assert not repos.shares.has_live_grant([grant], ObjectId(), 2, now)
    assert not repos.shares.has_live_grant([grant], share, 2, now + timedelta(hours=1))
    assert not repos.shares.has_live_grant([], share, 2, now)
    assert not repos.shares.has_live_grant([str(ObjectId())], share, 2, now)


def test_an_allowance_pays_resumes_within_its_budget_only(repos):
    share, file, now = ObjectId(), ObjectId(), utcnow()
    grant = repos.shares.create_grant(share, file, 0, 10, now + timedelta(hours=1))

    def use(served, grants=(grant,), file_id=file, epoch_=0, at=now):
        return repos.shares.use_grant(list(grants), share, file_id, epoch_, served, 100, at)
    assert use(50)
    assert not use(41), "10 + 50 + 41 is past the budget"
    assert use(40)
    assert not use(1)
    second = repos.shares.create_grant(share, file, 0, 0, now + timedelta(hours=1))
    assert not use(1, file_id=ObjectId()) and not use(1, epoch_=1) and not use(101, grants=(second,))
    assert not use(1, grants=(second,), at=now + timedelta(hours=2)), "expired"
    assert not use(1, grants=())
    third = repos.shares.create_grant(share, file, 0, 0, now + timedelta(hours=1))
    # Each call pays from one allowance only, however many the session holds.
    assert use(100, grants=(grant, second, third)) and use(100, grants=(grant, second, third))
    assert not use(1, grants=(grant, second, third))


# -- SQLite only: schema guards, expiry, races across threads --------------------------------------

def test_sqlite_refuses_to_edit_a_field_a_link_does_not_have(sqlite_db):
    _, repos = sqlite_db
    share = a_share(repos)
    with pytest.raises(ValueError):
        repos.shares.update(share["_id"], {"download_count": 0})
    assert repos.shares.by_token_hash(share["token_hash"])["epoch"] == 0


def test_sqlite_removes_expired_sessions_and_allowances_as_new_ones_arrive(sqlite_db):
    db, repos = sqlite_db
    past, future = utcnow() - timedelta(seconds=1), utcnow() + timedelta(days=1)
    for i in range(3):
        repos.sessions.create(f"old{i}", OWNER, past, past)
        repos.shares.create_grant(ObjectId(), ObjectId(), 0, 0, past)
    repos.sessions.create("new", OWNER, utcnow(), future)
    repos.shares.create_grant(ObjectId(), ObjectId(), 0, 0, future)
    assert [r[0] for r in db.read("SELECT id FROM sessions")] == ["new"]
    assert db.read_one("SELECT count(*) FROM share_grants")[0] == 1


def race(times: int, work) -> list:
    barrier, results, lock = threading.Barrier(times), [], threading.Lock()

    def run():
        barrier.wait()
        outcome = work()
        with lock:
            results.append(outcome)
    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_sqlite_twenty_racing_downloads_of_a_five_download_link_count_five(sqlite_db):
    _, repos = sqlite_db
    share = a_share(repos, max_downloads=5)
    results = race(20, lambda: repos.shares.count_download(share["_id"], utcnow()))
    assert sum(r is not None for r in results) == 5
    assert sorted(r["download_count"] for r in results if r) == [1, 2, 3, 4, 5]
    assert repos.shares.by_token_hash(share["token_hash"])["download_count"] == 5


def test_sqlite_racing_resumes_never_overspend_an_allowance(sqlite_db):
    db, repos = sqlite_db
    share, file = ObjectId(), ObjectId()
    grant = repos.shares.create_grant(share, file, 0, 0, utcnow() + timedelta(hours=1))
    results = race(20, lambda: repos.shares.use_grant([grant], share, file, 0, 25, 100, utcnow()))
    assert results.count(True) == 4
    assert db.read_one("SELECT served FROM share_grants")[0] == 100


def test_sqlite_twenty_racing_token_creations_stop_at_the_limit(sqlite_db):
    _, repos = sqlite_db
    made = iter(range(20))
    results = race(20, lambda: repos.tokens.insert_within_limit(a_token(secret=f"race{next(made)}"), 5))
    assert results.count(True) == 5 and len(repos.tokens.for_owner(OWNER)) == 5


# -- administration and self-service (issue 15) ---------------------------------------------------

def test_users_are_updated_field_by_field(repos):
    user = repos.users.create("alice", "h1", utcnow())
    uid = str(user["_id"])
    assert not repos.users.get(uid).get("disabled") and repos.users.get(uid).get("role") is None
    seen = utcnow()
    updated = repos.users.update(uid, {"role": "admin", "disabled": True, "quota_bytes": 5000, "last_seen_at": seen})
    assert updated["role"] == "admin" and updated["disabled"] is True and updated["quota_bytes"] == 5000
    assert same_time(updated["last_seen_at"], seen) and updated["password_hash"] == "h1"
    again = repos.users.update(uid, {"disabled": False, "quota_bytes": None})
    assert again["disabled"] is False and again.get("quota_bytes") is None and again["role"] == "admin"
    assert repos.users.get_by_username("ALICE")["role"] == "admin"
    assert repos.users.update("0" * 24, {"role": "admin"}) is None and repos.users.update("junk", {}) is None


def test_sessions_are_listed_touched_and_ended_by_their_owner(repos):
    now = utcnow()
    repos.sessions.create("s1", OWNER, now - timedelta(minutes=2), now + timedelta(days=1), "10.0.0.1", "Phone")
    repos.sessions.create("s2", OWNER, now - timedelta(minutes=1), now + timedelta(days=1))
    repos.sessions.create("s3", OWNER, now - timedelta(days=3), now - timedelta(days=1))  # expired
    repos.sessions.create("s4", OTHER, now, now + timedelta(days=1))
    listed = repos.sessions.for_user(OWNER, now)
    assert [s["_id"] for s in listed] == ["s2", "s1"]  # newest first, live only
    assert listed[1]["address"] == "10.0.0.1" and listed[1]["user_agent"] == "Phone"
    repos.sessions.touch("s1", now)
    assert same_time(repos.sessions.get("s1")["last_used_at"], now)
    assert not repos.sessions.delete_owned(OTHER, "s1") and repos.sessions.delete_owned(OWNER, "s1")
    repos.sessions.create("s5", OWNER, now, now + timedelta(days=1))
    repos.sessions.delete_for_user(OWNER, keep="s5")
    assert [s["_id"] for s in repos.sessions.for_user(OWNER, now)] == ["s5"]
    repos.sessions.delete_for_user(OWNER)
    assert repos.sessions.for_user(OWNER, now) == [] and repos.sessions.get("s4") is not None


def test_an_owners_tokens_are_revoked_together(repos):
    service = TokenService(repos.tokens, repos.users)
    owner = str(repos.users.create("alice", "h", utcnow())["_id"])
    other = str(repos.users.create("bob", "h", utcnow())["_id"])
    for name in ("a", "b"):
        service.create(owner, name, "read", None)
    service.create(other, "c", "read", None)
    assert repos.tokens.delete_for_owner(owner) == 2
    assert repos.tokens.for_owner(owner) == [] and len(repos.tokens.for_owner(other)) == 1


def test_a_totp_step_and_a_recovery_code_are_used_once(repos):
    uid = str(repos.users.create("alice", "h", utcnow())["_id"])
    repos.users.update(uid, {"totp_secret": "S", "totp_enabled": True, "recovery_hashes": ["r1", "r2"]})
    assert repos.users.use_totp_step(uid, 100) and not repos.users.use_totp_step(uid, 100)
    assert not repos.users.use_totp_step(uid, 99) and repos.users.use_totp_step(uid, 101)
    assert repos.users.use_recovery_code(uid, "r1") and not repos.users.use_recovery_code(uid, "r1")
    assert not repos.users.use_recovery_code(uid, "nope")
    user = repos.users.get(uid)
    assert user["recovery_hashes"] == ["r2"] and user["totp_enabled"] is True and user["totp_last_step"] == 101
    repos.users.update(uid, {"totp_enabled": False, "totp_secret": None, "recovery_hashes": None})
    user = repos.users.get(uid)
    assert not user["totp_enabled"] and not user.get("totp_secret") and not user.get("recovery_hashes")
    assert not repos.users.use_recovery_code(uid, "r2")


def test_users_are_paged_by_name_and_found_by_part_of_it(repos):
    """(An administrator's list walks the username index in order: not a lookup by key.)"""
    for name in ("carol", "Alice", "bob", "alicia"):
        repos.users.create(name, "h", utcnow())
    page, total = repos.users.page(None, 1, 3)
    assert [u["username"] for u in page] == ["Alice", "alicia", "bob"] and total == 4
    assert [u["username"] for u in repos.users.page(None, 2, 3)[0]] == ["carol"]
    found, total = repos.users.page("ALI", 1, 10)
    assert [u["username"] for u in found] == ["Alice", "alicia"] and total == 2
    assert repos.users.page("zzz", 1, 10) == ([], 0)
    assert repos.users.page(".*", 1, 10) == ([], 0)  # literal text, not a pattern


@pytest.fixture(params=BACKENDS)
def invites(request, tmp_path):
    from app.auth.repo import InvitesRepository
    from app.auth.sqlite_repo import SQLiteInvitesRepository
    from tests.repository_backends import indexed
    yield from on_backend(request, tmp_path, InvitesRepository, indexed(SQLiteInvitesRepository))


def test_an_invitation_is_taken_once_and_only_while_it_is_valid(invites):
    now = utcnow()

    def invite(secret, expires):
        doc = {"_id": ObjectId(), "secret_hash": secret_digest(secret), "created_by": OWNER,
               "created_at": now, "expires_at": expires, "note": secret}
        invites.insert(doc)
        return doc
    live = invite("live", now + timedelta(hours=1))
    invite("old", now - timedelta(seconds=1))
    gone = invite("gone", now + timedelta(hours=1))
    assert [i["note"] for i in invites.live(now)] == ["live", "gone"]
    assert invites.take(secret_digest("old"), now) is None
    assert invites.delete(str(gone["_id"])) and not invites.delete(str(gone["_id"]))
    taken = invites.take(secret_digest("live"), now)
    assert taken["_id"] == live["_id"] and invites.take(secret_digest("live"), now) is None
    assert invites.live(now) == [] and not invites.delete("not an id")


def test_a_verified_address_belongs_to_one_user_and_can_be_let_go(repos):
    alice = str(repos.users.create("alice", "h", utcnow())["_id"])
    bob = str(repos.users.create("bob", "h", utcnow())["_id"])
    assert repos.users.get_by_email("alice@example.org") is None
    assert repos.users.set_email(alice, "Alice@Example.org")["email"] == "Alice@Example.org"
    assert repos.users.get_by_email("ALICE@example.ORG")["username"] == "alice"
    with pytest.raises(Conflict):
        repos.users.set_email(bob, "alice@example.org")
    assert repos.users.get(bob).get("email") is None
    assert "email" not in repos.users.set_email(alice, None)  # absent, as before it was set
    assert repos.users.set_email(bob, "alice@example.org")["email"] == "alice@example.org"
    assert repos.users.set_email(alice, None) is not None and repos.users.set_email("not an id", None) is None


@pytest.fixture(params=BACKENDS)
def email_links(request, tmp_path):
    from app.auth.repo import EmailLinksRepository
    from app.auth.sqlite_repo import SQLiteEmailLinksRepository
    from tests.repository_backends import indexed
    yield from on_backend(request, tmp_path, EmailLinksRepository, indexed(SQLiteEmailLinksRepository))


def test_an_emailed_link_works_once_for_its_purpose_while_it_is_valid(email_links):
    now = utcnow()

    def link(secret, purpose, user, expires):
        email_links.insert({"_id": ObjectId(), "purpose": purpose, "secret_hash": secret_digest(secret),
                            "user_id": user, "email": f"{secret}@example.org", "created_at": now,
                            "expires_at": expires})
    link("reset", "reset_password", OWNER, now + timedelta(hours=1))
    link("verify", "verify_email", OWNER, now + timedelta(hours=1))
    link("old", "reset_password", OWNER, now - timedelta(seconds=1))
    link("other", "reset_password", OTHER, now + timedelta(hours=1))
    assert email_links.take(secret_digest("reset"), "verify_email", now) is None  # not for another purpose
    assert email_links.take(secret_digest("old"), "reset_password", now) is None
    taken = email_links.take(secret_digest("reset"), "reset_password", now)
    assert taken["email"] == "reset@example.org" and taken["user_id"] == OWNER
    assert same_time(taken["expires_at"], now + timedelta(hours=1))
    assert email_links.take(secret_digest("reset"), "reset_password", now) is None
    link("reset2", "reset_password", OWNER, now + timedelta(hours=1))
    assert email_links.delete_for_user(OWNER, "verify_email") == 1
    assert email_links.take(secret_digest("verify"), "verify_email", now) is None
    assert email_links.delete_for_user(OWNER) >= 1  # reset2 (and the expired one, if not swept yet)
    assert email_links.take(secret_digest("reset2"), "reset_password", now) is None
    assert email_links.take(secret_digest("other"), "reset_password", now)["user_id"] == OTHER


# The one walk allowed: an administrator's list of users is every user, in username order (the
# index's order), optionally those containing a text; it is paged, and no user request runs it.
ADMIN_LISTING = ("SELECT * FROM users ORDER BY", "SELECT * FROM users WHERE instr(", "SELECT count(*) FROM users")


def test_sqlite_answers_every_operation_of_the_contract_from_an_index(tmp_path):
    """Run the whole contract above on SQLite, record every statement it sends, and ask SQLite
    how it would run each one: no read, update or delete walks a whole table."""
    contract = [test for name, test in globals().items()
                if name.startswith("test_") and inspect.signature(test).parameters.keys() == {"repos"}]
    statements: set[str] = set()
    for number, test in enumerate(contract):
        db = SQLiteDatabase(str(tmp_path / f"plan{number}.sqlite3"))
        repos = sqlite_repos(db)
        db.connection().set_trace_callback(statements.add)
        test(repos)
        db.connection().set_trace_callback(None)
        walks = {sql: [step[3] for step in db.read("EXPLAIN QUERY PLAN " + sql)] for sql in statements
                 if sql.lstrip().split()[0].upper() in ("SELECT", "UPDATE", "DELETE")}
        db.close()
        for sql, plan in walks.items():
            if sql.startswith(ADMIN_LISTING):
                continue
            assert not [step for step in plan if step.startswith("SCAN") and "json_each" not in step], (sql, plan)
        statements.clear()
    assert len(contract) >= 14

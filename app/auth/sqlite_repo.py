"""The ``users``, ``sessions`` and ``api_tokens`` tables: the SQLite twins of
:mod:`app.auth.repo`, with the same operations and the same documents.

MongoDB removes expired sessions with a TTL index (its monitor runs about once a minute, so
until then a lookup can still return an expired record, which the service refuses). Here a
lookup never returns an expired session, and each new session removes a batch of expired ones.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..errors import Conflict, ErrorCode
from ..ids import parse_object_id
from ..sqlite_db import oid
from ..sqlite_db import when as time_text
from ..sqlite_tables import Migration, SQLiteRepository, Table
from ..timeutil import utcnow

USERS = Table("users", ("_id", "username", "username_lower", "password_hash", "created_at", "role", "disabled",
                        "quota_bytes", "last_seen_at", "totp_secret", "totp_pending", "totp_enabled",
                        "totp_last_step", "recovery_hashes", "email", "email_lower"),
              ids=("_id",), times=("created_at", "last_seen_at"))
SESSIONS = Table("sessions", ("_id", "user_id", "created_at", "expires_at", "last_used_at", "address", "user_agent"),
                 times=("created_at", "expires_at", "last_used_at"))


def _user(row) -> dict | None:
    user = USERS.doc(row)
    if user is not None:
        user["disabled"] = bool(user.get("disabled"))
        user["totp_enabled"] = bool(user.get("totp_enabled"))
        if user.get("recovery_hashes") is not None:
            user["recovery_hashes"] = json.loads(user["recovery_hashes"])
        for field in ("role", "quota_bytes", "last_seen_at", "totp_secret", "totp_pending", "totp_last_step",
                      "recovery_hashes", "email", "email_lower"):
            if user.get(field) is None:
                user.pop(field, None)  # as in MongoDB: absent until set
    return user
TOKENS = Table("api_tokens", ("_id", "owner_id", "name", "scope", "secret_hash", "prefix", "created_at",
                              "expires_at", "last_used_at"),
               ids=("_id",), times=("created_at", "expires_at", "last_used_at"))


class SQLiteUsersRepository(SQLiteRepository):
    # username_lower is username.lower(), computed in Python as the MongoDB version does.
    SCHEMA = """
            CREATE TABLE IF NOT EXISTS users (
                id TEXT PRIMARY KEY,
                username TEXT NOT NULL,
                username_lower TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created_at TEXT NOT NULL);
            CREATE UNIQUE INDEX IF NOT EXISTS username_unique ON users (username_lower)"""
    SCHEMA_NAME = "users"
    # Version 1: administration (issue 15): a role, a disabled flag, a quota of one's own, last activity.
    # Version 2: two-factor login: the TOTP secret (and one being set up), the last time step
    # used, the hashes of unused recovery codes (a JSON list).
    MIGRATIONS = (Migration(1, "ALTER TABLE users ADD COLUMN role TEXT; "
                               "ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0; "
                               "ALTER TABLE users ADD COLUMN quota_bytes INTEGER; "
                               "ALTER TABLE users ADD COLUMN last_seen_at TEXT"),
                  Migration(2, "ALTER TABLE users ADD COLUMN totp_secret TEXT; "
                               "ALTER TABLE users ADD COLUMN totp_pending TEXT; "
                               "ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0; "
                               "ALTER TABLE users ADD COLUMN totp_last_step INTEGER; "
                               "ALTER TABLE users ADD COLUMN recovery_hashes TEXT"),
                  # Version 3: a verified email address, unique (case-insensitively) among accounts.
                  Migration(3, "ALTER TABLE users ADD COLUMN email TEXT; "
                               "ALTER TABLE users ADD COLUMN email_lower TEXT; "
                               "CREATE UNIQUE INDEX IF NOT EXISTS email_unique ON users (email_lower) "
                               "WHERE email_lower IS NOT NULL"))

    def create(self, username: str, password_hash: str, created_at: datetime) -> dict:
        doc = {"_id": ObjectId(), "username": username, "username_lower": username.lower(),
               "password_hash": password_hash, "created_at": created_at}
        try:
            USERS.insert(self._db, doc)
        except DuplicateKeyError as exc:
            raise Conflict("That username is already taken.", code=ErrorCode.USERNAME_TAKEN) from exc
        return doc

    def get(self, user_id: str) -> dict | None:
        user_oid = parse_object_id(user_id)
        return _user(self._db.read_one("SELECT * FROM users WHERE id = ?", (oid(user_oid),))) if user_oid else None

    def get_by_username(self, username: str) -> dict | None:
        return _user(self._db.read_one("SELECT * FROM users WHERE username_lower = ?", (username.lower(),)))

    def get_by_email(self, email: str) -> dict | None:
        return _user(self._db.read_one("SELECT * FROM users WHERE email_lower = ?", (email.lower(),)))

    def set_email(self, user_id: str, email: str | None) -> dict | None:
        user_oid = parse_object_id(user_id)
        if user_oid is None:
            return None
        try:
            return _user(self._db.returning("UPDATE users SET email = ?, email_lower = ? WHERE id = ? RETURNING *",
                                            (email, email.lower() if email is not None else None, oid(user_oid))))
        except sqlite3.IntegrityError as exc:
            raise Conflict("Another account uses this email address.", code=ErrorCode.EMAIL_TAKEN) from exc

    def update(self, user_id: str, changes: dict) -> dict | None:
        user_oid = parse_object_id(user_id)
        if user_oid is None:
            return None
        changes = {k: int(v) if k in ("disabled", "totp_enabled") else
                   (None if v is None else json.dumps(v)) if k == "recovery_hashes" else v for k, v in changes.items()}
        assignments, params = USERS.assignments(changes)
        return _user(self._db.returning(f"UPDATE users SET {assignments} WHERE id = :id RETURNING *",
                                        {**params, "id": oid(user_oid)}))

    def delete(self, user_id: str) -> bool:
        user_oid = parse_object_id(user_id)
        return bool(user_oid) and self._db.write("DELETE FROM users WHERE id = ?", (oid(user_oid),)).rowcount == 1

    def use_totp_step(self, user_id: str, step: int) -> bool:
        user_oid = parse_object_id(user_id)
        return bool(user_oid) and self._db.write(
            "UPDATE users SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)",
            (step, oid(user_oid), step)).rowcount == 1

    def use_recovery_code(self, user_id: str, code_hash: str) -> bool:
        user_oid = parse_object_id(user_id)
        if not user_oid:
            return False
        with self._db.transaction() as conn:  # read and write in one write transaction
            row = conn.execute("SELECT recovery_hashes FROM users WHERE id = ?", (oid(user_oid),)).fetchone()
            hashes = json.loads(row[0]) if row and row[0] else []
            if code_hash not in hashes:
                return False
            hashes.remove(code_hash)
            conn.execute("UPDATE users SET recovery_hashes = ? WHERE id = ?", (json.dumps(hashes), oid(user_oid)))
            return True

    def page(self, text: str | None, page: int, limit: int) -> tuple[list[dict], int]:
        where, params = "", ()
        if text:
            where, params = " WHERE instr(username_lower, ?) > 0", (text.lower(),)
        rows = self._db.read(f"SELECT * FROM users{where} ORDER BY username_lower LIMIT ? OFFSET ?",
                             (*params, limit, (page - 1) * limit))
        total = self._db.read_one(f"SELECT count(*) FROM users{where}", params)[0]
        return [_user(row) for row in rows], total


class SQLiteSessionsRepository(SQLiteRepository):
    """Server-side login sessions: the cookie names one, logout deletes it."""

    SCHEMA = """
            CREATE TABLE IF NOT EXISTS sessions (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id);
            CREATE INDEX IF NOT EXISTS sessions_expire ON sessions (expires_at)"""
    SCHEMA_NAME = "sessions"
    # Version 1: what a user sees of each session (issue 15): last use, address, user agent.
    MIGRATIONS = (Migration(1, "ALTER TABLE sessions ADD COLUMN last_used_at TEXT; "
                               "ALTER TABLE sessions ADD COLUMN address TEXT; "
                               "ALTER TABLE sessions ADD COLUMN user_agent TEXT"),)

    def create(self, token_hash: str, user_id: str, created_at: datetime, expires_at: datetime,
               address: str | None = None, user_agent: str | None = None) -> None:
        with self._db.transaction() as conn:
            SESSIONS.purge_expired(conn, utcnow())
            SESSIONS.insert(conn, {"_id": token_hash, "user_id": user_id, "created_at": created_at,
                                   "expires_at": expires_at, "last_used_at": created_at, "address": address,
                                   "user_agent": user_agent})

    def get(self, token_hash: str) -> dict | None:
        return SESSIONS.doc(self._db.read_one("SELECT * FROM sessions WHERE id = ? AND expires_at > ?",
                                              (token_hash, time_text(utcnow()))))

    def delete(self, token_hash: str) -> None:
        self._db.write("DELETE FROM sessions WHERE id = ?", (token_hash,))

    def delete_for_user(self, user_id: str, keep: str | None = None) -> int:
        return self._db.write("DELETE FROM sessions WHERE user_id = ? AND id IS NOT ?", (user_id, keep)).rowcount

    def for_user(self, user_id: str, now: datetime) -> list[dict]:
        return SESSIONS.docs(self._db.read("SELECT * FROM sessions WHERE user_id = ? AND expires_at > ? "
                                           "ORDER BY created_at DESC, id", (user_id, time_text(now))))

    def delete_owned(self, user_id: str, token_hash: str) -> bool:
        return self._db.write("DELETE FROM sessions WHERE id = ? AND user_id = ?", (token_hash, user_id)).rowcount == 1

    def touch(self, token_hash: str, when: datetime) -> None:
        self._db.write("UPDATE sessions SET last_used_at = ? WHERE id = ?", (time_text(when), token_hash))


class SQLiteTokensRepository(SQLiteRepository):
    """Personal access tokens; only a SHA-256 of each secret is stored."""

    SCHEMA = """
            CREATE TABLE IF NOT EXISTS api_tokens (
                id TEXT PRIMARY KEY,
                owner_id TEXT NOT NULL,
                name TEXT NOT NULL,
                scope TEXT NOT NULL,
                secret_hash TEXT NOT NULL,
                prefix TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT,
                last_used_at TEXT);
            CREATE UNIQUE INDEX IF NOT EXISTS token_secret ON api_tokens (secret_hash);
            CREATE INDEX IF NOT EXISTS tokens_by_owner ON api_tokens (owner_id, created_at, id)"""

    def insert(self, token: dict) -> None:
        TOKENS.insert(self._db, token)

    def insert_within_limit(self, token: dict, limit: int) -> bool:
        """Insert ``token`` unless its owner has ``limit`` tokens already (False then): the count
        and the insert share one write transaction, so parallel inserts never pass the limit."""
        with self._db.transaction() as conn:
            held = conn.execute("SELECT count(*) FROM api_tokens WHERE owner_id = ?", (token["owner_id"],)).fetchone()[0]
            if held >= limit:
                return False
            TOKENS.insert(conn, token)
        return True

    def by_secret_hash(self, secret_hash: str) -> dict | None:
        return TOKENS.doc(self._db.read_one("SELECT * FROM api_tokens WHERE secret_hash = ?", (secret_hash,)))

    def for_owner(self, owner_id: str) -> list[dict]:
        return TOKENS.docs(self._db.read("SELECT * FROM api_tokens WHERE owner_id = ? ORDER BY created_at, id",
                                         (owner_id,)))

    def delete_owned(self, owner_id: str, token_id: str) -> bool:
        token_oid = parse_object_id(token_id)
        return bool(token_oid) and self._db.write("DELETE FROM api_tokens WHERE id = ? AND owner_id = ?",
                                                  (oid(token_oid), owner_id)).rowcount == 1

    def touch(self, token_id, when: datetime) -> None:
        self._db.write("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (time_text(when), oid(token_id)))

    def delete_for_owner(self, owner_id: str) -> int:
        return self._db.write("DELETE FROM api_tokens WHERE owner_id = ?", (owner_id,)).rowcount


INVITES = Table("invites", ("_id", "secret_hash", "created_by", "created_at", "expires_at", "note"),
                ids=("_id",), times=("created_at", "expires_at"))


class SQLiteInvitesRepository(SQLiteRepository):
    """Single-use invitations to register; each use removes one row in one statement."""

    SCHEMA = """
            CREATE TABLE IF NOT EXISTS invites (
                id TEXT PRIMARY KEY,
                secret_hash TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                note TEXT);
            CREATE UNIQUE INDEX IF NOT EXISTS invite_secret ON invites (secret_hash);
            CREATE INDEX IF NOT EXISTS invites_expire ON invites (expires_at)"""

    def insert(self, invite: dict) -> None:
        with self._db.transaction() as conn:
            INVITES.purge_expired(conn, utcnow())
            INVITES.insert(conn, invite)

    def take(self, secret_hash: str, now: datetime) -> dict | None:
        return INVITES.doc(self._db.returning("DELETE FROM invites WHERE secret_hash = ? AND expires_at > ? RETURNING *",
                                              (secret_hash, time_text(now))))

    def live(self, now: datetime) -> list[dict]:
        return INVITES.docs(self._db.read("SELECT * FROM invites WHERE expires_at > ? ORDER BY created_at, id",
                                          (time_text(now),)))

    def delete(self, invite_id: str) -> bool:
        invite_oid = parse_object_id(invite_id)
        return bool(invite_oid) and self._db.write("DELETE FROM invites WHERE id = ?", (oid(invite_oid),)).rowcount == 1


EMAIL_LINKS = Table("email_links", ("_id", "purpose", "secret_hash", "user_id", "email", "created_at", "expires_at"),
                    ids=("_id",), times=("created_at", "expires_at"))


class SQLiteEmailLinksRepository(SQLiteRepository):
    """Single-use links sent by email; each use removes one row in one statement."""

    SCHEMA = """
            CREATE TABLE IF NOT EXISTS email_links (
                id TEXT PRIMARY KEY,
                purpose TEXT NOT NULL,
                secret_hash TEXT NOT NULL,
                user_id TEXT NOT NULL,
                email TEXT,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL);
            CREATE UNIQUE INDEX IF NOT EXISTS email_link_secret ON email_links (secret_hash);
            CREATE INDEX IF NOT EXISTS email_links_of_user ON email_links (user_id, purpose);
            CREATE INDEX IF NOT EXISTS email_links_expire ON email_links (expires_at)"""

    def insert(self, link: dict) -> None:
        with self._db.transaction() as conn:
            EMAIL_LINKS.purge_expired(conn, utcnow())
            EMAIL_LINKS.insert(conn, link)

    def take(self, secret_hash: str, purpose: str, now: datetime) -> dict | None:
        return EMAIL_LINKS.doc(self._db.returning(
            "DELETE FROM email_links WHERE secret_hash = ? AND purpose = ? AND expires_at > ? RETURNING *",
            (secret_hash, purpose, time_text(now))))

    def delete_for_user(self, user_id: str, purpose: str | None = None) -> int:
        if purpose is None:
            return self._db.write("DELETE FROM email_links WHERE user_id = ?", (user_id,)).rowcount
        return self._db.write("DELETE FROM email_links WHERE user_id = ? AND purpose = ?", (user_id, purpose)).rowcount

"""The ``users``, ``sessions`` and ``api_tokens`` tables: the SQLite twins of
:mod:`app.auth.repo`, with the same operations and the same documents.

MongoDB removes expired sessions with a TTL index (its monitor runs about once a minute, so
until then a lookup can still return an expired record, which the service refuses). Here a
lookup never returns an expired session, and each new session removes a batch of expired ones.
"""
from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..errors import Conflict, ErrorCode
from ..ids import parse_object_id
from ..sqlite_db import oid
from ..sqlite_db import when as time_text
from ..sqlite_tables import SQLiteRepository, Table
from ..timeutil import utcnow

USERS = Table("users", ("_id", "username", "username_lower", "password_hash", "created_at"),
              ids=("_id",), times=("created_at",))
SESSIONS = Table("sessions", ("_id", "user_id", "created_at", "expires_at"), times=("created_at", "expires_at"))
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
        return USERS.doc(self._db.read_one("SELECT * FROM users WHERE id = ?", (oid(user_oid),))) if user_oid else None

    def get_by_username(self, username: str) -> dict | None:
        return USERS.doc(self._db.read_one("SELECT * FROM users WHERE username_lower = ?", (username.lower(),)))


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

    def create(self, token_hash: str, user_id: str, created_at: datetime, expires_at: datetime) -> None:
        with self._db.transaction() as conn:
            SESSIONS.purge_expired(conn, utcnow())
            SESSIONS.insert(conn, {"_id": token_hash, "user_id": user_id,
                                   "created_at": created_at, "expires_at": expires_at})

    def get(self, token_hash: str) -> dict | None:
        return SESSIONS.doc(self._db.read_one("SELECT * FROM sessions WHERE id = ? AND expires_at > ?",
                                              (token_hash, time_text(utcnow()))))

    def delete(self, token_hash: str) -> None:
        self._db.write("DELETE FROM sessions WHERE id = ?", (token_hash,))

    def delete_for_user(self, user_id: str) -> None:
        self._db.write("DELETE FROM sessions WHERE user_id = ?", (user_id,))


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

"""The ``users`` and ``sessions`` collections."""
from __future__ import annotations

from datetime import datetime

import random
import re

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..errors import AppError, Conflict, ErrorCode
from ..ids import parse_object_id


class UsersRepository:
    def __init__(self, database):
        self._users = database.collection("users")

    def ensure_indexes(self) -> None:
        self._users.create_index([("username_lower", ASCENDING)], unique=True, name="username_unique")
        # A verified address belongs to one account (it is how a forgotten password is reset).
        self._users.create_index([("email_lower", ASCENDING)], unique=True, name="email_unique",
                                 partialFilterExpression={"email_lower": {"$exists": True}})

    def create(self, username: str, password_hash: str, created_at: datetime) -> dict:
        doc = {"_id": ObjectId(), "username": username, "username_lower": username.lower(),
               "password_hash": password_hash, "created_at": created_at}
        try:
            self._users.insert_one(doc)
        except DuplicateKeyError as exc:
            raise Conflict("That username is already taken.", code=ErrorCode.USERNAME_TAKEN) from exc
        return doc

    def get(self, user_id: str) -> dict | None:
        oid = parse_object_id(user_id)
        return self._users.find_one({"_id": oid}) if oid else None

    def get_by_username(self, username: str) -> dict | None:
        return self._users.find_one({"username_lower": username.lower()})

    def get_by_email(self, email: str) -> dict | None:
        return self._users.find_one({"email_lower": email.lower()})

    def set_email(self, user_id: str, email: str | None) -> dict | None:
        """Set (or, with None, remove) the account's verified address; 409 email_taken when
        another account has it (the unique index decides, also between parallel requests)."""
        oid = parse_object_id(user_id)
        if oid is None:
            return None
        change = ({"$set": {"email": email, "email_lower": email.lower()}} if email is not None
                  else {"$unset": {"email": "", "email_lower": ""}})
        try:
            return self._users.find_one_and_update({"_id": oid}, change, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError as exc:
            raise Conflict("Another account uses this email address.", code=ErrorCode.EMAIL_TAKEN) from exc

    def update(self, user_id: str, changes: dict) -> dict | None:
        """Set fields (role, disabled, quota_bytes, password_hash, last_seen_at); the user after,
        or None when there is no such user."""
        oid = parse_object_id(user_id)
        if oid is None:
            return None
        return self._users.find_one_and_update({"_id": oid}, {"$set": changes}, return_document=ReturnDocument.AFTER)

    def delete(self, user_id: str) -> bool:
        oid = parse_object_id(user_id)
        return bool(oid) and self._users.delete_one({"_id": oid}).deleted_count == 1

    def use_totp_step(self, user_id: str, step: int) -> bool:
        """Record that the code of time step ``step`` was used: only if no code of this or a
        later step was (so a code works once, even by two requests at the same moment)."""
        oid = parse_object_id(user_id)
        query = {"_id": oid, "$or": [{"totp_last_step": None}, {"totp_last_step": {"$lt": step}}]}
        return bool(oid) and self._users.update_one(query, {"$set": {"totp_last_step": step}}).matched_count == 1

    def use_recovery_code(self, user_id: str, code_hash: str) -> bool:
        """Use up one recovery code (its hash): once, even by two requests at the same moment."""
        oid = parse_object_id(user_id)
        return bool(oid) and self._users.update_one(
            {"_id": oid, "recovery_hashes": code_hash}, {"$pull": {"recovery_hashes": code_hash}}).modified_count == 1

    def page(self, text: str | None, page: int, limit: int) -> tuple[list[dict], int]:
        """Users by username, those whose username contains ``text`` (any case) when given."""
        query = {"username_lower": {"$regex": re.escape(text.lower())}} if text else {}
        found = self._users.find(query, sort=[("username_lower", ASCENDING)], skip=(page - 1) * limit, limit=limit)
        return list(found), self._users.count_documents(query)


class SessionsRepository:
    """Server-side login sessions: the cookie names one, logout deletes it."""

    def __init__(self, database):
        self._sessions = database.collection("sessions")

    def ensure_indexes(self) -> None:
        self._sessions.create_index([("user_id", ASCENDING), ("created_at", DESCENDING)], name="sessions_of_user")
        self._sessions.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0,
                                    name="sessions_expire")

    def create(self, token_hash: str, user_id: str, created_at: datetime, expires_at: datetime,
               address: str | None = None, user_agent: str | None = None) -> None:
        self._sessions.insert_one({"_id": token_hash, "user_id": user_id, "created_at": created_at,
                                   "expires_at": expires_at, "last_used_at": created_at, "address": address,
                                   "user_agent": user_agent})

    def get(self, token_hash: str) -> dict | None:
        return self._sessions.find_one({"_id": token_hash})

    def delete(self, token_hash: str) -> None:
        self._sessions.delete_one({"_id": token_hash})

    def delete_for_user(self, user_id: str, keep: str | None = None) -> int:
        """End every session of the user (but ``keep``, the caller's own, when given)."""
        query: dict = {"user_id": user_id}
        if keep is not None:
            query["_id"] = {"$ne": keep}
        return self._sessions.delete_many(query).deleted_count

    def for_user(self, user_id: str, now: datetime) -> list[dict]:
        """The user's live sessions, newest first."""
        return list(self._sessions.find({"user_id": user_id, "expires_at": {"$gt": now}},
                                        sort=[("created_at", DESCENDING), ("_id", ASCENDING)]))

    def delete_owned(self, user_id: str, token_hash: str) -> bool:
        return self._sessions.delete_one({"_id": token_hash, "user_id": user_id}).deleted_count == 1

    def touch(self, token_hash: str, when: datetime) -> None:
        self._sessions.update_one({"_id": token_hash}, {"$set": {"last_used_at": when}})


class TokensRepository:
    """Personal access tokens; only a SHA-256 of each secret is stored."""

    def __init__(self, database):
        self._tokens = database.collection("api_tokens")

    def ensure_indexes(self) -> None:
        self._tokens.create_index([("secret_hash", ASCENDING)], unique=True, name="token_secret")
        self._tokens.create_index([("owner_id", ASCENDING), ("created_at", ASCENDING)], name="tokens_by_owner")
        # Each token holds one of its owner's numbered slots; the limit is the number of slots.
        self._tokens.create_index([("owner_id", ASCENDING), ("slot", ASCENDING)], unique=True,
                                  partialFilterExpression={"slot": {"$exists": True}}, name="token_slot")

    def insert(self, token: dict) -> None:
        self._tokens.insert_one(token)

    def insert_within_limit(self, token: dict, limit: int) -> bool:
        """Insert ``token`` unless its owner has ``limit`` tokens already (False then).

        Atomic across workers: the token takes a free slot below ``limit`` (tokens made before
        slots hold none and shrink the range), and the unique (owner, slot) index lets only one
        of several parallel inserts have each slot; a loser tries another free one."""
        for _ in range(2 * limit):  # each lost slot is another insert's win: this ends
            held = list(self._tokens.find({"owner_id": token["owner_id"]}, {"slot": 1}))
            taken = {t["slot"] for t in held if "slot" in t}
            free = [s for s in range(limit - (len(held) - len(taken))) if s not in taken]
            if not free:
                return False
            try:
                self._tokens.insert_one({**token, "slot": random.choice(free)})
            except DuplicateKeyError:
                if self._tokens.find_one({"secret_hash": token["secret_hash"]}, {"_id": 1}) is not None:
                    raise
                continue  # a parallel insert took that slot first: look again
            return True
        raise AppError("Too many tokens created at once; try again.", code=ErrorCode.TRY_AGAIN)

    def by_secret_hash(self, secret_hash: str) -> dict | None:
        return self._tokens.find_one({"secret_hash": secret_hash})

    def for_owner(self, owner_id: str) -> list[dict]:
        return list(self._tokens.find({"owner_id": owner_id}, sort=[("created_at", ASCENDING), ("_id", ASCENDING)]))

    def delete_owned(self, owner_id: str, token_id: str) -> bool:
        oid = parse_object_id(token_id)
        return bool(oid) and self._tokens.delete_one({"_id": oid, "owner_id": owner_id}).deleted_count == 1

    def touch(self, token_id, when: datetime) -> None:
        self._tokens.update_one({"_id": token_id}, {"$set": {"last_used_at": when}})

    def delete_for_owner(self, owner_id: str) -> int:
        return self._tokens.delete_many({"owner_id": owner_id}).deleted_count


class InvitesRepository:
    """Single-use, expiring invitations to register (REGISTRATION=invite); only a SHA-256 of
    each invitation's secret is stored."""

    def __init__(self, database):
        self._invites = database.collection("invites")

    def ensure_indexes(self) -> None:
        self._invites.create_index([("secret_hash", ASCENDING)], unique=True, name="invite_secret")
        self._invites.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0, name="invites_expire")

    def insert(self, invite: dict) -> None:
        self._invites.insert_one(invite)

    def take(self, secret_hash: str, now: datetime) -> dict | None:
        """Use an invitation: it is removed in the same step, so only one registration gets it."""
        return self._invites.find_one_and_delete({"secret_hash": secret_hash, "expires_at": {"$gt": now}})

    def live(self, now: datetime) -> list[dict]:
        return list(self._invites.find({"expires_at": {"$gt": now}}, sort=[("created_at", ASCENDING),
                                                                          ("_id", ASCENDING)]))

    def delete(self, invite_id: str) -> bool:
        oid = parse_object_id(invite_id)
        return bool(oid) and self._invites.delete_one({"_id": oid}).deleted_count == 1


# What an emailed link is for.
RESET_PASSWORD, VERIFY_EMAIL = "reset_password", "verify_email"


class EmailLinksRepository:
    """Single-use, expiring links sent by email (a password reset, an address to verify); only
    a SHA-256 of each link's secret is stored."""

    def __init__(self, database):
        self._links = database.collection("email_links")

    def ensure_indexes(self) -> None:
        self._links.create_index([("secret_hash", ASCENDING)], unique=True, name="email_link_secret")
        self._links.create_index([("user_id", ASCENDING), ("purpose", ASCENDING)], name="email_links_of_user")
        self._links.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0, name="email_links_expire")

    def insert(self, link: dict) -> None:
        self._links.insert_one(link)

    def take(self, secret_hash: str, purpose: str, now: datetime) -> dict | None:
        """Use a link: removed in the same step, so it works once even for two requests at once."""
        return self._links.find_one_and_delete({"secret_hash": secret_hash, "purpose": purpose,
                                                "expires_at": {"$gt": now}})

    def delete_for_user(self, user_id: str, purpose: str | None = None) -> int:
        query = {"user_id": user_id} if purpose is None else {"user_id": user_id, "purpose": purpose}
        return self._links.delete_many(query).deleted_count


def email_links_repository(database):
    if database.kind == "sqlite":
        from .sqlite_repo import SQLiteEmailLinksRepository
        return SQLiteEmailLinksRepository(database)
    return EmailLinksRepository(database)


def invites_repository(database):
    if database.kind == "sqlite":
        from .sqlite_repo import SQLiteInvitesRepository
        return SQLiteInvitesRepository(database)
    return InvitesRepository(database)

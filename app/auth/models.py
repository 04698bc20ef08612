from __future__ import annotations

from flask_login import UserMixin

from ..timeutil import isoformat


class User(UserMixin):
    """The logged-in user, bound to one server-side session."""

    def __init__(self, doc: dict, session_token: str):
        self.doc = doc
        self.id = str(doc["_id"])
        self.username = doc["username"]
        self.session_token = session_token

    def get_id(self) -> str:
        # Flask-Login keeps this in the cookie; it names the session, not the user, so
        # deleting the session record makes a copied cookie worthless.
        return self.session_token

    def to_public(self) -> dict:
        return public_user(self.doc)


def public_user(doc: dict) -> dict:
    """The user as shown to clients: never the password hash."""
    return {"id": str(doc["_id"]), "username": doc["username"],
            "created_at": isoformat(doc["created_at"])}

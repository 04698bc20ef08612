from __future__ import annotations

from flask_login import UserMixin


SCOPE_READ, SCOPE_READ_WRITE = "read", "read-write"


class User(UserMixin):
    """The authenticated user: through one server-side session (cookie) or one API token."""

    def __init__(self, doc: dict, session_token: str | None = None, token: dict | None = None):
        self.doc = doc
        self.id = str(doc["_id"])
        self.username = doc["username"]
        self.session_token = session_token
        self.token = token
        self.scope = token["scope"] if token else SCOPE_READ_WRITE

    @property
    def via_token(self) -> bool:
        return self.token is not None

    def get_id(self) -> str | None:
        # Flask-Login keeps this in the cookie; it names the session, not the user, so
        # deleting the session record makes a copied cookie worthless.
        return self.session_token

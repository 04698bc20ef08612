"""How secrets we hand out (session ids, API tokens, share-link tokens) are stored.

They are 192-256 random bits, so a plain SHA-256 is enough (no slow password hash): the
database never holds a usable secret, and a lookup by digest stays an indexed equality.
"""
from __future__ import annotations

import hashlib


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()

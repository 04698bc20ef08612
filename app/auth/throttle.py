"""The login throttle, shared by every way a password is tried: the login form (its route's
Flask-Limiter limits) and HTTP Basic on WebDAV, which counts its failed attempts in the same
counters, so a client cannot guess a password through /dav faster than through /api/login."""
from __future__ import annotations

from flask import current_app
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many

from ..extensions import limiter

# Flask-Limiter files a route's limits under its endpoint: the login route is auth.login.
LOGIN_SCOPE = "auth.login"


def login_ip_key() -> str:
    return f"login-ip:{get_remote_address()}"


def login_attempt_key(username) -> str:
    username = username.lower()[:64] if isinstance(username, str) else ""
    return f"login:{get_remote_address()}:{username}"


def _counters(username: str) -> list[tuple[RateLimitItem, str]]:
    config = current_app.config
    return ([(item, login_ip_key()) for item in parse_many(config["LOGIN_IP_RATE_LIMIT"])]
            + [(item, login_attempt_key(username)) for item in parse_many(config["LOGIN_RATE_LIMIT"])])


def login_allowed(username: str) -> bool:
    """Whether another password attempt for ``username`` from this address is allowed now."""
    if not limiter.enabled:
        return True
    return all(limiter.limiter.test(item, key, LOGIN_SCOPE) for item, key in _counters(username))


def _code_counters(user_id: str) -> list[tuple[RateLimitItem, str]]:
    """Wrong second-factor codes per account, from any address (TWO_FACTOR_RATE_LIMIT)."""
    return [(item, f"login-code:{user_id}") for item in parse_many(current_app.config["TWO_FACTOR_RATE_LIMIT"])]


def code_attempts_allowed(user_id: str) -> bool:
    if not limiter.enabled:
        return True
    return all(limiter.limiter.test(item, key, LOGIN_SCOPE) for item, key in _code_counters(user_id))


def count_failed_code(user_id: str) -> None:
    if limiter.enabled:
        for item, key in _code_counters(user_id):
            limiter.limiter.hit(item, key, LOGIN_SCOPE)


def count_failed_login(username: str) -> None:
    if limiter.enabled:
        for item, key in _counters(username):
            limiter.limiter.hit(item, key, LOGIN_SCOPE)

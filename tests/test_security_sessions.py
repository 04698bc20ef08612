"""Sessions and authentication under attack: fixation, replay after logout, cross-site writes
on every unsafe route, login throttling under parallel attempts, and login timing."""
from __future__ import annotations

import statistics
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

import app.auth.service as auth_service
from app import create_app
from config import TestingConfig
from tests.conftest import AuthActions, multipart_body
from tests.conftest import mongo_only
from tests.test_security_isolation import (
    IGNORED_METHODS,
    PASSWORD,
    build_alice,
    closed,
    owned_ids,
    signup,
    snapshot,
)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CROSS_SITE_HEADERS = [
    {"Origin": "https://evil.example"},
    {"Referer": "https://evil.example/attack.html"},
    {"Origin": "null"},
    {"Origin": "http://localhost.evil.example"},
    {"Referer": "http://localhost@evil.example/"},
    # An empty bearer authenticates nothing, so the cookie is what would be used.
    {"Origin": "https://evil.example", "Authorization": "Bearer "},
]


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def me(client, **headers):
    response = client.get("/api/me", headers=headers)
    return response.status_code, (response.get_json() or {}).get("username")


# -- the cookie ------------------------------------------------------------------------------------

def test_login_replaces_the_session_cookie_and_a_planted_one_never_becomes_the_victims(app):
    mallory = signup(app, "mallory")
    planted = session_cookie(mallory.client)
    victim = app.test_client()
    AuthActions(victim).register("alice", PASSWORD)
    victim.set_cookie("session", planted)
    assert me(victim) == (200, "mallory")
    assert AuthActions(victim).login("alice", PASSWORD).status_code == 200
    first = session_cookie(victim)
    assert first != planted and me(victim) == (200, "alice")
    assert AuthActions(victim).login("alice", PASSWORD).status_code == 200
    second = session_cookie(victim)
    assert second not in (first, planted) and me(victim) == (200, "alice")
    attacker = app.test_client()
    attacker.set_cookie("session", planted)
    assert me(attacker) == (200, "mallory"), "the planted cookie must not have been upgraded to alice"


def test_after_logout_a_replayed_cookie_is_401_everywhere(app):
    alice = build_alice(app)
    stolen = session_cookie(alice.client)
    assert closed(alice.client.post("/api/logout")).status_code == 204
    assert session_cookie(alice.client) is None
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    report = alice.ids["report"]
    for method, path in [("GET", "/api/me"), ("GET", "/api/files"), ("GET", f"/api/files/{report}"),
                         ("GET", f"/api/files/{report}/versions"), ("GET", "/api/shares"), ("GET", "/api/tokens"),
                         ("POST", "/api/folders"), ("DELETE", f"/api/files/{report}"),
                         ("PATCH", f"/api/files/{report}"), ("POST", "/api/tokens")]:
        response = closed(replay.open(path, method=method, json={"name": "replayed", "scope": "read-write"}))
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.get_json()["error"]["code"] == "unauthorized"


@mongo_only
def test_tampered_expired_and_other_browser_cookies_are_401(app):
    alice = signup(app, "alice")
    cookie = session_cookie(alice.client)
    tampered = app.test_client()
    tampered.set_cookie("session", cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert me(tampered) == (401, None)
    # Flask-Login's strong protection: the same cookie from another browser is dropped.
    elsewhere = app.test_client()
    elsewhere.set_cookie("session", cookie)
    assert me(elsewhere, **{"User-Agent": "SomethingElse/1.0"})[0] == 401
    assert me(alice.client) == (200, "alice")
    app.extensions["drive_db"].collection("sessions").update_many(
        {}, {"$set": {"expires_at": datetime.now(timezone.utc) - timedelta(seconds=1)}})
    assert me(alice.client) == (401, None)


# -- cross-site writes -----------------------------------------------------------------------------

def unsafe_rules(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - SAFE_METHODS - IGNORED_METHODS):
            yield rule, method


def build_url(rule, alice) -> str:
    ids = owned_ids(alice)
    values = {name: ids[name][0] if name in ids else alice.share_tokens["folder"] for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def test_cross_site_cookie_writes_are_refused_on_every_unsafe_route(app):
    alice = build_alice(app)
    before = snapshot(app, alice)
    upload_body, upload_type = multipart_body([("file", "csrf.txt", b"planted by another site", "text/plain")])
    failures, walked = [], 0
    for rule, method in unsafe_rules(app):
        url = build_url(rule, alice)
        view = app.view_functions[rule.endpoint]
        key_only = getattr(view, "cross_site_allowed", False)
        walked += 1
        for headers in CROSS_SITE_HEADERS:
            if "upload" in rule.rule:
                kwargs = {"data": upload_body, "content_type": upload_type}
            else:
                kwargs = {"json": {"name": "csrf", "label": "csrf", "password": "csrf-password", "scope": "read-write",
                                   "username": "alice", "parent_id": "root"}}
            response = closed(alice.client.open(url, method=method, headers=headers, **kwargs))
            code = (response.get_json(silent=True) or {}).get("error", {}).get("code")
            if key_only:
                # Authenticated by an API key in the request itself, never by the cookie.
                if response.status_code != 401 or code != "invalid_api_key":
                    failures.append(f"{method} {rule.rule} {headers}: {response.status_code} {code} (cookie used?)")
            elif response.status_code != 403 or code != "cross_site_request":
                failures.append(f"{method} {rule.rule} {headers}: {response.status_code} {code}")
    assert not failures, "cross-site writes got through:\n" + "\n".join(failures)
    assert walked >= 25
    assert snapshot(app, alice) == before
    # Our own pages (same Origin) and clients that send no Origin still work.
    same_site = alice.client.post("/api/folders", json={"name": "mine"}, headers={"Origin": "http://localhost"})
    assert same_site.status_code == 201
    assert alice.client.post("/api/folders", json={"name": "scripted"}).status_code == 201


# -- login throttling and timing -------------------------------------------------------------------

@pytest.fixture
def embedded_app(tmp_path):
    settings = TestingConfig.load({})
    settings.update(EMBEDDED_DB_PATH=str(tmp_path / "data"), UPLOAD_FOLDER=str(tmp_path / "uploads"),
                    INSTANCE_PATH=str(tmp_path / "instance"))
    app = create_app(settings)
    yield app
    app.extensions["drive_db"].close()


@pytest.fixture
def password_checks(monkeypatch):
    """Counts the password hashes actually checked (the expensive part an attacker wants)."""
    checked = []
    real = auth_service.check_password_hash

    def counting(stored_hash, password):
        checked.append(password)
        return real(stored_hash, password)
    monkeypatch.setattr(auth_service, "check_password_hash", counting)
    return checked


def parallel_logins(app, credentials):
    """Fire the logins at once from threads; return the responses' (status, code, Retry-After)."""
    results = []
    barrier = threading.Barrier(len(credentials))

    def attempt(username, password):
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/login", json={"username": username, "password": password})
        body = response.get_json(silent=True) or {}
        results.append((response.status_code, body.get("error", {}).get("code"), response.headers.get("Retry-After")))
    threads = [threading.Thread(target=attempt, args=pair) for pair in credentials]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == len(credentials)
    return results


def test_parallel_wrong_passwords_for_one_user_are_checked_at_most_the_limit(embedded_app, password_checks):
    assert embedded_app.config["LOGIN_RATE_LIMIT"] == "10 per minute"
    AuthActions(embedded_app.test_client()).register("victim", PASSWORD)
    results = parallel_logins(embedded_app, [("victim", f"guess number {i}") for i in range(30)])
    throttled = [r for r in results if r[0] == 429]
    assert len(password_checks) <= 10, f"{len(password_checks)} passwords were checked"
    assert len(throttled) >= 20
    assert {r[0] for r in results} <= {401, 429}
    assert all(code == "too_many_requests" and retry and int(retry) > 0 for _, code, retry in throttled)
    # The right password is throttled too while the window lasts: guessing gains nothing.
    right = embedded_app.test_client().post("/api/login", json={"username": "victim", "password": PASSWORD})
    assert right.status_code == 429


def test_parallel_logins_from_one_address_for_many_users_hit_the_address_limit(embedded_app, password_checks):
    embedded_app.config["LOGIN_IP_RATE_LIMIT"] = "5 per minute"
    results = parallel_logins(embedded_app, [(f"user{i}", "some password") for i in range(20)])
    assert len(password_checks) <= 5
    assert sum(1 for status, _, _ in results if status == 429) >= 15


def test_unknown_users_and_wrong_passwords_take_the_same_time(app):
    app.config.update(LOGIN_RATE_LIMIT="1000 per minute", LOGIN_IP_RATE_LIMIT="1000 per minute")
    AuthActions(app.test_client()).register("alice", PASSWORD)
    client = app.test_client()

    def timed(username, password):
        start = time.perf_counter()
        response = client.post("/api/login", json={"username": username, "password": password})
        elapsed = time.perf_counter() - start
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_credentials"
        return elapsed
    timed("alice", "warm up the hash"), timed("nobody", "warm up the hash")
    wrong, unknown = [], []
    for i in range(10):  # interleaved, so drift on a busy machine affects both alike
        wrong.append(timed("alice", f"wrong password {i}"))
        # Unknown names, valid and invalid as usernames: both are checked against a dummy hash.
        unknown.append(timed(f"nobody{i}" if i % 2 else f"no such user {i}!", f"wrong password {i}"))
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 0.5 <= ratio <= 2, (ratio, wrong, unknown)

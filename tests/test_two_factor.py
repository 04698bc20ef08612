"""Two-factor login (TOTP, RFC 6238) through the API: setting it up with a QR code and a first
code, logging in in two steps (half a login opens nothing), recovery codes that work once, no
code replayed, the second step throttled like the first, passwords refused on WebDAV once it is
on, token creation needing a recent login, and turning it off."""
from __future__ import annotations

import base64
import time
from datetime import timedelta

import pyotp
import pytest

from app.digests import secret_digest
from app.timeutil import utcnow
from tests.conftest import AuthActions

PASSWORD = "correct horse"


def code(response) -> str:
    return (response.get_json(silent=True) or {}).get("error", {}).get("code", "")


def settled_time() -> float:
    """Now, at least 4 s before the next 30 s step (so a test's codes do not straddle one)."""
    if time.time() % 30 > 26:
        time.sleep(30 - time.time() % 30 + 0.1)
    return time.time()


@pytest.fixture
def enrolled(app, client):
    """alice with two-factor login on; her TOTP, recovery codes, and a time her enabling code
    came from one step before."""
    AuthActions(client).signup("alice", PASSWORD)
    assert client.post("/api/me/2fa/setup", json={"password": "not it"}).status_code == 401
    setup = client.post("/api/me/2fa/setup", json={"password": PASSWORD})
    assert setup.status_code == 200
    body = setup.get_json()
    assert body["qr_svg"].startswith("<svg") and "otpauth://totp/" in body["otpauth_uri"]
    assert "alice" in body["otpauth_uri"] and "issuer=Cloud%20Drive" in body["otpauth_uri"]
    totp = pyotp.TOTP(body["secret"])
    now = settled_time()
    wrong = client.post("/api/me/2fa/enable", json={"code": "000000" if totp.at(now) != "000000" else "111111"})
    assert wrong.status_code == 401 and code(wrong) == "invalid_code"
    enabled = client.post("/api/me/2fa/enable", json={"code": totp.at(now - 30)})
    assert enabled.status_code == 200
    codes = enabled.get_json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/api/me").get_json()["two_factor"] is True
    return totp, codes, now


def two_step(app, password=PASSWORD, second=None):
    browser = app.test_client()
    first = browser.post("/api/login", json={"username": "alice", "password": password})
    answer = browser.post("/api/login/2fa", json={"code": second}) if second is not None else None
    return browser, first, answer


def test_a_login_takes_the_password_then_a_code_and_half_a_login_opens_nothing(app, enrolled):
    totp, _codes, now = enrolled
    browser, first, _ = two_step(app)
    assert first.status_code == 401 and code(first) == "two_factor_required"
    for path in ("/api/me", "/api/files", "/api/tokens", "/api/me/sessions"):
        assert browser.get(path).status_code == 401, path
    wrong = browser.post("/api/login/2fa", json={"code": "12345"})
    assert wrong.status_code == 401 and code(wrong) == "invalid_code"
    ok = browser.post("/api/login/2fa", json={"code": totp.at(now)})
    assert ok.status_code == 200 and ok.get_json()["username"] == "alice"
    assert browser.get("/api/files").status_code == 200
    _, _, replayed = two_step(app, second=totp.at(now))  # the same code, seen by someone else
    assert replayed.status_code == 401 and code(replayed) == "invalid_code"
    _, wrong_password, second = two_step(app, password="wrong horse", second=totp.at(now + 30))
    assert wrong_password.status_code == 401 and code(wrong_password) == "invalid_credentials"
    assert second.status_code == 401 and code(second) == "unauthorized"  # no password, no waiting login
    assert app.test_client().post("/api/login/2fa", json={"code": totp.at(now + 30)}).status_code == 401


def test_a_recovery_code_logs_in_once(app, enrolled):
    _totp, codes, _now = enrolled
    _, _, first = two_step(app, second=codes[3].upper().replace("-", " "))  # as people type it
    assert first.status_code == 200
    _, _, again = two_step(app, second=codes[3])
    assert again.status_code == 401 and code(again) == "invalid_code"
    _, _, other = two_step(app, second=codes[4])
    assert other.status_code == 200


def test_a_waiting_login_expires(app, enrolled, monkeypatch):
    totp, _codes, now = enrolled
    import app.auth.routes as routes
    monkeypatch.setattr(routes, "PENDING_S", -1)
    _, first, late = two_step(app, second=totp.at(now))
    assert code(first) == "two_factor_required" and late.status_code == 401 and code(late) == "unauthorized"


def test_wrong_codes_are_throttled_with_the_passwords(app, enrolled):
    totp, _codes, now = enrolled
    browser, first, _ = two_step(app)
    statuses = [browser.post("/api/login/2fa", json={"code": "999999" if totp.at(now) != "999999" else "888888"})
                .status_code for _ in range(12)]
    assert 429 in statuses and statuses[0] == 401
    assert browser.post("/api/login/2fa", json={"code": totp.at(now)}).status_code == 429


def test_with_two_factor_a_password_opens_no_webdav_and_a_token_does(app, client, enrolled):
    basic = {"Authorization": "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode(), "Depth": "0"}
    assert app.test_client().open("/dav/alice/", method="PROPFIND", headers=basic).status_code == 401
    secret = client.post("/api/tokens", json={"name": "dav", "scope": "read"}).get_json()["secret"]
    token = {"Authorization": "Basic " + base64.b64encode(f"alice:{secret}".encode()).decode(), "Depth": "0"}
    assert app.test_client().open("/dav/alice/", method="PROPFIND", headers=token).status_code == 207


def test_creating_a_token_needs_a_recent_login(app, client):
    AuthActions(client).signup("bob", PASSWORD)
    assert client.post("/api/tokens", json={"name": "fresh", "scope": "read"}).status_code == 201
    digest = secret_digest(_session_token(app, client))
    _age_session(app, digest, minutes=app.config["TOKEN_CREATION_LOGIN_MINUTES"] + 1)
    stale = client.post("/api/tokens", json={"name": "stale", "scope": "read"})
    assert stale.status_code == 403 and code(stale) == "reauthentication_required"
    assert client.get("/api/files").status_code == 200  # the session itself still works
    AuthActions(client).login("bob", PASSWORD)
    assert client.post("/api/tokens", json={"name": "again", "scope": "read"}).status_code == 201


def _session_token(app, client) -> str:
    """The session's secret, read from the signed cookie (the test owns the key)."""
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.loads(client.get_cookie("session").value)["_user_id"]


def _age_session(app, digest: str, minutes: int) -> None:
    database = app.extensions["drive_db"]
    when = utcnow() - timedelta(minutes=minutes)
    if database.kind == "sqlite":
        from app.sqlite_db import when as stored
        database.write("UPDATE sessions SET created_at = ? WHERE id = ?", (stored(when), digest))
    else:
        database.collection("sessions").update_one({"_id": digest}, {"$set": {"created_at": when}})


def test_turning_it_off_needs_the_password_and_a_code(app, client, enrolled):
    totp, codes, now = enrolled
    assert client.post("/api/me/2fa/disable", json={"password": "wrong horse", "code": totp.at(now)}).status_code == 401
    wrong = client.post("/api/me/2fa/disable", json={"password": PASSWORD, "code": "1"})
    assert wrong.status_code == 401 and code(wrong) == "invalid_code"
    assert client.post("/api/me/2fa/disable", json={"password": PASSWORD, "code": codes[0]}).status_code == 204
    assert client.get("/api/me").get_json()["two_factor"] is False
    plain = AuthActions(app.test_client()).login("alice", PASSWORD)
    assert plain.status_code == 200
    again = client.post("/api/me/2fa/setup", json={"password": PASSWORD})
    assert again.status_code == 200 and again.get_json()["secret"] != totp.secret  # a new secret each time


def test_deleting_the_account_with_two_factor_on_takes_a_code(client, enrolled):
    totp, _codes, now = enrolled
    refused = client.delete("/api/me", json={"password": PASSWORD})
    assert refused.status_code == 401 and code(refused) == "invalid_code"
    assert client.get("/api/files").status_code == 200
    assert client.delete("/api/me", json={"password": PASSWORD, "code": totp.at(now)}).status_code == 204


def test_wrong_codes_are_limited_per_account_from_any_address(app, enrolled):
    totp, _codes, now = enrolled
    app.config.update(TWO_FACTOR_RATE_LIMIT="3 per hour", LOGIN_RATE_LIMIT="1000 per minute",
                      LOGIN_IP_RATE_LIMIT="1000 per minute")
    answers = []
    for i in range(5):  # a new address and a new waiting login each time
        browser = app.test_client()
        headers = {"X-Forwarded-For": f"10.0.0.{i}"}
        browser.post("/api/login", json={"username": "alice", "password": PASSWORD}, headers=headers)
        answers.append(browser.post("/api/login/2fa", json={"code": "00000x"}, headers=headers).status_code)
    assert answers[:3] == [401, 401, 401] and answers[3:] == [429, 429]

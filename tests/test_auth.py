import logging

import pytest

from tests.conftest import AuthActions


def test_register_returns_the_user_without_password_hash(auth):
    response = auth.register("john", "password123")
    assert response.status_code == 201
    body = response.get_json()
    assert body["username"] == "john"
    assert set(body) == {"id", "username", "created_at", "role", "two_factor", "email"} and body["role"] == "user"
    assert "password123" not in response.get_data(as_text=True)


@pytest.mark.parametrize("payload, code", [
    ({"username": "jo", "password": "password123"}, "invalid_username"),
    ({"username": "x" * 33, "password": "password123"}, "invalid_username"),
    ({"username": "john doe", "password": "password123"}, "invalid_username"),
    ({"username": "jöhn", "password": "password123"}, "invalid_username"),
    ({"username": 123, "password": "password123"}, "invalid_username"),
    ({"password": "password123"}, "invalid_username"),
    ({"username": "john", "password": "short"}, "invalid_password"),
    ({"username": "john", "password": ["password123"]}, "invalid_password"),
    ({"username": "john"}, "invalid_password"),
])
def test_register_rejects_invalid_input_with_a_clear_code(client, payload, code):
    response = client.post("/api/register", json=payload)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code


@pytest.mark.parametrize("body, content_type, code", [
    ("{not json", "application/json", "malformed_json"),
    ("[1, 2]", "application/json", "malformed_json"),
    ("username=john", "application/x-www-form-urlencoded", "invalid_content_type"),
])
def test_register_rejects_malformed_bodies(client, body, content_type, code):
    response = client.post("/api/register", data=body, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code


def test_usernames_are_unique_regardless_of_case(auth):
    assert auth.register("John").status_code == 201
    response = auth.register("jOHN")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "username_taken"


def test_login_with_json_and_with_form(client, auth):
    auth.register("john", "password123")
    assert auth.login("JOHN", "password123").status_code == 200
    response = client.post("/api/login", data={"username": "john", "password": "password123"})
    assert response.status_code == 200
    assert response.get_json()["username"] == "john"


def test_unknown_user_and_wrong_password_look_the_same(client, auth):
    auth.register("john", "password123")
    wrong_password = auth.login("john", "wrong-password")
    unknown_user = auth.login("nobody", "wrong-password")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.get_json() == unknown_user.get_json()
    assert wrong_password.get_json()["error"]["code"] == "invalid_credentials"


def test_login_sets_a_hardened_cookie_and_a_new_session_each_time(client, auth):
    auth.register()
    first = auth.login()
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    first_session = client.get_cookie("session").value
    auth.login()
    assert client.get_cookie("session").value != first_session


def test_me_requires_login_and_answers_json_not_a_redirect(client):
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_me_shows_the_user_and_usage(client, auth, uploaded):
    body = client.get("/api/me").get_json()
    assert body["username"] == "alice"
    assert body["used_bytes"] == uploaded["size"]
    assert body["file_count"] == 1


def test_a_copied_session_cookie_stops_working_after_logout(app, client, auth):
    auth.signup()
    stolen = client.get_cookie("session").value
    assert client.post("/api/logout").status_code == 204
    assert client.get("/api/me").status_code == 401

    attacker = app.test_client()
    attacker.set_cookie("session", stolen)
    assert attacker.get("/api/me").status_code == 401


def test_logout_of_one_session_keeps_the_others(app, client, auth):
    auth.signup()
    laptop = app.test_client()
    AuthActions(laptop).login()
    client.post("/api/logout")
    assert laptop.get("/api/me").status_code == 200


def test_repeated_failed_logins_are_throttled_with_retry_after(client, auth):
    auth.register()
    for _ in range(10):
        assert auth.login(password="wrong-password").status_code == 401
    response = auth.login()
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "too_many_requests"
    assert int(response.headers["Retry-After"]) > 0


def test_throttling_one_username_does_not_block_another(client, auth):
    auth.register("alice")
    auth.register("bobby")
    for _ in range(11):
        auth.login("alice", "wrong-password")
    assert auth.login("bobby").status_code == 200


def test_cross_site_writes_with_the_session_cookie_are_refused(client, auth):
    auth.signup()
    response = client.post("/api/logout", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "cross_site_request"
    assert client.get("/api/me").status_code == 200
    response = client.post("/api/logout", headers={"Referer": "https://evil.example/page"})
    assert response.status_code == 403


def test_same_origin_and_originless_writes_are_allowed(client, auth):
    auth.register()
    assert client.post("/api/login", json={"username": "alice", "password": "correct horse"},
                       headers={"Origin": "http://localhost"}).status_code == 200
    assert client.post("/api/logout").status_code == 204


def test_passwords_never_reach_the_logs(client, auth):
    lines = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("app")
    logger.addHandler(handler)
    try:
        auth.register("john", "secret-password-1")
        auth.login("john", "secret-password-1")
        auth.login("john", "other-password-2")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(lines)
    assert "login user_id=" in text and "login failed" in text
    assert "secret-password-1" not in text and "other-password-2" not in text


def test_registrations_are_limited_per_address(app, client):
    app.config["REGISTER_RATE_LIMIT"] = "3 per hour"
    for n in range(3):
        assert client.post("/api/register", json={"username": f"user{n}", "password": "password123"}).status_code == 201
    response = client.post("/api/register", json={"username": "user9", "password": "password123"})
    assert response.status_code == 429 and "Retry-After" in response.headers

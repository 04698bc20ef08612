"""Retry-After goes out with a 429 only: a successful or failed login must not tell clients to wait."""


def test_login_answers_carry_retry_after_only_when_throttled(client, auth):
    auth.register()
    ok = auth.login()
    assert ok.status_code == 200 and "Retry-After" not in ok.headers
    wrong = auth.login(password="wrong-password")
    assert wrong.status_code == 401 and "Retry-After" not in wrong.headers
    for _ in range(9):
        auth.login(password="wrong-password")
    throttled = auth.login()
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0


def test_a_registration_carries_no_retry_after(client):
    created = client.post("/api/register", json={"username": "someone", "password": "password123"})
    assert created.status_code == 201 and "Retry-After" not in created.headers

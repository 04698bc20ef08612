"""413 and 507 answers say the limit that applied and, for the caller's own quota, what is left."""
import pytest

from tests.conftest import upload

MIB = 1024 * 1024


def message(response) -> str:
    return response.get_json()["error"]["message"]


def test_an_upload_over_the_limit_names_the_limit(app, client, auth):
    app.config["MAX_CONTENT_LENGTH"] = 2 * MIB
    auth.signup()
    response = upload(client, ("big.bin", b"x" * (2 * MIB + 1)))
    assert response.status_code == 413
    assert message(response) == "The upload is larger than the server allows (2 MiB)."


def test_a_json_body_over_the_form_limit_names_that_limit(client):
    response = client.post("/api/login", data='{"pad": "' + "x" * 600_000 + '"}', content_type="application/json")
    assert response.status_code == 413
    assert message(response) == "The request body is larger than the server allows (500 KiB)."


@pytest.mark.parametrize("second, expected", [
    # Exact check once the parts are hashed: 3.2 MiB of 10 MiB are free.
    (4 * MIB, "This upload would exceed your storage quota: 3.2 MiB of your 10 MiB quota is free."),
    # Refused while streaming: bigger than the free space plus the largest content already held.
    (11 * MIB, "This upload would exceed your storage quota: 3.2 MiB of your 10 MiB quota is free."),
])
def test_quota_refusal_says_how_much_is_left(app, client, auth, second, expected):
    app.config["MAX_CONTENT_LENGTH"] = 64 * MIB
    auth.signup()
    assert app.config["USER_QUOTA_BYTES"] == 10 * MIB
    assert upload(client, ("first.bin", b"x" * (10 * MIB - int(3.2 * MIB)))).status_code == 201
    response = upload(client, ("second.bin", b"y" * second))
    assert response.status_code == 507
    assert message(response) == expected


def test_a_full_quota_says_nothing_is_left(app, client, auth):
    app.config["MAX_CONTENT_LENGTH"] = 64 * MIB
    auth.signup()
    assert upload(client, ("all.bin", b"x" * (10 * MIB))).status_code == 201
    response = upload(client, ("more.bin", b"y"))
    assert response.status_code == 507
    assert message(response) == "Your storage quota is used up: 0 B of your 10 MiB quota is free."

"""Email: an account's verified address, the forgotten-password reset and emailed invitations,
against a real SMTP server on loopback (aiosmtpd)."""
from __future__ import annotations

import pytest

from app.db import close_database
from config import ConfigError, TestingConfig
from tests.conftest import AuthActions, make_app
from tests.smtp_server import link_token, smtp_inbox  # noqa: F401  (fixture)

PASSWORD = "correct horse"
PUBLIC_URL = "https://drive.example.org"


@pytest.fixture
def mail_app(tmp_path, smtp_inbox):
    """Apps that send email to the test's SMTP server; each finishes sending before it closes."""
    made = []

    def build(**settings):
        made.append(make_app(tmp_path / str(len(made)), SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_inbox.port,
                             SMTP_SECURITY="none", SMTP_FROM="Drive <drive@example.org>", PUBLIC_URL=PUBLIC_URL,
                             **settings))
        return made[-1]
    yield build
    for application in made:
        application.extensions["drive_services"].recovery.mailer.drain()
        close_database(application)


@pytest.fixture
def app(mail_app):
    return mail_app()


def signup(app, username="alice"):
    client = app.test_client()
    me = AuthActions(client).signup(username, PASSWORD)
    return client, me


def verified(app, inbox, address="alice@example.org", username="alice"):
    """A logged-in user whose account has verified ``address``."""
    client, _ = signup(app, username)
    assert client.post("/api/me/email", json={"email": address, "password": PASSWORD}).status_code == 202
    token = link_token(inbox.wait_for(address), "verify-email")
    assert client.post("/api/email/verify", json={"token": token}).status_code == 200
    return client


def test_my_address_is_used_only_once_i_open_the_link(app, smtp_inbox):
    client, _ = signup(app)
    assert client.post("/api/me/email", json={"email": "alice@example.org", "password": "wrong one"}
                       ).get_json()["error"]["code"] == "wrong_password"
    response = client.post("/api/me/email", json={"email": "alice@example.org", "password": PASSWORD})
    assert response.status_code == 202
    message = smtp_inbox.wait_for("alice@example.org")
    assert message["From"] == "Drive <drive@example.org>" and message["Subject"] == "Confirm your email address"
    assert f"{PUBLIC_URL}/#/verify-email?token=cdm_" in message.get_content()
    assert client.get("/api/me").get_json()["email"] is None  # not before the link is opened

    token = link_token(message, "verify-email")
    other_device = app.test_client()  # the link works without a login
    response = other_device.post("/api/email/verify", json={"token": token})
    assert response.status_code == 200 and response.get_json()["email"] == "alice@example.org"
    assert client.get("/api/me").get_json()["email"] == "alice@example.org"
    again = other_device.post("/api/email/verify", json={"token": token})
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "invalid_link"


def test_forgotten_password_link_sets_a_new_one_and_logs_out_everywhere(app, smtp_inbox):
    client = verified(app, smtp_inbox)
    stranger = app.test_client()
    response = stranger.post("/api/password/forgot", json={"email": "Alice@Example.org"},
                             headers={"Host": "evil.example"})
    assert response.status_code == 202
    message = smtp_inbox.wait_for("alice@example.org", count=2)
    assert message["Subject"] == "Reset your password"
    assert f"{PUBLIC_URL}/#/reset?token=" in message.get_content()  # never the request's Host
    assert "evil.example" not in message.get_content()
    token = link_token(message, "reset")

    short = stranger.post("/api/password/reset", json={"token": token, "new_password": "short"})
    assert short.get_json()["error"]["code"] == "invalid_password"  # the link is not used up by that
    assert stranger.post("/api/password/reset", json={"token": token, "new_password": "a new secret"}
                         ).status_code == 204
    assert client.get("/api/me").status_code == 401  # the session that was logged in ended
    auth = AuthActions(app.test_client())
    assert auth.login("alice", PASSWORD).status_code == 401
    assert auth.login("alice", "a new secret").status_code == 200
    notice = smtp_inbox.wait_for("alice@example.org", count=3)
    assert notice["Subject"] == "Your password was changed"
    reused = stranger.post("/api/password/reset", json={"token": token, "new_password": "yet another one"})
    assert reused.status_code == 400 and reused.get_json()["error"]["code"] == "invalid_link"


def test_the_answer_is_the_same_for_an_address_without_an_account(app, smtp_inbox):
    verified(app, smtp_inbox)
    known = app.test_client().post("/api/password/forgot", json={"email": "alice@example.org"})
    unknown = app.test_client().post("/api/password/forgot", json={"email": "nobody@example.org"})
    assert (known.status_code, known.get_json()) == (unknown.status_code, unknown.get_json())
    smtp_inbox.wait_for("alice@example.org", count=2)
    smtp_inbox.settle()
    assert smtp_inbox.to("nobody@example.org") == []


def test_only_the_newest_reset_link_works(app, smtp_inbox):
    verified(app, smtp_inbox)
    anonymous = app.test_client()
    tokens = []
    for count in (2, 3):  # each message arrives before the next is asked for
        assert anonymous.post("/api/password/forgot", json={"email": "alice@example.org"}).status_code == 202
        tokens.append(link_token(smtp_inbox.wait_for("alice@example.org", count=count), "reset"))
    first, second = tokens
    assert anonymous.post("/api/password/reset", json={"token": first, "new_password": "a new secret"}
                          ).get_json()["error"]["code"] == "invalid_link"
    assert anonymous.post("/api/password/reset", json={"token": second, "new_password": "a new secret"}
                          ).status_code == 204


def test_a_reset_link_expires(mail_app, smtp_inbox):
    app = mail_app(PASSWORD_RESET_MINUTES=0)
    verified(app, smtp_inbox)
    app.test_client().post("/api/password/forgot", json={"email": "alice@example.org"})
    token = link_token(smtp_inbox.wait_for("alice@example.org", count=2), "reset")
    response = app.test_client().post("/api/password/reset", json={"token": token, "new_password": "a new secret"})
    assert response.get_json()["error"]["code"] == "invalid_link"
    assert AuthActions(app.test_client()).login("alice", PASSWORD).status_code == 200


def test_a_reset_link_sent_to_an_old_address_stops_working(app, smtp_inbox):
    client = verified(app, smtp_inbox)
    app.test_client().post("/api/password/forgot", json={"email": "alice@example.org"})
    token = link_token(smtp_inbox.wait_for("alice@example.org", count=2), "reset")
    client.post("/api/me/email", json={"email": "alice@new.example", "password": PASSWORD})
    client.post("/api/email/verify", json={"token": link_token(smtp_inbox.wait_for("alice@new.example"),
                                                                "verify-email")})
    assert smtp_inbox.wait_for("alice@example.org", count=3)["Subject"] == "Your email address was changed"
    response = app.test_client().post("/api/password/reset", json={"token": token, "new_password": "a new secret"})
    assert response.get_json()["error"]["code"] == "invalid_link"


def test_an_address_belongs_to_one_account(app, smtp_inbox):
    verified(app, smtp_inbox)
    bob, _ = signup(app, "bob")
    assert bob.post("/api/me/email", json={"email": "ALICE@example.org", "password": PASSWORD}).status_code == 202
    token = link_token(smtp_inbox.wait_for("alice@example.org", count=2), "verify-email")
    response = bob.post("/api/email/verify", json={"token": token})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "email_taken"
    assert bob.get("/api/me").get_json()["email"] is None


def test_no_email_for_removed_addresses_or_disabled_accounts(app, smtp_inbox):
    client = verified(app, smtp_inbox)
    verified(app, smtp_inbox, "bob@example.org", "bob")
    assert client.delete("/api/me/email", json={"password": PASSWORD}).status_code == 204
    assert client.get("/api/me").get_json()["email"] is None
    bob_id = app.extensions["drive_services"].auth.users.get_by_username("bob")["_id"]
    app.extensions["drive_services"].auth.users.update(str(bob_id), {"disabled": True})
    for address in ("alice@example.org", "bob@example.org"):
        assert app.test_client().post("/api/password/forgot", json={"email": address}).status_code == 202
    before = smtp_inbox.settle()
    assert len(smtp_inbox.to("alice@example.org")) == 1 and len(smtp_inbox.to("bob@example.org")) == 1, before


@pytest.mark.parametrize("email", ["not an address", "a@b@c", "alice@example.org\r\nBcc: x@evil.example",
                                   "alice@example.org>, <x@evil.example", "x" * 250 + "@example.org", 42, None,
                                   "alice@example..org", "=?utf-8?q?a=0Ab?=@x.com", "a@=?utf-8?q?x?=",
                                   "\"quoted\"@example.org"])
def test_what_is_not_an_address_is_refused(app, smtp_inbox, email):
    client, _ = signup(app)
    response = client.post("/api/me/email", json={"email": email, "password": PASSWORD})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_email"
    response = app.test_client().post("/api/password/forgot", json={"email": email})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_email"
    assert smtp_inbox.settle(0.2) == 0


def test_asking_for_resets_is_limited_per_recipient(app, smtp_inbox):
    verified(app, smtp_inbox)
    answers = [app.test_client().post("/api/password/forgot", json={"email": "alice@example.org"},
                                      environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code for n in range(7)]
    assert answers == [202] * 5 + [429] * 2
    smtp_inbox.wait_for("alice@example.org", count=6)
    assert len(smtp_inbox.to("alice@example.org")) == 6 == smtp_inbox.settle()  # 1 verification + 5 resets


def test_a_reset_does_not_get_past_two_factor_login(app, smtp_inbox):
    client = verified(app, smtp_inbox)
    services = app.extensions["drive_services"]
    user = services.auth.users.get_by_username("alice")
    services.auth.users.update(str(user["_id"]), {"totp_enabled": True, "totp_secret": "JBSWY3DPEHPK3PXP"})
    app.test_client().post("/api/password/forgot", json={"email": "alice@example.org"})
    token = link_token(smtp_inbox.wait_for("alice@example.org", count=2), "reset")
    assert app.test_client().post("/api/password/reset", json={"token": token, "new_password": "a new secret"}
                                  ).status_code == 204
    response = AuthActions(app.test_client()).login("alice", "a new secret")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "two_factor_required"


def test_deleting_the_account_ends_its_links(app, smtp_inbox):
    client = verified(app, smtp_inbox)
    app.test_client().post("/api/password/forgot", json={"email": "alice@example.org"})
    token = link_token(smtp_inbox.wait_for("alice@example.org", count=2), "reset")
    assert client.delete("/api/me", json={"password": PASSWORD}).status_code == 204
    response = app.test_client().post("/api/password/reset", json={"token": token, "new_password": "a new secret"})
    assert response.get_json()["error"]["code"] == "invalid_link"


def test_an_administrator_emails_an_invitation_and_sets_an_address(mail_app, smtp_inbox):
    app = mail_app(REGISTRATION="invite", ADMIN_USERNAME="root", ADMIN_PASSWORD=PASSWORD)
    admin = app.test_client()
    assert AuthActions(admin).login("root", PASSWORD).status_code == 200
    response = admin.post("/api/admin/invites", json={"email": "carol@example.org", "hours": 2})
    assert response.status_code == 201 and response.get_json()["emailed"] is True
    assert response.get_json()["url"].startswith(f"{PUBLIC_URL}/#/register?invite=cdi_")
    message = smtp_inbox.wait_for("carol@example.org")
    assert "root invites you" in message.get_content()
    invite = link_token(message, "register")
    carol = app.test_client()
    assert carol.post("/api/register", json={"username": "carol", "password": PASSWORD, "invite": invite}
                      ).status_code == 201

    carol_id = app.extensions["drive_services"].auth.users.get_by_username("carol")["_id"]
    response = admin.patch(f"/api/admin/users/{carol_id}", json={"email": "carol@example.org"})
    assert response.status_code == 200 and response.get_json()["email"] == "carol@example.org"
    carol.post("/api/password/forgot", json={"email": "carol@example.org"})
    assert smtp_inbox.wait_for("carol@example.org", count=2)["Subject"] == "Reset your password"
    assert admin.patch(f"/api/admin/users/{carol_id}", json={"email": "bad"}).get_json()["error"]["code"] == \
        "invalid_email"


def test_without_smtp_the_server_says_it_sends_no_email(tmp_path):
    app = make_app(tmp_path, ADMIN_USERNAME="root", ADMIN_PASSWORD=PASSWORD)
    client, _ = signup(app)
    for response in (app.test_client().post("/api/password/forgot", json={"email": "alice@example.org"}),
                     client.post("/api/me/email", json={"email": "alice@example.org", "password": PASSWORD})):
        assert response.status_code == 409 and response.get_json()["error"]["code"] == "email_unavailable"
    admin = app.test_client()
    AuthActions(admin).login("root", PASSWORD)
    response = admin.post("/api/admin/invites", json={"email": "carol@example.org"})
    assert response.get_json()["error"]["code"] == "email_unavailable"
    assert admin.get("/api/admin/invites").get_json()["invites"] == []  # nothing made
    close_database(app)


@pytest.mark.parametrize("environ, message", [
    ({"SMTP_HOST": "mail.example.org", "PUBLIC_URL": "https://d.example.org"}, "SMTP_FROM must be set"),
    ({"SMTP_HOST": "mail.example.org", "SMTP_FROM": "d@example.org"}, "PUBLIC_URL must be set"),
    ({"PUBLIC_URL": "drive.example.org"}, "PUBLIC_URL must be an http(s) address"),
    ({"SMTP_SECURITY": "tls"}, "SMTP_SECURITY must be one of"),
])
def test_mail_settings_are_checked_at_start(environ, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TestingConfig.load(environ)


def test_a_password_change_ends_reset_links_asked_for_before(app, smtp_inbox):
    client = verified(app, smtp_inbox)
    app.test_client().post("/api/password/forgot", json={"email": "alice@example.org"})
    token = link_token(smtp_inbox.wait_for("alice@example.org", count=2), "reset")
    assert client.post("/api/me/password", json={"current_password": PASSWORD,
                                                 "new_password": "a new secret"}).status_code == 204
    late = app.test_client().post("/api/password/reset", json={"token": token, "new_password": "the thief's"})
    assert late.status_code == 400 and late.get_json()["error"]["code"] == "invalid_link"


def test_an_encoded_word_address_is_refused_before_an_invitation_is_made(mail_app, smtp_inbox):
    app = mail_app(ADMIN_USERNAME="root", ADMIN_PASSWORD=PASSWORD)
    admin = app.test_client()
    AuthActions(admin).login("root", PASSWORD)
    response = admin.post("/api/admin/invites", json={"email": "=?utf-8?q?a=0Ab?=@x.com"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_email"
    assert admin.get("/api/admin/invites").get_json()["invites"] == []

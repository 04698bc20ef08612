"""A local SMTP server for the email tests (aiosmtpd, on a free loopback port)."""
from __future__ import annotations

import re
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from app.mail.mailer import Mailer


class Inbox:
    """Every message the server received, and a way to wait for the next one to an address."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        message = message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in m["X-Envelope-To"].lower()]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10) -> EmailMessage:
        """The ``count``-th message to ``address`` (waits for it to arrive)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.to(address)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no message {count} to {address} within {timeout} s: {self.messages}")
                self._arrived.wait(left)
            return self.to(address)[count - 1]

    def settle(self, seconds: float = 0.5) -> int:
        """Wait a moment for stragglers (to check nothing more arrives); the count so far."""
        time.sleep(seconds)
        return len(self.messages)


def link_token(message: EmailMessage, route: str) -> str:
    """The secret of the web app link ``#/route?token=...`` (or ``invite=``) in a message."""
    match = re.search(rf"#/{route}\?(?:token|invite)=([A-Za-z0-9_-]+)", message.get_content())
    assert match, message.get_content()
    return match.group(1)


@pytest.fixture
def smtp_inbox():
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        inbox.port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


class Outbox(Mailer):
    """A mailer that keeps what it would send (for walks over every route, which need working
    links but not a mail server); tests/test_email.py sends through real SMTP."""

    def __init__(self):
        super().__init__("outbox.invalid", 25, "none", None, None, "drive@example.org", 1, "https://drive.example.org")
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))

    def last_link(self, route: str) -> str:
        match = re.search(rf"#/{route}\?(?:token|invite)=([A-Za-z0-9_-]+)", self.sent[-1][2])
        assert match, self.sent[-1]
        return match.group(1)


def capture_mail(app) -> Outbox:
    """Make ``app`` send email into an Outbox (returned)."""
    outbox = Outbox()
    app.extensions["drive_services"].recovery.mailer = outbox
    return outbox

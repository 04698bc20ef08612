"""Sending email over SMTP (SMTP_* settings), off the request.

A message is handed to a background thread (a greenlet under gevent workers), so a request that
sends one answers as fast as one that does not: "forgot my password" must not tell by its timing
whether the address has an account. A message that cannot be delivered is logged (recipient
not named) and dropped: the person asks again. A worker that stops waits for the messages it is
sending (up to SMTP_TIMEOUT_SECONDS each); nothing is queued across restarts.
"""
from __future__ import annotations

import atexit
import hashlib
import logging
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Callable

log = logging.getLogger(__name__)


class Mailer:
    def __init__(self, host: str | None, port: int, security: str, username: str | None, password: str | None,
                 sender: str | None, timeout: float, public_url: str | None):
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.sender = sender
        self.timeout = timeout
        self.public_url = public_url
        self._sending: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._drain_registered = False

    @classmethod
    def from_config(cls, config) -> "Mailer":
        return cls(config.get("SMTP_HOST"), config["SMTP_PORT"], config["SMTP_SECURITY"], config.get("SMTP_USERNAME"),
                   config.get("SMTP_PASSWORD"), config.get("SMTP_FROM"), config["SMTP_TIMEOUT_SECONDS"],
                   config.get("PUBLIC_URL"))

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    def link(self, route: str) -> str:
        """An address in the web app: PUBLIC_URL, then ``#/route`` (a fragment: the secret in it
        never reaches a server log or a Referer header)."""
        return f"{self.public_url}/#/{route}"

    def send(self, to: str, subject: str, body: str) -> None:
        """Send a plain-text message in the background."""
        try:
            message = EmailMessage()
            message["From"] = self.sender
            message["To"] = to
            message["Subject"] = subject
            message["Message-ID"] = make_msgid(domain="clouddrive")
            message.set_content(body)
        except (ValueError, TypeError) as error:  # an address the header model refuses: never a 500
            log.warning("mail not built subject=%r error=%s", subject, type(error).__name__)
            return
        self.background(self._deliver, message)

    def background(self, work: Callable, *args) -> None:
        """Run ``work(*args)`` off the request (a thread; a greenlet under gevent workers),
        counted so that ``drain`` waits for it."""
        def run():
            try:
                work(*args)
            except Exception:  # noqa: BLE001  (nobody waits for it: log and go on)
                log.exception("background mail work failed")
            finally:
                with self._lock:
                    self._sending.discard(threading.current_thread())
        thread = threading.Thread(target=run, name="mail", daemon=True)
        with self._lock:
            if not self._drain_registered:
                atexit.register(self.drain)  # a worker that stops finishes sending first
                self._drain_registered = True
            self._sending.add(thread)
        thread.start()

    def drain(self, timeout: float = 10) -> None:
        """Wait for the work under way, and for what it starts (at shutdown, and in tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                running = list(self._sending)
            if not running:
                return
            for thread in running:
                thread.join(max(0.0, deadline - time.monotonic()))

    def _deliver(self, message: EmailMessage) -> None:
        recipient = hashlib.sha256(str(message["To"]).lower().encode()).hexdigest()[:12]
        try:
            if self.security == "ssl":
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                          context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(message)
            log.info("mail sent subject=%r to_hash=%s", message["Subject"], recipient)
        except (OSError, smtplib.SMTPException) as error:
            log.warning("mail not sent subject=%r to_hash=%s error=%s", message["Subject"], recipient,
                        type(error).__name__)

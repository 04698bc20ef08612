"""Two-factor login with TOTP (RFC 6238): an authenticator app's six-digit code, or one of ten
single-use recovery codes.

Setting it up takes two steps: ``setup`` makes a secret (kept aside, not yet in force) and
shows it as an ``otpauth://`` URI and a QR code drawn here as SVG (no outside service sees
it); ``enable`` puts it in force once a first code from the app matches, and answers the ten
recovery codes, shown once (only their SHA-256 is kept: they are 80 random bits each). A code
is accepted for its 30-second step and the steps on either side (clock drift), and only once:
the step it used is recorded atomically, so a code seen by someone else cannot be replayed
(recovery codes are taken out of the list atomically too).
"""
from __future__ import annotations

import hmac
import io
import logging
import secrets
import time

import pyotp
import segno

from ..digests import secret_digest
from ..errors import Conflict, ErrorCode, InvalidInput, Unauthorized
from .repo import UsersRepository

log = logging.getLogger(__name__)
RECOVERY_CODES = 10
STEP_S = 30
ISSUER = "Cloud Drive"
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def _recovery_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))  # ~79 bits
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def _normalised(code) -> str:
    if not isinstance(code, str):
        raise InvalidInput("Send the code as text.", code=ErrorCode.INVALID_INPUT)
    return code.strip().replace(" ", "").replace("-", "").lower()


def wrong_code() -> Unauthorized:
    return Unauthorized("The code is wrong, too old, or was used already.", code=ErrorCode.INVALID_CODE)


class TwoFactorService:
    def __init__(self, users: UsersRepository):
        self.users = users

    def setup(self, user: dict) -> dict:
        """A new secret, not in force until ``enable``: its URI and QR code for the app."""
        if user.get("totp_enabled"):
            raise Conflict("Two-factor login is on already; turn it off first to start again.",
                           code=ErrorCode.CONFLICT)
        secret = pyotp.random_base32()
        self.users.update(str(user["_id"]), {"totp_pending": secret})
        uri = pyotp.TOTP(secret).provisioning_uri(name=user["username"], issuer_name=ISSUER)
        out = io.BytesIO()  # a standalone SVG document (with its namespace: it also works as an <img>)
        segno.make(uri, error="m").save(out, kind="svg", xmldecl=False, scale=4, dark="#000", light="#fff")
        svg = out.getvalue().decode()
        return {"secret": secret, "otpauth_uri": uri, "qr_svg": svg}

    def enable(self, user: dict, code) -> list[str]:
        """Put the secret of ``setup`` in force with a first code from the app; the recovery codes."""
        pending = user.get("totp_pending")
        if user.get("totp_enabled") or not pending:
            raise Conflict("Start with POST /api/me/2fa/setup (and do not turn it on twice).", code=ErrorCode.CONFLICT)
        step = self._matching_step(pending, _normalised(code))
        if step is None:
            raise wrong_code()
        codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
        self.users.update(str(user["_id"]), {
            "totp_secret": pending, "totp_pending": None, "totp_enabled": True, "totp_last_step": step,
            "recovery_hashes": [secret_digest(_normalised(c)) for c in codes]})
        log.info("two-factor login on user_id=%s", user["_id"])
        return codes

    def disable(self, user: dict, code) -> None:
        """Off again (the caller checked the password): a current code or a recovery code."""
        if not user.get("totp_enabled"):
            raise Conflict("Two-factor login is not on.", code=ErrorCode.CONFLICT)
        if not self.verify(user, code):
            raise wrong_code()
        self.users.update(str(user["_id"]), {"totp_enabled": False, "totp_secret": None, "totp_pending": None,
                                             "recovery_hashes": None})
        log.info("two-factor login off user_id=%s", user["_id"])

    def verify(self, user: dict, code) -> bool:
        """A code from the app (once per step) or an unused recovery code (used up by this)."""
        code = _normalised(code)
        user_id = str(user["_id"])
        if code.isdigit() and len(code) == 6 and user.get("totp_secret"):
            step = self._matching_step(user["totp_secret"], code)
            return step is not None and self.users.use_totp_step(user_id, step)
        if len(code) == 16:
            used = self.users.use_recovery_code(user_id, secret_digest(code))
            if used:
                log.warning("recovery code used user_id=%s", user_id)
            return used
        return False

    @staticmethod
    def _matching_step(secret: str, code: str) -> int | None:
        if not (code.isdigit() and len(code) == 6):
            return None
        totp = pyotp.TOTP(secret)
        now = int(time.time()) // STEP_S
        for step in (now - 1, now, now + 1):
            if hmac.compare_digest(totp.at(step * STEP_S), code):
                return step
        return None

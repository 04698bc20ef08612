"""Extensions, created unbound and initialised by the factory."""
from flask import Flask, Response
from flasgger import Swagger
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager

# Statuses whose Retry-After means something to a client (RFC 9110: 3xx, 429, 503).
_RETRY_AFTER_STATUSES = frozenset((301, 302, 303, 307, 308, 429, 503))


def _retry_after_only_when_throttled(response: Response) -> Response:
    """Flask-Limiter's headers put Retry-After on every limited answer, a 200 or a 401 login
    included, where clients read it as "wait before the next request". Keep it where it is
    meant: the 429 (and 503 or a redirect, should one carry it)."""
    if response.status_code not in _RETRY_AFTER_STATUSES:
        response.headers.pop("Retry-After", None)
    return response


class DriveLimiter(Limiter):
    """Flask-Limiter, with Retry-After sent only with 429."""

    def init_app(self, app: Flask) -> None:
        # Flask runs after_request functions in reverse order of registration: registered
        # before Flask-Limiter's own header hook, this one sees the headers it added.
        app.after_request(_retry_after_only_when_throttled)
        super().init_app(app)


login_manager = LoginManager()
limiter = DriveLimiter(key_func=get_remote_address)
swagger = Swagger()

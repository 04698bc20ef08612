"""DriveLimiter skips Flask-Limiter's before-request pass when there is nothing for it to check
(app.extensions), and only then: route, default, application and blueprint limits still apply."""
from __future__ import annotations

import pytest
from flask import Blueprint, Flask

from app.extensions import DriveLimiter


def limited_app(**limiter_options) -> tuple[Flask, DriveLimiter]:
    app = Flask(__name__)
    limiter = DriveLimiter(key_func=lambda: "client", storage_uri="memory://", **limiter_options)
    limiter.init_app(app)
    app.add_url_rule("/plain", "plain", lambda: "ok")
    return app, limiter


def statuses(app: Flask, path: str, times: int = 3) -> list[int]:
    client = app.test_client()
    return [client.get(path).status_code for _ in range(times)]


def test_a_route_limit_applies_while_other_routes_skip_the_before_request_pass():
    app, limiter = limited_app()
    app.add_url_rule("/limited", "limited", limiter.limit("2 per minute")(lambda: "ok"))
    assert statuses(app, "/limited") == [200, 200, 429]
    assert statuses(app, "/plain", 5) == [200] * 5
    with app.test_request_context("/plain"):
        assert not limiter._middleware_has_limits()


@pytest.mark.parametrize("options", [{"default_limits": ["2 per minute"]}, {"application_limits": ["2 per minute"]}])
def test_default_and_application_limits_still_apply_to_undecorated_routes(options):
    app, limiter = limited_app(**options)
    assert statuses(app, "/plain") == [200, 200, 429]


def test_a_blueprint_limit_still_applies_to_its_routes():
    app = Flask(__name__)
    limiter = DriveLimiter(key_func=lambda: "client", storage_uri="memory://")
    bp = Blueprint("limited_bp", __name__)
    bp.add_url_rule("/in-bp", "in_bp", lambda: "ok")
    limiter.limit("2 per minute")(bp)
    limiter.init_app(app)
    app.register_blueprint(bp)
    assert statuses(app, "/in-bp") == [200, 200, 429]


def test_the_apps_limiter_has_no_before_request_limits(app):
    """The app limits routes one by one (login, registration, e-mail, share passwords); if it
    ever sets default or blueprint limits, the before-request pass runs again by itself."""
    from app.extensions import limiter
    with app.test_request_context("/api/files/x"):
        assert not limiter._middleware_has_limits()

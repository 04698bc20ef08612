"""The application factory: wiring only."""
from __future__ import annotations

import os
import time
from typing import Any, Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import load_config

from .api_docs import init_api_docs
from .commands import register_commands
from .dav.mount import mount_dav
from .db import init_database
from .errors import Unauthorized, register_error_handlers
from .extensions import limiter, login_manager
from .logging_setup import configure_logger
from .metrics import init_metrics
from .request import StreamingUploadRequest, discard_uncommitted
from .security import ensure_secret_key, register_request_hooks
from .services import init_services


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment's profile, with ``config`` overriding it."""
    settings = load_config()
    settings.update(config or {})
    instance_path = settings.get("INSTANCE_PATH")
    app = Flask(__name__, instance_relative_config=True,
                instance_path=os.path.abspath(instance_path) if instance_path else None)
    app.request_class = StreamingUploadRequest
    app.config.update(settings)
    app.config["STARTED_AT"] = time.monotonic()
    ensure_secret_key(app)
    configure_logger(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_request_hooks(app)
    register_commands(app)
    app.teardown_request(discard_uncommitted)
    if app.config["WEBDAV_ENABLED"]:
        mount_dav(app)
    if app.config["METRICS_ENABLED"]:
        init_metrics(app)
    if app.config["TRUST_PROXY_HOPS"]:  # outermost: /dav sees the client's address and scheme too
        hops = app.config["TRUST_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def register_extensions(app: Flask) -> None:
    database = init_database(app)
    services = init_services(app, database)
    services.storage.sweep_staging()
    made = services.admin.first_admin(app.config.get("ADMIN_USERNAME"), app.config.get("ADMIN_PASSWORD"))
    if made:
        app.logger.warning("%s (ADMIN_USERNAME)", made)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"

    @login_manager.unauthorized_handler
    def unauthorized():
        raise Unauthorized("Log in first: POST /api/login.")

    limiter.init_app(app)
    init_api_docs(app)


def register_blueprints(app: Flask) -> None:
    from .admin.routes import bp as admin_bp
    from .audit.routes import bp as audit_bp
    from .auth.email_routes import bp as email_bp
    from .auth.routes import bp as auth_bp
    from .auth.token_routes import bp as tokens_bp
    from .compat.routes import bp as compat_bp
    from .drive.routes.bulk import bp as bulk_bp
    from .drive.routes.files import bp as files_bp
    from .drive.routes.folders import bp as folders_bp
    from .drive.routes.search import bp as search_bp
    from .drive.routes.trash import bp as trash_bp
    from .members.routes import bp as members_bp
    from .sharing.public_routes import bp as public_bp
    from .sharing.routes import bp as shares_bp
    from .system.routes import bp as system_bp
    from .uploads.routes import bp as uploads_bp
    from .web.routes import bp as web_bp

    for blueprint in (auth_bp, tokens_bp, files_bp, folders_bp, trash_bp, search_bp, shares_bp, public_bp,
                      system_bp, compat_bp, web_bp, uploads_bp, admin_bp, audit_bp, email_bp, members_bp,
                      bulk_bp):
        app.register_blueprint(blueprint)

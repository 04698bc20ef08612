import os

import mongomock
import pytest

from app import create_app
from config import ProductionConfig, load_config


def _settings(tmp_path, profile, environ):
    settings = profile.load(environ)
    settings.update(MONGO_CLIENT_FACTORY=mongomock.MongoClient, UPLOAD_FOLDER=str(tmp_path / "u"))
    return settings


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(_settings(tmp_path, ProductionConfig, {}))


def test_production_uses_secure_cookies(tmp_path):
    app = create_app(_settings(tmp_path, ProductionConfig, {"SECRET_KEY": "k" * 40}))
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_development_key_is_generated_once_and_kept(tmp_path):
    settings = load_config({"APP_ENV": "development", "INSTANCE_PATH": str(tmp_path / "instance")})
    settings.update(MONGO_CLIENT_FACTORY=mongomock.MongoClient, UPLOAD_FOLDER=str(tmp_path / "u"))
    first = create_app(dict(settings))
    key_file = tmp_path / "instance" / "secret_key"
    assert os.stat(key_file).st_mode & 0o077 == 0
    assert first.config["SECRET_KEY"] == key_file.read_text()
    second = create_app(dict(settings))
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_environment_overrides_defaults():
    settings = load_config({"APP_ENV": "development", "MAX_CONTENT_LENGTH": "1234",
                            "USER_QUOTA_BYTES": "0", "SESSION_COOKIE_SECURE": "true"})
    assert settings["MAX_CONTENT_LENGTH"] == 1234
    assert settings["USER_QUOTA_BYTES"] == 0
    assert settings["SESSION_COOKIE_SECURE"] is True


def test_bad_values_fail_fast():
    with pytest.raises(RuntimeError, match="MAX_CONTENT_LENGTH"):
        load_config({"MAX_CONTENT_LENGTH": "lots"})
    with pytest.raises(RuntimeError, match="APP_ENV"):
        load_config({"APP_ENV": "staging"})

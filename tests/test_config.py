import os
import socket
import subprocess

import mongomock
import pytest
import requests

from app import create_app
from config import ConfigError, ProductionConfig, load_config
from tests.live_server import GUNICORN, REPO_ROOT, GunicornServer


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


def test_the_removed_litemongo_engine_is_refused_with_one_line_saying_why():
    with pytest.raises(ConfigError) as caught:
        load_config({"EMBEDDED_ENGINE": "litemongo"})
    message = str(caught.value)
    assert "EMBEDDED_ENGINE" in message and "litemongo" in message and "removed" in message
    assert "migrated" in message and "\n" not in message


@pytest.mark.parametrize("value", ["sqlite", "SQLite", ""])
def test_an_embedded_engine_naming_sqlite_still_starts(value):
    assert "EMBEDDED_ENGINE" not in load_config({"EMBEDDED_ENGINE": value})


@pytest.mark.parametrize("raw, expected", [
    ("1073741824", 1073741824), ("0", 0), ("100K", 100 * 1024), ("500M", 500 * 1024**2),
    ("1G", 1024**3), ("1.5G", 1536 * 1024**2), ("2T", 2 * 1024**4), ("1GiB", 1024**3), ("1gb", 1024**3),
    ("64 MiB", 64 * 1024**2), ("12B", 12),
])
def test_sizes_accept_binary_units(raw, expected):
    settings = load_config({"MAX_CONTENT_LENGTH": raw, "USER_QUOTA_BYTES": raw})
    assert settings["MAX_CONTENT_LENGTH"] == expected
    assert settings["USER_QUOTA_BYTES"] == expected


@pytest.mark.parametrize("name", ["MAX_CONTENT_LENGTH", "USER_QUOTA_BYTES"])
@pytest.mark.parametrize("raw", ["10X", "-1", "1.5", "lots", "1e9", "G", "1 G B"])
def test_a_bad_size_is_one_clear_line_naming_the_variable(name, raw):
    with pytest.raises(ConfigError) as caught:
        load_config({name: raw})
    message = str(caught.value)
    assert message.startswith(name) and repr(raw) in message and "1G = 1 GiB" in message
    assert "\n" not in message


@pytest.mark.e2e
def test_gunicorn_with_a_bad_size_prints_one_line_and_exits_non_zero(tmp_path):
    """What `MAX_CONTENT_LENGTH=10X make run` shows: no worker traceback, no "Worker failed to boot"."""
    server = GunicornServer(tmp_path)
    env = dict(server.env, MAX_CONTENT_LENGTH="10X")
    result = subprocess.run([GUNICORN, "-c", "gunicorn.conf.py", "--no-control-socket", "wsgi:app"], cwd=REPO_ROOT,
                            env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Worker failed to boot" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "MAX_CONTENT_LENGTH" in line]
    assert errors == ["configuration error: MAX_CONTENT_LENGTH must be a size in bytes, optionally with a binary "
                      "unit (e.g. 1073741824, 500M, 1.5G; 1G = 1 GiB), got '10X'"]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", server.port)) != 0  # it never listened


@pytest.mark.e2e
def test_gunicorn_starts_with_sizes_in_units(server):
    # The live fixture's environment, restarted with unit sizes (USER_QUOTA_BYTES=1M: 1 MiB).
    server.stop()
    server.env.update(MAX_CONTENT_LENGTH="1.5M", USER_QUOTA_BYTES="1M")
    server.start()
    http = requests.Session()
    http.post(server.url("/api/register"), json={"username": "unit", "password": "password123"}).close()
    http.post(server.url("/api/login"), json={"username": "unit", "password": "password123"}).close()
    assert http.get(server.url("/api/me"), timeout=10).json()["quota_bytes"] == 1024 * 1024
    response = http.post(server.url("/api/upload"), files={"file": ("big.bin", b"x" * (1536 * 1024 + 1))}, timeout=30)
    assert response.status_code == 413
    assert response.json()["error"]["message"] == "The upload is larger than the server allows (1.5 MiB)."
    http.close()


def test_gunicorn_in_production_without_a_secret_key_prints_one_line_and_exits(tmp_path):
    server = GunicornServer(tmp_path)
    env = {k: v for k, v in server.env.items() if k != "SECRET_KEY"}
    env["APP_ENV"] = "production"
    result = subprocess.run([GUNICORN, "-c", "gunicorn.conf.py", "--no-control-socket", "wsgi:app"], cwd=REPO_ROOT,
                            env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Worker failed to boot" not in result.stderr
    assert [line for line in result.stderr.splitlines() if "SECRET_KEY" in line] == [
        "configuration error: SECRET_KEY must be set for APP_ENV=production "
        "(e.g. SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))'))"]


@pytest.mark.parametrize("uri, database", [
    ("mongodb://db:27017/drive_a", "drive_a"),
    ("mongodb://u:p%2Fq@db1,db2/drive_b?replicaSet=rs0", "drive_b"),
    ("mongodb://db:27017/?authSource=admin", "clouddrive"),
    ("mongodb://db:27017", "clouddrive"),
])
def test_login_counters_live_in_the_apps_own_mongodb_database(uri, database):
    """Not in limits' shared "limits" database, where two drives on one MongoDB server would
    count each other's failed logins for the same username."""
    options = load_config({"APP_ENV": "development", "MONGO_URI": uri})["RATELIMIT_STORAGE_OPTIONS"]
    assert options["database_name"] == database
    assert options["counter_collection_name"] == "ratelimit_counters"

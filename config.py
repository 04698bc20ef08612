"""Configuration profiles, read from environment variables when the app is created.

Nothing here reads the environment at import time: ``load_config`` does, so tests and
the factory decide when.  Every variable is listed in the README's configuration table.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
from datetime import timedelta
from typing import Any, Mapping

GIB = 1024**3
# Binary units, as disks and `ls -h` count: 1K = 1024 bytes, 1G = 1 GiB.
_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"(\d+)(?:(\.\d+)?\s*([KMGT])(?:I?B)?|\s*B)?", re.IGNORECASE)


class ConfigError(RuntimeError):
    """A setting the server cannot start with; its message is one line naming the variable."""


def parse_size(raw: str) -> int:
    """Bytes from ``1073741824``, ``100K``, ``500M``, ``1.5G``, ``2T`` (binary units; ``GiB``,
    ``GB`` and ``G`` all mean 1024**3). Raises ValueError for anything else."""
    match = _SIZE.fullmatch(raw.strip())
    if match is None:
        raise ValueError(raw)
    whole, fraction, unit = match.groups()
    return int(float(whole + (fraction or "")) * _SIZE_UNITS[(unit or "").upper()])


def _database_name(uri: str, default: str) -> str:
    """The database a MongoDB URI names (``mongodb://host/<name>?...``), else ``default``: the
    one the app's own client uses (MongoClient.get_default_database)."""
    rest = uri.split("://", 1)[-1].split("?", 1)[0]
    name = rest.split("/", 1)[1] if "/" in rest else ""
    return name or default


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _size(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse_size(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a size in bytes, optionally with a binary unit "
                          f"(e.g. 1073741824, 500M, 1.5G; 1G = 1 GiB), got {raw!r}") from None


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _choice(environ: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = (environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {environ[name]!r}")
    return raw


def _refuse_removed_engine(environ: Mapping[str, str]) -> None:
    """EMBEDDED_ENGINE chose between SQLite and litemongo until the release that removed
    litemongo; SQLite is now the only embedded engine, so the variable may only say that."""
    raw = (environ.get("EMBEDDED_ENGINE") or "").strip()
    if raw and raw.lower() != "sqlite":
        raise ConfigError(f"EMBEDDED_ENGINE={raw!r} is no longer supported: the litemongo engine was removed in "
                          "this release and its data is migrated to SQLite automatically at start-up; "
                          "unset EMBEDDED_ENGINE")


# The storage backends app.storage.BACKENDS registers (S3 comes with its own settings).
STORAGE_BACKENDS = ("local", "s3")
# What STORAGE_BACKEND=s3 cannot start without (S3_ENDPOINT_URL unset means AWS itself).
S3_REQUIRED = ("S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")


def _storage_backend(environ: Mapping[str, str], default: str) -> str:
    raw = (environ.get("STORAGE_BACKEND") or "").strip()
    if not raw:
        return default
    if raw.lower() not in STORAGE_BACKENDS:
        raise ConfigError(f"STORAGE_BACKEND must be one of {', '.join(STORAGE_BACKENDS)}, got {raw!r}")
    return raw.lower()


def _s3_settings(environ: Mapping[str, str], settings: dict[str, Any]) -> None:
    """S3_* from the environment; with STORAGE_BACKEND=s3, the bucket and keys are required."""
    for name in ("S3_ENDPOINT_URL", "S3_BUCKET", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "S3_PREFIX"):
        if (environ.get(name) or "").strip():
            settings[name] = environ[name].strip()
    settings["S3_PRESIGNED_DOWNLOADS"] = _bool(environ, "S3_PRESIGNED_DOWNLOADS", settings["S3_PRESIGNED_DOWNLOADS"])
    if settings["STORAGE_BACKEND"] != "s3":
        return
    for name in S3_REQUIRED:
        if not settings[name]:
            raise ConfigError(f"{name} must be set when STORAGE_BACKEND=s3")
    prefix = settings["S3_PREFIX"].strip("/")
    settings["S3_PREFIX"] = prefix + "/" if prefix else ""


def _key_bytes(raw: bytes, name: str) -> bytes:
    """32 bytes from hex (64 digits) or base64 text, or a file of exactly 32 raw bytes."""
    if len(raw) == 32:
        return raw
    text = raw.strip()
    try:
        key = bytes.fromhex(text.decode("ascii")) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        key = b""
    if len(key) != 32:
        # The value is never echoed: it may be a real key with one character wrong.
        raise ConfigError(f"{name} must hold a 32-byte key as 64 hex digits or base64 "
                          f"(make one with: openssl rand -base64 32)")
    return key


def _encryption_key(environ: Mapping[str, str]) -> bytes | None:
    """The master key of encryption at rest: ENCRYPTION_KEY, or the file ENCRYPTION_KEY_FILE names."""
    raw, path = environ.get("ENCRYPTION_KEY", "").strip(), environ.get("ENCRYPTION_KEY_FILE", "").strip()
    if raw and path:
        raise ConfigError("set ENCRYPTION_KEY or ENCRYPTION_KEY_FILE, not both")
    if raw:
        return _key_bytes(raw.encode(), "ENCRYPTION_KEY")
    return read_key_file(path, "ENCRYPTION_KEY_FILE") if path else None


def read_key_file(path: str, name: str) -> bytes:
    """A 32-byte key from a file (hex, base64 or raw); ConfigError naming ``name`` otherwise."""
    try:
        with open(path, "rb") as file:
            return _key_bytes(file.read(4096), name)
    except OSError as exc:
        raise ConfigError(f"{name} cannot be read: {exc.strerror} ({path})") from None


def _mail_settings(environ: Mapping[str, str], settings: dict[str, Any]) -> None:
    settings["SMTP_SECURITY"] = _choice(environ, "SMTP_SECURITY", settings["SMTP_SECURITY"], ("starttls", "ssl", "none"))
    if settings["PUBLIC_URL"]:
        url = settings["PUBLIC_URL"].rstrip("/")
        if not url.startswith(("https://", "http://")) or any(c in url for c in "#?\\ \"<>"):
            raise ConfigError(f"PUBLIC_URL must be an http(s) address such as https://drive.example.com, got {url!r}")
        settings["PUBLIC_URL"] = url
    if settings["SMTP_HOST"]:
        for name in ("SMTP_FROM", "PUBLIC_URL"):
            if not settings[name]:
                raise ConfigError(f"{name} must be set when SMTP_HOST is (see the README's email settings)")


class Config:
    """Defaults safe for a laptop; every value can be overridden from the environment."""

    ENV_NAME = "development"
    TESTING = False
    # Generated once into the instance folder when not set (see app.security.ensure_secret_key).
    SECRET_KEY: str | None = None
    SECRET_KEY_REQUIRED = False

    MONGO_URI: str | None = None
    MONGO_DB_NAME = "clouddrive"
    MONGO_TIMEOUT_MS = 1000
    INSTANCE_PATH: str | None = None  # default: ./instance next to app/
    EMBEDDED_DB_PATH: str | None = None  # default: <instance>/data
    # Tests put a mongomock client factory here; None means "decide from MONGO_URI".
    MONGO_CLIENT_FACTORY = None

    STORAGE_BACKEND = "local"  # where file bytes live: one of STORAGE_BACKENDS
    UPLOAD_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "uploads")
    # STORAGE_BACKEND=s3: objects <S3_PREFIX><user id>/<key> in S3_BUCKET (see app/storage/s3.py)
    S3_ENDPOINT_URL: str | None = None  # unset: AWS S3 itself
    S3_BUCKET: str | None = None
    S3_REGION = "us-east-1"
    S3_ACCESS_KEY_ID: str | None = None
    S3_SECRET_ACCESS_KEY: str | None = None
    S3_PREFIX = ""
    # An owner's plain download may redirect to a short-lived presigned URL (README: the trade-off).
    S3_PRESIGNED_DOWNLOADS = False
    # Encryption at rest (app/storage/encrypted.py): the 32-byte master key, None = off.
    ENCRYPTION_KEY: bytes | None = None
    # Serve blobs stored in plaintext before encryption was on (off once `flask encrypt-existing` ran).
    ENCRYPTION_SERVE_PLAINTEXT = True
    MAX_CONTENT_LENGTH = GIB
    USER_QUOTA_BYTES = 10 * GIB
    MAX_VERSIONS_PER_FILE = 10
    TRASH_RETENTION_DAYS = 30
    # Thumbnails (app/thumbnails): images larger than this many pixels are refused undecoded
    # (Pillow's own default bomb limit); images and PDFs larger than the byte limit are refused
    # unread, and no more than it is read of a video; at most THUMBNAIL_CONCURRENCY renders at
    # once per worker process.
    THUMBNAIL_MAX_PIXELS = 89_478_485
    THUMBNAIL_MAX_SOURCE_BYTES = 128 * 1024 * 1024
    THUMBNAIL_CONCURRENCY = 2
    TUS_EXPIRY_HOURS = 24  # an unfinished resumable upload idle this long is swept (app/uploads)
    # WebDAV at /dav/<username>/ (app/dav); a successful Basic password check is remembered this long.
    WEBDAV_ENABLED = True
    WEBDAV_AUTH_CACHE_SECONDS = 60
    # Werkzeug's own multipart limits, kept on purpose (non-file fields and part count).
    MAX_FORM_MEMORY_SIZE = 500 * 1024
    MAX_FORM_PARTS = 1000

    SESSION_COOKIE_NAME = "session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    SESSION_LIFETIME_DAYS = 14
    # A login without "remember me" lasts this long on the server (its cookie ends with the browser).
    SESSION_UNREMEMBERED_HOURS = 12
    # Creating an API token needs a login (password, and code with two-factor login) this recent.
    TOKEN_CREATION_LOGIN_MINUTES = 15
    # The audit log (app/audit): written in batches this often (0: each event at once), kept this long.
    AUDIT_ENABLED = True
    AUDIT_FLUSH_SECONDS = 1.0
    AUDIT_RETENTION_DAYS = 90
    # Who may register: open (anyone), invite (with an administrator's invitation), closed.
    REGISTRATION = "open"
    # The first administrator, made (or promoted) at start-up for unattended installs.
    ADMIN_USERNAME: str | None = None
    ADMIN_PASSWORD: str | None = None
    # Email (app/mail): unset SMTP_HOST sends none, and an administrator resets forgotten passwords.
    SMTP_HOST: str | None = None
    SMTP_PORT = 587
    SMTP_SECURITY = "starttls"  # starttls, ssl (implicit TLS, usually port 465) or none (a local relay)
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_FROM: str | None = None  # required with SMTP_HOST, e.g. "Drive <drive@example.com>"
    SMTP_TIMEOUT_SECONDS = 10
    # The address people reach the drive at, e.g. https://drive.example.com: links in emails are
    # made from it (never from a request's Host header, which a client chooses). Required with SMTP_HOST.
    PUBLIC_URL: str | None = None
    PASSWORD_RESET_MINUTES = 60
    EMAIL_VERIFY_HOURS = 48
    # Emails one client address, one recipient address or one account can cause (each limit on its own).
    EMAIL_RATE_LIMIT = "5 per hour"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    LOGIN_RATE_LIMIT = "10 per minute"
    LOGIN_IP_RATE_LIMIT = "60 per minute"
    # Wrong two-factor codes per account, whatever the address (a password thief with many addresses).
    TWO_FACTOR_RATE_LIMIT = "20 per hour"
    SHARE_PASSWORD_RATE_LIMIT = "10 per minute"
    # Upload requests to upload-only links ("file drops") per client address (one may carry many files).
    LINK_UPLOAD_RATE_LIMIT = "200 per hour"
    REGISTER_RATE_LIMIT = "20 per hour"
    # Unset: MONGO_URI when set, else a SQLite file beside the embedded database (shared by
    # every worker; app.extensions.default_storage_uri). memory:// counts per process.
    RATELIMIT_STORAGE_URI: str | None = None
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = True

    TRUST_PROXY_HOPS = 0
    # Prometheus metrics at /metrics (app/metrics): off unless asked; read with METRICS_TOKEN
    # as a Bearer token, or without a token from the server itself only.
    METRICS_ENABLED = False
    METRICS_TOKEN: str | None = None
    LOG_LEVEL = "INFO"
    # /apidocs (Swagger UI) and /apispec.json; off in production (see ProductionConfig).
    API_DOCS_ENABLED = True
    PAGE_SIZE_DEFAULT = 50
    PAGE_SIZE_MAX = 200
    # Files and folders one ZIP download may hold (a folder's, a selection's, a share link's);
    # more is refused with 413 zip_too_large before a byte is sent. 0 = no limit.
    ZIP_MAX_ENTRIES = 10_000

    @classmethod
    def load(cls, environ: Mapping[str, str]) -> dict[str, Any]:
        """Return this profile's settings with environment overrides applied."""
        settings = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
        strings = ("SECRET_KEY", "INSTANCE_PATH", "MONGO_URI", "MONGO_DB_NAME", "EMBEDDED_DB_PATH",
                   "UPLOAD_FOLDER", "LOGIN_RATE_LIMIT", "LOGIN_IP_RATE_LIMIT", "SHARE_PASSWORD_RATE_LIMIT",
                   "REGISTER_RATE_LIMIT", "ADMIN_USERNAME", "ADMIN_PASSWORD", "TWO_FACTOR_RATE_LIMIT",
                   "RATELIMIT_STORAGE_URI", "LOG_LEVEL", "SMTP_HOST", "SMTP_USERNAME", "SMTP_PASSWORD",
                   "SMTP_FROM", "PUBLIC_URL", "EMAIL_RATE_LIMIT", "METRICS_TOKEN", "LINK_UPLOAD_RATE_LIMIT")
        for name in strings:
            if environ.get(name):
                settings[name] = environ[name]
        _refuse_removed_engine(environ)
        settings["STORAGE_BACKEND"] = _storage_backend(environ, settings["STORAGE_BACKEND"])
        _s3_settings(environ, settings)
        settings["ENCRYPTION_KEY"] = _encryption_key(environ) or settings["ENCRYPTION_KEY"]
        settings["ENCRYPTION_SERVE_PLAINTEXT"] = _bool(environ, "ENCRYPTION_SERVE_PLAINTEXT",
                                                       settings["ENCRYPTION_SERVE_PLAINTEXT"])
        for name in ("MAX_CONTENT_LENGTH", "USER_QUOTA_BYTES", "THUMBNAIL_MAX_SOURCE_BYTES"):
            settings[name] = _size(environ, name, settings[name])
        for name in ("MONGO_TIMEOUT_MS", "SESSION_LIFETIME_DAYS", "TRUST_PROXY_HOPS", "PAGE_SIZE_MAX",
                     "MAX_VERSIONS_PER_FILE", "TRASH_RETENTION_DAYS", "TUS_EXPIRY_HOURS", "WEBDAV_AUTH_CACHE_SECONDS",
                     "SESSION_UNREMEMBERED_HOURS", "TOKEN_CREATION_LOGIN_MINUTES", "AUDIT_RETENTION_DAYS",
                     "SMTP_PORT", "SMTP_TIMEOUT_SECONDS", "PASSWORD_RESET_MINUTES", "EMAIL_VERIFY_HOURS",
                     "THUMBNAIL_MAX_PIXELS", "THUMBNAIL_CONCURRENCY"):
            settings[name] = _int(environ, name, settings[name])
        settings["SESSION_COOKIE_SECURE"] = _bool(
            environ, "SESSION_COOKIE_SECURE", settings["SESSION_COOKIE_SECURE"])
        settings["REMEMBER_COOKIE_SECURE"] = settings["SESSION_COOKIE_SECURE"]
        settings["API_DOCS_ENABLED"] = _bool(environ, "API_DOCS_ENABLED", settings["API_DOCS_ENABLED"])
        settings["WEBDAV_ENABLED"] = _bool(environ, "WEBDAV_ENABLED", settings["WEBDAV_ENABLED"])
        settings["AUDIT_ENABLED"] = _bool(environ, "AUDIT_ENABLED", settings["AUDIT_ENABLED"])
        settings["METRICS_ENABLED"] = _bool(environ, "METRICS_ENABLED", settings["METRICS_ENABLED"])
        settings["ZIP_MAX_ENTRIES"] = _int(environ, "ZIP_MAX_ENTRIES", settings["ZIP_MAX_ENTRIES"])
        if environ.get("AUDIT_FLUSH_SECONDS", "").strip():
            try:
                settings["AUDIT_FLUSH_SECONDS"] = float(environ["AUDIT_FLUSH_SECONDS"])
            except ValueError:
                raise ConfigError(f"AUDIT_FLUSH_SECONDS must be a number of seconds, got {environ['AUDIT_FLUSH_SECONDS']!r}") from None
        settings["REGISTRATION"] = _choice(environ, "REGISTRATION", settings["REGISTRATION"], ("open", "invite", "closed"))
        _mail_settings(environ, settings)
        settings["PERMANENT_SESSION_LIFETIME"] = timedelta(days=settings["SESSION_LIFETIME_DAYS"])
        # Several Gunicorn workers against MongoDB must share login counters.
        if settings["MONGO_URI"] and not environ.get("RATELIMIT_STORAGE_URI"):
            settings["RATELIMIT_STORAGE_URI"] = settings["MONGO_URI"]
        if (settings["RATELIMIT_STORAGE_URI"] or "").startswith(("mongodb:", "mongodb+srv:")):
            # pymongo waits 30 s for a server by default: a stopped database would hold logins that long.
            timeout = settings["MONGO_TIMEOUT_MS"]
            settings["RATELIMIT_STORAGE_OPTIONS"] = {
                "serverSelectionTimeoutMS": timeout, "connectTimeoutMS": timeout,
                # limits keeps its counters in a database called "limits" unless told otherwise:
                # two drives on one MongoDB server would count each other's failed logins.
                "database_name": _database_name(settings["RATELIMIT_STORAGE_URI"], settings["MONGO_DB_NAME"]),
                "counter_collection_name": "ratelimit_counters",
                "window_collection_name": "ratelimit_windows",
            }
        return settings


class DevelopmentConfig(Config):
    ENV_NAME = "development"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SECRET_KEY_REQUIRED = True
    # A server on a network should not give storage to whoever finds it: administrators
    # invite people (REGISTRATION=open to allow anyone, closed to add accounts by hand only).
    REGISTRATION = "invite"
    SESSION_COOKIE_SECURE = True
    # A third-party front-end on the drive's own origin is attack surface a server for end
    # users does not need; operators who want the docs there set API_DOCS_ENABLED=1.
    API_DOCS_ENABLED = False


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    USER_QUOTA_BYTES = 10 * 1024 * 1024
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # ~1 ms, not scrypt's ~100 ms; other profiles: werkzeug's default
    AUDIT_FLUSH_SECONDS = 0.0  # each event written at once: tests read the log right after


PROFILES = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def load_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Pick the profile named by ``APP_ENV`` (default development) and apply overrides."""
    environ = os.environ if environ is None else environ
    name = environ.get("APP_ENV", "development")
    if name not in PROFILES:
        raise ConfigError(f"APP_ENV must be one of {sorted(PROFILES)}, got {name!r}")
    return PROFILES[name].load(environ)


# Every environment variable the server reads, named once: config.py's (above) and those of
# gunicorn.conf.py (GUNICORN_CMD_ARGS: Gunicorn's own). Tests and benchmarks start servers with
# server_environment, so nothing of these leaks from a developer's shell and a name that is not
# here fails where it is set; tests/test_environment_names.py checks the lists against what
# load_config and gunicorn.conf.py really read.
APP_VARIABLES = (
    "APP_ENV", "SECRET_KEY", "INSTANCE_PATH", "LOG_LEVEL", "API_DOCS_ENABLED", "TRUST_PROXY_HOPS",
    "MONGO_URI", "MONGO_DB_NAME", "MONGO_TIMEOUT_MS", "EMBEDDED_DB_PATH", "EMBEDDED_ENGINE",
    "STORAGE_BACKEND", "UPLOAD_FOLDER", "S3_ENDPOINT_URL", "S3_BUCKET", "S3_REGION", "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY", "S3_PREFIX", "S3_PRESIGNED_DOWNLOADS",
    "ENCRYPTION_KEY", "ENCRYPTION_KEY_FILE", "ENCRYPTION_SERVE_PLAINTEXT",
    "MAX_CONTENT_LENGTH", "USER_QUOTA_BYTES", "MAX_VERSIONS_PER_FILE", "TRASH_RETENTION_DAYS", "PAGE_SIZE_MAX",
    "TUS_EXPIRY_HOURS", "WEBDAV_ENABLED", "WEBDAV_AUTH_CACHE_SECONDS",
    "THUMBNAIL_MAX_PIXELS", "THUMBNAIL_MAX_SOURCE_BYTES", "THUMBNAIL_CONCURRENCY",
    "SESSION_LIFETIME_DAYS", "SESSION_COOKIE_SECURE", "SESSION_UNREMEMBERED_HOURS", "REGISTRATION",
    "TOKEN_CREATION_LOGIN_MINUTES", "AUDIT_ENABLED", "AUDIT_FLUSH_SECONDS", "AUDIT_RETENTION_DAYS",
    "ADMIN_USERNAME", "ADMIN_PASSWORD", "SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USERNAME",
    "SMTP_PASSWORD", "SMTP_FROM", "SMTP_TIMEOUT_SECONDS", "PUBLIC_URL", "PASSWORD_RESET_MINUTES",
    "EMAIL_VERIFY_HOURS", "EMAIL_RATE_LIMIT", "METRICS_ENABLED", "METRICS_TOKEN", "LINK_UPLOAD_RATE_LIMIT",
    "LOGIN_RATE_LIMIT", "LOGIN_IP_RATE_LIMIT", "SHARE_PASSWORD_RATE_LIMIT", "REGISTER_RATE_LIMIT",
    "TWO_FACTOR_RATE_LIMIT", "RATELIMIT_STORAGE_URI", "ZIP_MAX_ENTRIES",
)
GUNICORN_VARIABLES = ("BIND", "WEB_CONCURRENCY", "GUNICORN_WORKER_CLASS", "GUNICORN_THREADS",
                      "GUNICORN_WORKER_CONNECTIONS", "GUNICORN_TIMEOUT", "GUNICORN_CMD_ARGS")
SERVER_VARIABLES = APP_VARIABLES + GUNICORN_VARIABLES


def server_settings(**settings: object) -> dict[str, str]:
    """``settings`` as environment variables (values made strings). A name the server does not
    read is a KeyError here rather than a setting silently ignored."""
    unknown = sorted(set(settings) - set(SERVER_VARIABLES))
    if unknown:
        raise KeyError(f"not a server setting: {', '.join(unknown)} (see config.SERVER_VARIABLES)")
    return {name: str(value) for name, value in settings.items()}


def server_environment(inherited: Mapping[str, str], **settings: object) -> dict[str, str]:
    """The environment to start a server with: ``inherited`` (a shell's) without any of the
    server's variables, so none leaks in, plus ``settings`` (checked by server_settings)."""
    env = {name: value for name, value in inherited.items() if name not in SERVER_VARIABLES}
    env.update(server_settings(**settings))
    return env

"""Fuzz the API against its own OpenAPI document (schemathesis, the app called in-process).

Every operation in ``/apispec.json`` is fuzzed twice, once per way of authenticating: with
a password session's cookie and with a read-write API token. Each response must not be a
5xx, and its status code, content type and body must be the ones the document declares.

The fuzzer works on a small world made first through the API: a folder with a file in it,
a file with two earlier versions, share links to both (and one with a password), a file
in the trash, a spare API token. Identifiers, usernames and passwords in path parameters,
query parameters and bodies are, part of the time, replaced by these things' (re-created
if an earlier request deleted, moved to the trash, revoked or locked them), so that
operations also run on real data, not only into 404s and 401s.

``POST /api/logout`` (and ``DELETE /api/me/sessions``) ends the fuzzer's own session; the next
request then logs in again. ``DELETE /api/me`` never gets the real password (it would delete the
fuzzer's account and world; tests/test_admin_accounts.py deletes accounts).
Each login happens from a new client address (a WSGI environ value, nothing leaves the
process): the login throttle counts per address, and the fuzzed logins with random
credentials would otherwise lock the fuzzer out of its own account.

CI runs ``FUZZ_EXAMPLES`` (default 25) generated cases per operation, derandomized, so a
run is reproducible; ``make fuzz`` runs more (see the README's Tests section).
"""
from __future__ import annotations

import io
import itertools
import os
import tempfile
from pathlib import Path
from urllib.parse import quote

import hypothesis.strategies as st
import mongomock
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import USER_AGENT
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from app import create_app
from config import TestingConfig

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))

FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,  # the same cases on every run: CI is deterministic
    database=None,  # nothing saved between runs (derandomized runs would not use it anyway)
    deadline=None,  # in-process requests on a busy 2-core CI machine: timing is not what we test
    # Only too_slow, as in Hypothesis's own "ci" profile: it times the generation of the first
    # cases (multipart bodies, nested JSON), which depends on how busy the machine is, not on
    # the API. No other health check is suppressed; none fires on these strategies.
    suppress_health_check=[HealthCheck.too_slow],
)

# tus chunks (PATCH /api/tus/<id>, POST /api/tus/ with a first chunk) are raw bytes.
schemathesis.openapi.media_type("application/offset+octet-stream", st.binary(max_size=256))

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]

USERNAME, PASSWORD = "fuzzer", "fuzz-password-123"
SHARE_PASSWORD = "link-password-123"
# Prefix of the placeholders the hooks below put in generated cases. Path parameters reach the
# hooks already percent-encoded, so it has only characters that encoding leaves alone.
KNOWN = "KNOWN_"

# Which known things may stand in for a parameter or JSON field of this name.
KNOWN_PATH = {
    "file_id": ["file", "inner_file"],
    "folder_id": ["folder", "root"],
    "item_id": ["file", "folder", "trashed"],
    "version_id": ["version"],
    "share_id": ["file_share", "folder_share"],
    "token_id": ["spare_token"],
    "token": ["file_link", "folder_link", "locked_link"],
    "filename": ["file_name"],
}
KNOWN_QUERY = {
    "folder_id": ["folder"],
    "item_id": ["file", "folder"],
    "key": ["api_key"],
}
KNOWN_BODY = {
    "item_id": ["file", "folder"],
    "parent_id": ["folder", "root"],
    "folder_id": ["folder", "root"],
    "key": ["api_key"],
    "username": ["username"],
    "password": ["account_password", "share_password"],
}


def _sometimes_known(values: dict, known: dict) -> st.SearchStrategy:
    """The generated values, each replaced by a known placeholder about half of the time."""
    if not isinstance(values, dict):
        return st.just(values)
    return st.fixed_dictionaries({
        name: st.one_of(st.just(value), st.sampled_from([KNOWN + k for k in known[name]]))
        if name in known else st.just(value)
        for name, value in values.items()
    })


def flatmap_path_parameters(context, path_parameters):
    return _sometimes_known(path_parameters, KNOWN_PATH)


def flatmap_query(context, query):
    return _sometimes_known(query, KNOWN_QUERY)


def flatmap_body(context, body):
    return _sometimes_known(body, KNOWN_BODY)


class World:
    """One user and the things the fuzzer may act on, kept alive through the API itself."""

    def __init__(self, app, auth: str):
        self.app = app
        self.auth = auth  # "cookie" or "bearer"
        self.addresses = (f"127.0.{n // 250}.{n % 250 + 2}" for n in itertools.count())
        # The world's own session, from an address of its own, for setting things up.
        self.client = app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = "127.0.255.1"
        self.counter = itertools.count(1)
        self.known = {"root": "root", "username": USERNAME, "account_password": PASSWORD,
                      "share_password": SHARE_PASSWORD}
        credentials = {"username": USERNAME, "password": PASSWORD}
        self._check(self.client.post("/api/register", json=credentials), 201)
        self._check(self.client.post("/api/login", json=credentials), 200)
        self.make_api_key()
        self.address = self.cookie = None
        self.dirty = True  # whether a request since the last repair may have changed something
        self.log_in()
        self.make_file()
        self.make_folder()
        self.make_spare_token()
        self.make_trashed()

    @staticmethod
    def _check(response, status: int) -> dict:
        assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
        return response.get_json()

    # -- the fuzzer's credentials --------------------------------------------------------------

    def log_in(self) -> None:
        """A fresh password session for the fuzzer, bound (Flask-Login's strong protection) to
        the address and User-Agent its requests come from."""
        self.address = next(self.addresses)
        client = self.app.test_client()
        client.environ_base.update(REMOTE_ADDR=self.address, HTTP_USER_AGENT=USER_AGENT)
        self._check(client.post("/api/login", json={"username": USERNAME, "password": PASSWORD}), 200)
        self.cookie = client.get_cookie("session").value

    def authenticate(self, case) -> None:
        """Replace whatever credentials the generator drew with the fuzzer's real ones."""
        case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.cookies = {k: v for k, v in (case.cookies or {}).items() if k != "session"}
        if self.auth == "cookie":
            case.cookies["session"] = self.cookie
        else:
            case.headers["Authorization"] = f"Bearer {self.known['api_key']}"

    def after(self, case, response) -> None:
        path, method = case.operation.path, case.operation.method.upper()
        if method == "DELETE" and path == "/api/me/sessions" and response.status_code == 204:
            # Log out everywhere: the world's own session ended too; it logs in again (from an
            # address of its own each time: the login throttle counts per address).
            self.client.environ_base["REMOTE_ADDR"] = next(self.addresses)
            self._check(self.client.post("/api/login", json={"username": USERNAME, "password": PASSWORD}), 200)
            self.log_in()
        elif self.auth == "cookie" and path == "/api/logout":
            self.log_in()  # the fuzzer just ended its own session

    # -- the things it acts on ---------------------------------------------------------------

    def upload(self, name: str, data: bytes, folder_id: str = "root", on_conflict: str = "fail"):
        return self.client.post(f"/api/upload?folder_id={folder_id}&on_conflict={on_conflict}",
                                data={"file": (io.BytesIO(data), name, "text/plain")},
                                content_type="multipart/form-data")

    def share(self, item_id: str, **settings) -> tuple[str, str] | None:
        response = self.client.post("/api/shares", json={"item_id": item_id, **settings})
        if response.status_code != 201:
            return None
        body = response.get_json()
        return body["share"]["id"], body["token"]

    def make_file(self) -> None:
        """A file in the root with two earlier versions, a link to it and one with a password."""
        name = f"fuzz-{next(self.counter)}.txt"
        for n in range(3):
            response = self.upload(name, f"content {n}\n".encode(), on_conflict="replace")
            if response.status_code != 201:
                return  # e.g. the fuzzer filled the quota: the old ids stay, and answer 404
        file = response.get_json()["files"][0]
        self.known.update(file=file["id"], file_name=file["name"])
        shared = self.share(file["id"])
        if shared:
            self.known["file_share"], self.known["file_link"] = shared
        shared = self.share(file["id"], password=SHARE_PASSWORD)
        if shared:
            self.known["locked_share"], self.known["locked_link"] = shared

    def make_folder(self) -> None:
        """A folder with a file in it, and a link to the folder."""
        response = self.client.post("/api/folders", json={"name": f"Fuzz {next(self.counter)}",
                                                          "on_conflict": "rename"})
        if response.status_code != 201:
            return
        folder_id = response.get_json()["id"]
        self.known["folder"] = folder_id
        response = self.upload("inner.txt", b"inside\n", folder_id=folder_id)
        if response.status_code == 201:
            self.known["inner_file"] = response.get_json()["files"][0]["id"]
        shared = self.share(folder_id)
        if shared:
            self.known["folder_share"], self.known["folder_link"] = shared

    def make_trashed(self) -> None:
        response = self.upload(f"trashed-{next(self.counter)}.txt", b"in the trash\n")
        if response.status_code == 201:
            file_id = response.get_json()["files"][0]["id"]
            if self.client.delete(f"/api/files/{file_id}").status_code == 204:
                self.known["trashed"] = file_id

    def make_api_key(self) -> None:
        response = self.client.post("/api/tokens", json={"name": "fuzzer", "scope": "read-write"})
        if response.status_code == 201:
            self.known["api_key_id"] = response.get_json()["token"]["id"]
            self.known["api_key"] = response.get_json()["secret"]

    def make_spare_token(self) -> None:
        response = self.client.post("/api/tokens", json={"name": "spare", "scope": "read"})
        if response.status_code == 201:
            self.known["spare_token"] = response.get_json()["token"]["id"]

    def _live_share(self, key: str, password: bool = False) -> bool:
        """The link exists, works, and has a password exactly when it should."""
        response = self.client.get(f"/api/shares/{self.known.get(key)}")
        return (response.status_code == 200 and response.get_json()["state"] == "active"
                and response.get_json()["has_password"] == password)

    def repair(self) -> None:
        """Re-create what earlier requests deleted, trashed, revoked or locked with a password."""
        if not self.dirty:
            return
        self.dirty = False
        c = self.client
        versions = c.get(f"/api/files/{self.known.get('file')}/versions")
        if (versions.status_code != 200 or not versions.get_json()["versions"] or not self._live_share("file_share")
                or not self._live_share("locked_share", password=True)):
            self.make_file()
            versions = c.get(f"/api/files/{self.known.get('file')}/versions")
        if versions.status_code == 200 and versions.get_json()["versions"]:
            self.known["version"] = versions.get_json()["versions"][0]["id"]
        info = c.get(f"/api/files/{self.known.get('file')}/info")
        if info.status_code == 200:
            self.known["file_name"] = info.get_json()["name"]
        inner = c.get(f"/api/files/{self.known.get('inner_file')}/info")
        if (c.get(f"/api/folders/{self.known.get('folder')}").status_code != 200 or inner.status_code != 200
                or inner.get_json()["parent_id"] != self.known.get("folder")
                or not self._live_share("folder_share")):
            self.make_folder()
        trash = c.get(f"/api/trash?limit={self.app.config['PAGE_SIZE_MAX']}").get_json()["items"]
        if self.known.get("trashed") not in {item["id"] for item in trash}:
            self.make_trashed()
        tokens = {t["id"] for t in c.get("/api/tokens").get_json()["tokens"]}
        if self.known.get("api_key_id") not in tokens:
            self.make_api_key()
        if self.known.get("spare_token") not in tokens:
            self.make_spare_token()

    @staticmethod
    def place_known(case) -> None:
        """The fuzzing phase draws placeholders through the hooks above. The coverage and
        examples phases do not use hooks: there, path and query parameters that can be known
        get the first known value, except the one parameter a coverage case is about."""
        meta = case.meta
        if meta is None or meta.phase.name.value == "fuzzing":
            return
        target = (getattr(meta.phase.data, "parameter", None), getattr(meta.phase.data, "parameter_location", None))
        for container, known, location in ((case.path_parameters, KNOWN_PATH, "path"),
                                           (case.query, KNOWN_QUERY, "query")):
            if isinstance(container, dict):
                for name in container:
                    if name in known and (name, location) != (target[0], getattr(target[1], "value", None)):
                        container[name] = KNOWN + known[name][0]

    def resolve(self, case) -> None:
        """Put the current ids in place of the placeholders."""
        self.place_known(case)
        containers = [(case.path_parameters, True), (case.query, False), (case.body, False)]
        if not any(isinstance(c, dict) and any(isinstance(v, str) and v.startswith(KNOWN) for v in c.values())
                   for c, _ in containers):
            return
        self.repair()
        for container, in_path in containers:
            if isinstance(container, dict):
                for name, value in container.items():
                    if isinstance(value, str) and value.startswith(KNOWN):
                        if (case.method.upper(), case.operation.path, value) == ("DELETE", "/api/me",
                                                                                 KNOWN + "account_password"):
                            value = KNOWN + "share_password"  # see the module's docstring
                        value = self.known.get(value[len(KNOWN):], "missing")
                        # Generated path parameters are percent-encoded already.
                        container[name] = quote(value, safe="") if in_path else value

    def run(self, case) -> None:
        self.resolve(case)
        self.authenticate(case)
        # Reads change nothing, except that a public link's downloads count toward its limit.
        if case.method.upper() not in ("GET", "HEAD", "OPTIONS") or case.operation.path.startswith("/s/"):
            self.dirty = True
        # buffered: the test client reads and closes the body (a download's open file) itself.
        response = case.call_and_validate(checks=CHECKS, app=self.app, buffered=True,
                                          environ_base={"REMOTE_ADDR": self.address})
        self.after(case, response)


def _load_schema():
    """The OpenAPI document, read once from an app of its own (the document does not depend on
    data); each test function then sends its requests to its own app (``World.run``)."""
    with tempfile.TemporaryDirectory() as tmp:
        schema = schemathesis.openapi.from_wsgi("/apispec.json", _make_app(Path(tmp)))
    for hook in (flatmap_path_parameters, flatmap_query, flatmap_body):
        schema.hook(hook)
    return schema


def _make_app(tmp: Path):
    config = TestingConfig.load({})
    config.update(MONGO_CLIENT_FACTORY=lambda: mongomock.MongoClient(tz_aware=True),
                  UPLOAD_FOLDER=str(tmp / "uploads"), INSTANCE_PATH=str(tmp / "instance"))
    return create_app(config)


schema = _load_schema()


@pytest.fixture(scope="module")
def cookie_world(tmp_path_factory):
    return World(_make_app(tmp_path_factory.mktemp("fuzz-cookie")), "cookie")


@pytest.fixture(scope="module")
def bearer_world(tmp_path_factory):
    return World(_make_app(tmp_path_factory.mktemp("fuzz-bearer")), "bearer")


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_with_session_cookie(case, cookie_world):
    cookie_world.run(case)


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_with_bearer_token(case, bearer_world):
    bearer_world.run(case)

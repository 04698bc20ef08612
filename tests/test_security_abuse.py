"""Request abuse, in process: thousands of multipart parts, malformed JSON, and every JSON field of
every JSON route (found in /apispec.json) given the wrong type. Always a 4xx JSON error, never
a 500, and nothing left on disk. (Huge headers and bodies go to a live server in
test_security_live_limits.py.)"""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone

import pytest
from bson import ObjectId

from tests.conftest import multipart_body, upload
from tests.test_security_isolation import PASSWORD, closed, signup

PARTS_OVER_LIMIT = 1500  # MAX_FORM_PARTS is 1000
WRONG_VALUES = [0, -1, 1.5, 2**64, [], ["x"], {}, {"$ne": None}, {"$gt": ""}, None, True, False,
                "x" * 100_000, "\x00", "\ud800"]
MALFORMED_BODIES = [b'{"name":', b"{", b"[]", b'"text"', b"null", b"42", b"\xff\xfe{}", b'{"a": 1}{"b": 2}',
                    b'{"name": "x",}', b"[" * 100_000, b'{"a":' * 50_000, b'{"name": "\\ud800"}',
                    b'{"name": NaN, "label": Infinity}']
PATH_PARAMETER = re.compile(r"\{([^}]+)\}")


def error_code(response):
    body = response.get_json(silent=True)
    return body.get("error", {}).get("code") if isinstance(body, dict) else None


def stray_files(app) -> list[str]:
    """Files under uploads/ that are not committed blobs (staging debris, incoming parts)."""
    found = []
    for directory, _, files in os.walk(app.config["UPLOAD_FOLDER"]):
        found += [os.path.join(directory, f) for f in files if not re.fullmatch(r"[0-9a-f]{32}", f)
                  or os.path.basename(directory) == ".incoming"]
    return found


@pytest.fixture
def alice(app):
    """A user with a folder, a file, a password-protected link and a key; limits raised so
    that hundreds of bad logins and unlocks reach the code that checks them."""
    app.config.update(LOGIN_RATE_LIMIT="10000 per minute", LOGIN_IP_RATE_LIMIT="10000 per minute",
                      SHARE_PASSWORD_RATE_LIMIT="10000 per minute")
    person = signup(app, "alice")
    c = person.client
    folder = c.post("/api/folders", json={"name": "Folder"}).get_json()["id"]
    record = upload(c, ("file.txt", b"bytes", "text/plain")).get_json()["files"][0]
    link = c.post("/api/shares", json={"item_id": record["id"], "password": "link password"}).get_json()
    signup(app, "bob")  # someone to share with: the members routes' bodies reach their checks
    person.ids = {"file_id": record["id"], "folder_id": folder, "share_id": link["share"]["id"], "item_id": folder,
                  "username": "bob",
                  "token": link["token"], "user_id": person.id, "invite_id": str(ObjectId()),
                  "session_id": c.get("/api/me/sessions").get_json()["sessions"][0]["id"]}
    person.token_secret = c.post("/api/tokens", json={"name": "k", "scope": "read-write"}).get_json()["secret"]
    # An administrator, so the bodies of /api/admin routes reach their parsers too (her own
    # account cannot be disabled, demoted or deleted through them: those answer 409).
    app.extensions["drive_services"].auth.users.update(person.id, {"role": "admin"})
    return person


# -- multipart with too many parts -----------------------------------------------------------------

def many_parts(count: int, files: bool):
    if files:
        return multipart_body([("file", f"f{i}.txt", b"x", "text/plain") for i in range(count)])
    boundary = "----many-fields-boundary"
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nv\r\n'.encode()
                    for i in range(count)) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_thousands_of_multipart_parts_are_refused_with_json_and_leave_nothing(app, alice):
    targets = ["/api/upload", f"/upload?key={alice.token_secret}", "/api/login", "/api/register",
               f"/s/{alice.ids['token']}/unlock", "/api/folders", f"/api/files/{alice.ids['file_id']}/copy"]
    failures = []
    for path in targets:
        for files in (True, False):
            body, ctype = many_parts(PARTS_OVER_LIMIT, files)
            response = closed(alice.client.post(path, data=body, content_type=ctype))
            if response.status_code not in (400, 413) or not error_code(response):
                failures.append(f"{path} ({'files' if files else 'fields'}): {response.status_code} "
                                f"{response.get_data()[:120]!r}")
    assert not failures, "\n".join(failures)
    assert stray_files(app) == []
    assert alice.client.get("/api/files").get_json()["total"] == 1


# -- the JSON routes, from the OpenAPI document ------------------------------------------------------

def json_operations(client):
    """(method, path template, schema, body required) for every operation with a JSON body."""
    spec = client.get("/apispec.json").get_json()

    def resolve(schema):
        while "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return schema
    for path, operations in sorted(spec["paths"].items()):
        for method, operation in sorted(operations.items()):
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                schema = resolve(content["application/json"]["schema"])
                yield method.upper(), path, schema, operation["requestBody"].get("required", False)


def fill_path(template: str, ids: dict) -> str:
    missing = [name for name in PATH_PARAMETER.findall(template) if name not in ids]
    assert not missing, f"{template}: no value for {missing}; add one to the alice fixture"
    return PATH_PARAMETER.sub(lambda m: ids[m.group(1)], template)


def test_every_json_route_answers_malformed_json_with_a_4xx_json_error(app, alice):
    operations = list(json_operations(alice.client))
    assert len(operations) >= 9
    failures = []
    for method, template, _, required in operations:
        path = fill_path(template, alice.ids)
        for body in MALFORMED_BODIES:
            response = closed(alice.client.open(path, method=method, data=body, content_type="application/json"))
            if not 400 <= response.status_code < 500 or not error_code(response):
                failures.append(f"{method} {template} {body[:30]!r}: {response.status_code} "
                                f"{response.get_data()[:100]!r}")
        if required:
            response = closed(alice.client.open(path, method=method, data=b'{"name": "x"}', content_type="text/plain"))
            if response.status_code != 400 or error_code(response) not in ("invalid_content_type", "missing_file"):
                failures.append(f"{method} {template} as text/plain: {response.status_code} {error_code(response)}")
    assert not failures, "\n".join(failures)


def future():
    return (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()


# Valid values for required fields (and for the base of each probe), by field name.
VALID = {"name": "ok name", "username": "alice", "password": PASSWORD, "scope": "read", "parent_id": "root",
         "on_conflict": "rename", "label": "a label", "expires_at": None, "max_downloads": 5,
         "confirm": "alice", "current_password": PASSWORD, "new_password": PASSWORD, "code": "123456",
         "email": "alice@example.org", "token": "cdm_not-a-link", "action": "star"}


def matches_type(value, schema: dict) -> bool:
    if value is None:
        return schema.get("nullable", False)
    expected = schema.get("type")
    if expected == "string":
        ok = isinstance(value, str)
        if ok and "maxLength" in schema:
            ok = len(value) <= schema["maxLength"]
        if ok and "enum" in schema:
            ok = value in schema["enum"]
        return ok
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool) and value >= schema.get("minimum", -2**63)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "array":
        return isinstance(value, list)
    if expected == "object":
        return isinstance(value, dict)
    return True


def test_wrong_types_in_every_json_field_are_4xx_never_500(app, alice):
    failures, probes = [], 0
    for method, template, schema, _ in json_operations(alice.client):
        path = fill_path(template, alice.ids)
        required = set(schema.get("required", []))
        properties = schema.get("properties", {})
        assert properties, f"{method} {template}: a JSON body without documented properties"
        base = {name: (alice.ids["file_id"] if name == "item_id" else [alice.ids["file_id"]] if name == "ids"
                   else VALID[name]) for name in required}
        for field, field_schema in properties.items():
            for value in WRONG_VALUES:
                body = {**base, field: value}
                response = closed(alice.client.open(path, method=method, json=body))
                probes += 1
                wrong = not matches_type(value, field_schema) and not (value is None and field not in required)
                label = (f"{method} {template} {field}={str(value)[:20]!r}: "
                         f"{response.status_code} {error_code(response)}")
                if response.status_code >= 500 or not (response.is_json or response.status_code == 204):
                    failures.append(label)  # (a 204 has no body: a right-typed probe can succeed)
                elif wrong and not (400 <= response.status_code < 500 and error_code(response)):
                    failures.append(label + " (accepted a wrong type)")
    assert not failures, "\n".join(failures)
    assert probes > 300
    assert stray_files(app) == []


def test_oversized_form_fields_are_413_json(app, alice):
    """Form bodies (login, unlock) are read into memory: one huge field is refused."""
    big = {"username": "alice", "password": "x" * 600_000}
    for path in ("/api/login", f"/s/{alice.ids['token']}/unlock"):
        response = app.test_client().post(path, data=big)
        assert response.status_code == 413 and error_code(response) == "payload_too_large", path

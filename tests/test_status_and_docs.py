import re
from functools import reduce
from pathlib import Path

import pytest
from pymongo.errors import ServerSelectionTimeoutError

import app as app_module
from app import create_app
from app.db import Database
from config import load_config
from tests.conftest import TEST_DB, mongo_only


def test_status_needs_no_login_and_reports_the_database(client):
    response = client.get("/api/status")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == {"kind": TEST_DB, "reachable": True}
    assert body["version"] and body["uptime_s"] >= 0


@mongo_only
def test_status_is_503_when_the_database_is_down(client, monkeypatch):
    def down(self):
        raise ServerSelectionTimeoutError("no servers")
    monkeypatch.setattr(Database, "ping", down)
    response = client.get("/api/status")
    assert response.status_code == 503
    assert response.get_json()["database"]["reachable"] is False


def test_requests_fail_closed_with_503_when_the_database_is_down(app, client, auth, monkeypatch):
    auth.signup()
    sessions = app.extensions["drive_services"].auth.sessions

    def down(token_hash):
        raise ServerSelectionTimeoutError("no servers")
    monkeypatch.setattr(sessions, "get", down)
    response = client.get("/api/files")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "database_unavailable"


def test_unknown_routes_and_methods_answer_json(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.put("/api/files")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_every_route_is_in_the_openapi_spec(app, client):
    spec = client.get("/apispec.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith(("flasgger.", "docs.")):
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} is not documented"


def test_spec_declares_cookie_and_token_auth_and_error_schema(client):
    spec = client.get("/apispec.json").get_json()
    schemes = spec["components"]["securitySchemes"]
    assert (schemes["cookieAuth"]["in"], schemes["cookieAuth"]["name"]) == ("cookie", "session")
    assert (schemes["bearerAuth"]["type"], schemes["bearerAuth"]["scheme"]) == ("http", "bearer")
    assert "Error" in spec["components"]["schemas"]
    assert spec["paths"]["/api/files"]["get"]["security"] == [{"cookieAuth": []}, {"bearerAuth": []}]
    assert spec["paths"]["/api/tokens"]["post"]["security"] == [{"cookieAuth": []}]


@pytest.mark.parametrize("path", ["/apidocs/", "/apidocs"])
def test_api_docs_page_runs_the_vendored_swagger_ui_under_a_strict_csp(client, path):
    response = client.get(path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<script src="/static/swagger-ui/swagger-ui-bundle.js"' in page
    assert "/flasgger_static/" not in page and "<script>" not in page
    assert re.search(r"https?://", page) is None  # nothing from another origin
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_vendored_swagger_ui_is_a_current_5x(client):
    version = (Path(app_module.__file__).parent / "static" / "swagger-ui" / "VERSION").read_text().strip()
    assert int(version.split(".")[0]) >= 5
    with client.get("/static/swagger-ui/swagger-ui-bundle.js") as bundle:
        assert bundle.status_code == 200
    assert client.get("/flasgger_static/swagger-ui-bundle.js").status_code == 404


def test_api_docs_enabled_is_on_in_development_and_off_in_production():
    assert load_config({"APP_ENV": "development"})["API_DOCS_ENABLED"] is True
    assert load_config({"APP_ENV": "production"})["API_DOCS_ENABLED"] is False
    assert load_config({"APP_ENV": "production", "API_DOCS_ENABLED": "1"})["API_DOCS_ENABLED"] is True


@pytest.mark.parametrize("path", ["/apidocs/", "/apidocs", "/apispec.json"])
def test_api_docs_disabled_answers_404_json(app, path):
    client = create_app({**app.config, "API_DOCS_ENABLED": False}).test_client()
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def _resolve(spec, node):
    while "$ref" in node:
        node = reduce(lambda obj, key: obj[key], node["$ref"].lstrip("#/").split("/"), spec)
    return node


def _operations(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def test_download_try_it_out_fetches_the_whole_file(client):
    """No pre-filled Range: Swagger UI would send it and get 206 with the first KiB."""
    spec = client.get("/apispec.json").get_json()
    for parameter in spec["paths"]["/api/files/{file_id}"]["get"]["parameters"]:
        parameter = _resolve(spec, parameter)
        assert not {"example", "examples"} & set(parameter), parameter
        assert "default" not in parameter.get("schema", {}), parameter


# The codes the app answers with, by status (app/errors.py and the services' raise sites).
CODES_BY_STATUS = {
    400: {"bad_request", "invalid_input", "malformed_json", "invalid_name", "invalid_query", "missing_file",
          "invalid_content_type", "empty_file_part", "too_many_files", "invalid_credentials_format", "invalid_email",
          "invalid_link"},
    401: {"unauthorized", "invalid_credentials", "invalid_api_key", "password_required", "wrong_password",
          "two_factor_required", "invalid_code"},
    403: {"forbidden", "insufficient_scope", "session_required", "cross_site_request", "account_disabled",
          "reauthentication_required",
          "registration_closed", "invite_required", "invite_invalid", "read_only", "owner_only", "outside_share"},
    404: {"not_found", "file_not_found", "folder_not_found", "item_not_found", "version_not_found",
          "share_not_found", "token_not_found", "upload_not_found", "user_not_found", "session_not_found",
          "invite_not_found"},
    409: {"conflict", "name_conflict", "move_into_descendant", "username_taken", "offset_mismatch", "email_taken",
          "email_unavailable", "link_full", "already_member"},
    412: {"unsupported_tus_version", "precondition_failed"},
    423: {"upload_locked"},
    460: {"checksum_mismatch"},
    501: {"resumable_unavailable"},
    413: {"payload_too_large", "zip_too_large"},
    415: {"preview_unavailable", "thumbnail_unavailable", "unsupported_media_type"},
    429: {"too_many_requests"},
    503: {"database_unavailable", "try_again"},
    507: {"quota_exceeded", "storage_full"},
}


def test_every_documented_error_example_carries_a_code_of_its_status(client):
    spec = client.get("/apispec.json").get_json()
    checked = 0
    for operation_name, operation in _operations(spec):
        for status, response in operation["responses"].items():
            media = _resolve(spec, response).get("content", {}).get("application/json")
            if int(status) < 400 or media is None or media["schema"] != {"$ref": "#/components/schemas/Error"}:
                continue
            examples = [e["value"] for e in media.get("examples", {}).values()]
            assert examples, f"{operation_name} {status}: no example, Swagger UI would make one up"
            for example in examples:
                assert example["error"]["code"] in CODES_BY_STATUS[int(status)], (operation_name, status, example)
                checked += 1
    assert checked > 100


def _documented_codes(spec, path, method, status):
    response = _resolve(spec, spec["paths"][path][method]["responses"][str(status)])
    return {e["value"]["error"]["code"] for e in response["content"]["application/json"]["examples"].values()}


def test_error_examples_match_what_the_api_answers(client, auth):
    spec = client.get("/apispec.json").get_json()
    answers = {
        ("/api/files", "get", 401): client.get("/api/files"),
        ("/api/login", "post", 401): auth.login("nobody", "wrong password"),
    }
    auth.signup()
    answers[("/api/register", "post", 409)] = auth.register()
    answers[("/api/files/{file_id}", "get", 404)] = client.get("/api/files/0123456789abcdef01234567")
    for (path, method, status), response in answers.items():
        assert response.status_code == status
        assert response.get_json()["error"]["code"] in _documented_codes(spec, path, method, status)


def test_auth_operations_come_first_in_the_docs(client):
    spec = client.get("/apispec.json").get_json()
    assert spec["tags"][0]["name"] == "auth"
    used = {tag for _, operation in _operations(spec) for tag in operation.get("tags", [])}
    assert used <= {tag["name"] for tag in spec["tags"]}  # an unlisted tag would be shown after these

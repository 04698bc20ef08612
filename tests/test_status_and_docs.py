from pymongo.errors import ServerSelectionTimeoutError

from app.db import Database


def test_status_needs_no_login_and_reports_the_database(client):
    response = client.get("/api/status")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == {"kind": "mongomock", "reachable": True}
    assert body["version"] and body["uptime_s"] >= 0


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
        if rule.endpoint == "static" or rule.endpoint.startswith("flasgger."):
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


def test_swagger_ui_is_served_without_a_cdn(client):
    response = client.get("/apidocs/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "/flasgger_static/" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()

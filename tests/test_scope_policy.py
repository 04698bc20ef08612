"""One table says which HTTP methods a token scope may use, WebDAV's included."""
from __future__ import annotations

import pytest

from app.security import METHOD_SCOPES, UNSAFE_METHODS, scope_allows, scope_needed

READING = ["GET", "HEAD", "OPTIONS", "PROPFIND"]
CHANGING = ["POST", "PUT", "PATCH", "DELETE", "MKCOL", "COPY", "MOVE", "PROPPATCH", "LOCK", "UNLOCK"]


@pytest.mark.parametrize("method", READING)
def test_a_read_token_may_look(method):
    assert scope_needed(method) == "read"
    assert scope_allows("read", method) and scope_allows("read-write", method)


@pytest.mark.parametrize("method", CHANGING)
def test_only_a_read_write_token_may_change_things(method):
    assert scope_needed(method) == "read-write"
    assert not scope_allows("read", method) and scope_allows("read-write", method)
    assert method in UNSAFE_METHODS


def test_the_table_knows_every_method_the_api_and_webdav_use():
    assert set(METHOD_SCOPES) == set(READING) | set(CHANGING)


@pytest.mark.parametrize("method", ["SEARCH", "BREW", "propfind ", ""])
def test_an_unknown_method_needs_read_write(method):
    assert not scope_allows("read", method)


def test_an_unknown_scope_allows_nothing():
    assert not scope_allows("admin", "GET") and not scope_allows("", "GET")


def test_lower_case_methods_are_the_same_methods():
    assert scope_allows("read", "propfind") and not scope_allows("read", "mkcol")


@pytest.fixture
def read_token(client, auth):
    auth.signup()
    return client.post("/api/tokens", json={"name": "look", "scope": "read"}).get_json()["secret"]


@pytest.mark.parametrize("method", ["MKCOL", "LOCK", "PROPPATCH"])
def test_a_read_token_gets_403_for_webdav_writes_before_any_route_answers(app, read_token, method):
    response = app.test_client().open("/api/files", method=method, headers={"Authorization": f"Bearer {read_token}"})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "insufficient_scope"


def test_a_read_token_is_not_refused_a_propfind(app, read_token):
    response = app.test_client().open("/api/files", method="PROPFIND",
                                      headers={"Authorization": f"Bearer {read_token}"})
    assert response.status_code == 405  # no route takes it yet; the scope is not what refuses it

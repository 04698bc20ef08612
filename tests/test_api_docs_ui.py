"""/apidocs in a real browser: Debian's Chromium driven by Playwright against a live Gunicorn.

The page must show our own spec whatever its query string says, load nothing from another
origin, and run without console errors (CSP violations are console errors too).
"""
from __future__ import annotations

import json
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from tests.test_web_ui import browser, shot  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.e2e

EVIL_SPEC = {"openapi": "3.0.3", "info": {"title": "Evil Corp login", "version": "1"}, "paths": {}}
HOSTILE_QUERIES = ["", "?url=http://evil.example/spec.json", "?configUrl=http://evil.example/c.json",
                   "?url=/static/js/main.js&configUrl=/apispec.json"]


@pytest.fixture
def watched(browser, server):  # noqa: F811
    """A page whose every request and console error is recorded; evil.example answers with a spec."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen = SimpleNamespace(page=page, requests=[], problems=[])
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("pageerror", lambda error: seen.problems.append(str(error)))
    page.on("console", lambda msg: seen.problems.append(msg.text) if msg.type == "error" else None)
    # Were the page to follow ?url= or ?configUrl=, it would get an attacker's document.
    page.route("http://evil.example/**", lambda route: route.fulfill(
        content_type="application/json",
        body=json.dumps({"url": "http://evil.example/spec.json"} if "c.json" in route.request.url else EVIL_SPEC)))
    yield seen
    context.close()


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_apidocs_shows_only_our_spec_from_our_origin(watched, server, query):
    page = watched.page
    page.goto(server.url("/apidocs/" + query), wait_until="networkidle")
    # Rendered first (on a busy machine "networkidle" can come before the spec is fetched),
    # then every request the page made is checked.
    page.locator(".information-container .title", has_text="Cloud Drive API").wait_for()
    page.locator(".opblock-tag-section").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert watched.problems == []  # flasgger's page threw "None is not defined"
    origin = urlsplit(server.base_url).netloc
    foreign = [url for url in watched.requests if urlsplit(url).scheme not in ("data", "blob")
               and urlsplit(url).netloc != origin]
    assert foreign == []
    assert server.url("/apispec.json") in watched.requests
    assert page.get_by_text("Evil Corp").count() == 0


def test_auth_comes_first_and_the_upload_form_has_a_file_picker(watched, server):
    page = watched.page
    page.goto(server.url("/apidocs/"))
    tags = page.locator(".opblock-tag-section h3")
    tags.first.wait_for()
    assert tags.first.get_attribute("data-tag") == "auth"
    upload = page.locator("#operations-files-post_api_upload")
    upload.locator(".opblock-summary").click()
    upload.get_by_role("button", name="Try it out").click()
    picker = upload.locator(".opblock-section-request-body input[type=file]")
    picker.first.wait_for()
    shot(page, "apidocs-upload")
    assert watched.problems == []


def test_try_it_out_downloads_the_whole_file(watched, server):
    page = watched.page
    credentials = {"username": "dana", "password": "password123"}
    assert page.request.post(server.url("/api/register"), data=credentials).status == 201
    assert page.request.post(server.url("/api/login"), data=credentials).status == 200
    content = b"0123456789" * 300  # longer than the 1 KiB range the old example asked for
    stored = page.request.post(server.url("/api/upload"), multipart={
        "file": {"name": "numbers.txt", "mimeType": "text/plain", "buffer": content}})
    assert stored.status == 201
    page.goto(server.url("/apidocs/"))
    download = page.locator("#operations-files-get_api_files__file_id_")
    download.locator(".opblock-summary").click()
    download.get_by_role("button", name="Try it out").click()
    assert download.locator('tr[data-param-name="Range"] input').input_value() == ""
    download.locator('tr[data-param-name="file_id"] input').fill(stored.json()["files"][0]["id"])
    download.locator(".execute").click()
    status = download.locator(".live-responses-table tr.response .response-col_status")
    status.wait_for()
    shot(page, "apidocs-download")
    assert status.inner_text().strip() == "200"
    assert download.locator(".live-responses-table").get_by_text(f"content-length: {len(content)}").count() == 1
    assert watched.problems == []

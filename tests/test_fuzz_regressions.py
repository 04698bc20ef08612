"""Bugs found by fuzzing the API against its OpenAPI document (tests/test_fuzz_api.py), each
pinned by a plain unit test so it stays fixed whatever the fuzzer happens to generate."""
from __future__ import annotations

from tests.conftest import upload


def test_text_preview_names_its_charset_once(client, auth):
    # The preview passed "text/plain; charset=utf-8" to send_file, and Werkzeug appends the
    # charset to every text/* type itself: "text/plain; charset=utf-8; charset=utf-8".
    auth.signup()
    record = upload(client, ("notes.txt", "héllo\n".encode(), "text/plain")).get_json()["files"][0]
    response = client.get(f"/api/files/{record['id']}/preview")
    body = response.get_data()
    response.close()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert body.decode(response.mimetype_params["charset"]) == "héllo\n"

"""The seed services' contracts: ZONE | Cloud (000) by API key, and the 002 curl examples."""
import os
import subprocess
import sys

import pytest
import requests

from tests.conftest import multipart_body

SEED_DIR = os.path.join(os.path.dirname(__file__), "seed_clients")


@pytest.fixture
def keys(client, auth):
    auth.signup()
    made = {scope: client.post("/api/tokens", json={"name": scope, "scope": scope}).get_json()["secret"]
            for scope in ("read", "read-write")}
    return made


def zone_upload(client, key, name, data):
    body, ctype = multipart_body([("file", name, data, "application/json")])
    if key is not None:
        body = f'--{ctype.split("boundary=")[1]}\r\nContent-Disposition: form-data; name="key"\r\n\r\n{key}\r\n'.encode() + body
    return client.post("/upload", data=body, content_type=ctype)


def test_upload_list_download_delete_by_key(app, keys):
    script = app.test_client()
    rw = keys["read-write"]
    response = zone_upload(script, rw, "users.json", b'{"1": "a"}')
    assert response.status_code == 200
    assert response.get_json()["filename"] == "users.json"
    assert script.get(f"/list?key={rw}").get_json() == ["users.json"]
    response = script.get(f"/download/users.json?key={rw}")
    assert response.get_data() == b'{"1": "a"}'
    response.close()
    assert script.delete(f"/delete/users.json?key={rw}").get_json() == {"status": "deleted", "file": "users.json"}
    assert script.get(f"/list?key={rw}").get_json() == []
    assert script.get(f"/download/users.json?key={rw}").status_code == 404


def test_uploading_an_existing_name_replaces_it_and_keeps_a_version(client, app, keys):
    script = app.test_client()
    first = zone_upload(script, keys["read-write"], "users.json", b"v1").get_json()
    second = zone_upload(script, keys["read-write"], "users.json", b"v2").get_json()
    assert first["id"] == second["id"]
    versions = client.get(f"/api/files/{first['id']}/versions").get_json()["versions"]
    assert [v["size"] for v in versions] == [2]


def test_bad_or_missing_keys_and_read_keys(app, keys):
    script = app.test_client()
    assert zone_upload(script, None, "a.json", b"x").status_code == 401
    assert zone_upload(script, "cdt_wrong", "a.json", b"x").get_json()["error"]["code"] == "invalid_api_key"
    response = zone_upload(script, keys["read"], "a.json", b"x")
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "insufficient_scope"
    assert script.get("/list").status_code == 401
    assert script.get(f"/list?key={keys['read']}").status_code == 200
    assert script.delete(f"/delete/a.json?key={keys['read']}").status_code == 403
    assert not os.listdir(os.path.join(app.config["UPLOAD_FOLDER"], ".incoming"))


def test_status_needs_no_key(client):
    body = client.get("/status").get_json()
    assert body["status"] == "ok" and body["uptime"] >= 0


def test_names_address_only_the_key_owners_root_folder(app, client, keys):
    from tests.conftest import AuthActions, upload
    docs = client.post("/api/folders", json={"name": "docs"}).get_json()["id"]
    upload(client, ("nested.json", b"n"), query=f"?folder_id={docs}")
    bob = app.test_client()
    AuthActions(bob).signup("bob")
    upload(bob, ("bob.json", b"b"))
    script = app.test_client()
    assert script.get(f"/list?key={keys['read']}").get_json() == []
    assert script.get(f"/download/bob.json?key={keys['read']}").status_code == 404
    assert script.get(f"/download/nested.json?key={keys['read']}").status_code == 404
    assert script.get(f"/download/..%2F..%2Fetc%2Fpasswd?key={keys['read']}").status_code == 404


def test_the_002_readme_examples_work(client):
    response = client.post("/api/register", json={"username": "john", "password": "password123"})
    assert response.status_code == 201
    assert client.post("/api/login", json={"username": "john", "password": "password123"}).status_code == 200
    body, ctype = multipart_body([("file", "example.pdf", b"%PDF", "application/pdf")])
    assert client.post("/api/upload", data=body, content_type=ctype).status_code == 201
    [record] = client.get("/api/files").get_json()["files"]
    response = client.get(f"/api/files/{record['id']}")
    assert response.get_data() == b"%PDF"
    response.close()
    assert client.delete(f"/api/files/{record['id']}").status_code == 204
    assert client.post("/api/logout").status_code == 204


# -- the seed's own scripts, run as written against a live Gunicorn ----------------------------------

FAKE_TELEBOT = '''
"""Stands in for pyTelegramBotAPI: delivers one /start message, then returns."""
import types

class TeleBot:
    def __init__(self, token, parse_mode=None):
        self.handlers = []
    def message_handler(self, commands=None):
        def register(func):
            self.handlers.append(func)
            return func
        return register
    def send_message(self, chat_id, text):
        print("bot says:", text)
    def infinity_polling(self):
        user = types.SimpleNamespace(id=42, username="zone_user")
        message = types.SimpleNamespace(from_user=user, chat=types.SimpleNamespace(id=7), text="/start")
        for handler in self.handlers:
            handler(message)
'''


def _seed_script(name: str, base_url: str, key: str, workdir) -> str:
    with open(os.path.join(SEED_DIR, name), encoding="utf-8") as fh:
        source = fh.read()
    assert source.count('CLOUD_API = "https://your-ngrok-url.ngrok-free.dev"') == 1
    assert source.count('CLOUD_KEY = "supersecret123"') == 1
    source = source.replace('CLOUD_API = "https://your-ngrok-url.ngrok-free.dev"', f'CLOUD_API = "{base_url}"')
    source = source.replace('CLOUD_KEY = "supersecret123"', f'CLOUD_KEY = "{key}"')
    path = workdir / name
    path.write_text(source, encoding="utf-8")
    return str(path)


def _run(args, cwd):
    result = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.e2e
def test_the_seed_client_and_bot_run_unchanged_against_a_live_server(server, tmp_path):
    http = requests.Session()
    http.post(server.url("/api/register"), json={"username": "zone", "password": "password123"}).close()
    http.post(server.url("/api/login"), json={"username": "zone", "password": "password123"}).close()
    key = http.post(server.url("/api/tokens"), json={"name": "bot", "scope": "read-write"}).json()["secret"]
    workdir = tmp_path / "client"
    workdir.mkdir()

    client = _seed_script("zone_client.py", server.base_url, key, workdir)
    assert "upload response: 200" in _run([client], workdir)
    (workdir / "users.json").unlink()
    assert "Downloaded OK" in _run(["-c", "import zone_client; zone_client.download()"], workdir)
    assert (workdir / "users.json").read_text() == '{\n    "123": "example_user"\n}'

    (workdir / "telebot.py").write_text(FAKE_TELEBOT)
    bot = _seed_script("zone_bot.py", server.base_url, key, workdir)
    output = _run([bot], workdir)
    assert "'filename': 'users.json'" in output and "bot says: Welcome!" in output

    listing = requests.get(server.url("/list"), params={"key": key}, timeout=10)
    assert listing.json() == ["users.json"]
    stored = requests.get(server.url("/download/users.json"), params={"key": key}, timeout=10).json()
    assert stored == {"123": "example_user", "42": "zone_user"}
    file_id = http.get(server.url("/api/files")).json()["files"][0]["id"]
    # The client uploaded the same content twice (one blob, no version); the bot changed it.
    versions = http.get(server.url(f"/api/files/{file_id}/versions")).json()["versions"]
    assert [v["size"] for v in versions] == [len('{\n    "123": "example_user"\n}')]
    http.close()

    logs = server.diagnostics()
    assert "GET /list " in logs or "GET /list HTTP" in logs
    assert key not in logs and key[4:] not in logs


def test_a_bad_key_in_the_query_is_refused_before_the_body_is_read(app, keys):
    script = app.test_client()
    body, ctype = multipart_body([("file", "a.json", b"x" * 1000, "application/json")])
    response = script.post("/upload?key=cdt_wrong", data=body, content_type=ctype)
    assert response.status_code == 401
    incoming = os.path.join(app.config["UPLOAD_FOLDER"], ".incoming")
    assert not os.path.exists(incoming) or not os.listdir(incoming)
    response = script.post(f"/upload?key={keys['read-write']}", data=body, content_type=ctype)
    assert response.status_code == 200 and response.get_json()["size"] == 1000

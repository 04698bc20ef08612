"""WebDAV with clients we did not write, against live Gunicorn (two workers; litmus also on the
MongoDB wire server with three): litmus (the compliance suite: every test of basic, copymove,
props, locks and http must pass, none skipped, no warning), rclone (a tree of 500 files with
nested Unicode names up, checked by hash without a download, changed and synced, moved, purged;
then compared byte for byte with what the API lists and serves), cadaver (a scripted session),
curl (a chunked PUT as Finder sends it, a PUT cut off mid-body) and parallel clients (the same
file written, locked and made at once).

Needs Debian's ``litmus``, ``rclone`` and ``cadaver`` (``make dav-clients``): skipped without
them, failed instead when REQUIRE_DAV_CLIENTS=1 (.ci/run).
"""
from __future__ import annotations

import base64
import hashlib
import os
import time
import random
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from tests.concurrency import PASSWORD, Client, by_status, check_round, race, signup
from tests.live_server import EMBEDDED, HTTP_TIMEOUT_S, MONGO_WIRE

pytestmark = pytest.mark.e2e
CLIENT_TIMEOUT_S = 300


def _need(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed (make dav-clients)"
        if os.environ.get("REQUIRE_DAV_CLIENTS") == "1":
            pytest.fail(f"{reason}; REQUIRE_DAV_CLIENTS=1: the WebDAV clients must run here")
        pytest.skip(reason)


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S, **kwargs)


def access_log(server) -> str:
    return server.stdout_path.read_text(errors="replace")


@pytest.fixture
def user(server) -> tuple[Client, str]:
    """alice, signed up, and a read-write token (the app password a WebDAV client is given)."""
    client = signup(server, "alice")
    secret = client.ok("POST", "/api/tokens", json={"name": "webdav", "scope": "read-write"})["secret"]
    return client, secret


# -- litmus ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", [EMBEDDED, MONGO_WIRE])
def test_litmus_passes_every_test_of_every_suite(server, user, tmp_path):
    _need("litmus")
    _client, secret = user
    result = run(["litmus", server.url("/dav/alice/"), "alice", secret], cwd=tmp_path)
    output = result.stdout + result.stderr
    found = re.findall(r"summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed", output)
    assert {suite for suite, *_ in found} == {"basic", "copymove", "props", "locks", "http"}, output
    for suite, run_count, passed, failed in found:
        assert run_count == passed and failed == "0", f"{suite}:\n{output}"
    assert "SKIPPED" not in output and "skipped" not in output, output
    assert "WARNING" not in output, output
    assert result.returncode == 0, output


# -- rclone ------------------------------------------------------------------------------------------

NAMES = ["Ünïcödé", "深い フォルダ", "emoji 📁", "plain", "with spaces & symbols (1)"]


def make_tree(root: Path, count: int) -> dict[str, bytes]:
    """``count`` files in nested folders with Unicode names; their relative paths and bytes."""
    rng = random.Random(14)
    files = {}
    for i in range(count):
        depth = rng.randint(0, 3)
        folders = [rng.choice(NAMES) + (f" {rng.randint(0, 2)}" if d else "") for d in range(depth)]
        name = f"{rng.choice(['файл', 'ファイル', 'file', 'Ωmega'])} {i}.{rng.choice(['txt', 'bin', 'md'])}"
        relative = "/".join(folders + [name])
        data = rng.randbytes(rng.choice([0, 1, 100, 5000, 70_000]) + i)
        files[relative] = data
    files["big/large.bin"] = rng.randbytes(6 * 1024 * 1024 + 7)
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def rclone(server, secret: str, *args: str, config: Path, username: str = "alice",
           url: str = "/dav/alice/") -> subprocess.CompletedProcess:
    obscured = run(["rclone", "obscure", secret]).stdout.strip()
    env = {**os.environ, "RCLONE_CONFIG": str(config), "RCLONE_CONFIG_DRIVE_TYPE": "webdav",
           "RCLONE_CONFIG_DRIVE_URL": server.url(url), "RCLONE_CONFIG_DRIVE_VENDOR": "owncloud",
           "RCLONE_CONFIG_DRIVE_USER": username, "RCLONE_CONFIG_DRIVE_PASS": obscured}
    return run(["rclone", *args], env=env)


def api_tree(client: Client) -> dict[str, bytes]:
    """Every live file as the API lists it (path → bytes, downloaded through the API)."""
    found, page = {}, 1
    while True:
        body = client.ok("GET", f"/api/search?type=file&limit=200&page={page}")
        for item in body["items"]:
            folder = item["path"].strip("/")
            relative = f"{folder}/{item['name']}" if folder else item["name"]
            response = client.session.get(client.server.url(f"/api/files/{item['id']}"), timeout=HTTP_TIMEOUT_S)
            assert response.status_code == 200
            found[relative] = response.content
        if page * 200 >= body["total"]:
            return found
        page += 1


def test_rclone_copies_checks_by_hash_syncs_moves_and_purges(server, user, tmp_path):
    _need("rclone")
    client, secret = user
    config = tmp_path / "rclone.conf"
    config.write_text("")
    source = tmp_path / "source"
    files = make_tree(source, 500)

    copied = rclone(server, secret, "copy", str(source), "drive:sync", "--transfers", "8", config=config)
    assert copied.returncode == 0, copied.stderr

    log_before = len(access_log(server))
    checked = rclone(server, secret, "check", str(source), "drive:sync", config=config)
    assert checked.returncode == 0, checked.stderr
    assert f"{len(files)} matching files" in checked.stderr and "0 differences found" in checked.stderr
    assert "hashes could not be checked" not in checked.stderr and "hash" not in checked.stderr.replace(
        "matching", ""), checked.stderr  # compared by MD5 (oc:checksums), not by size alone
    during_check = access_log(server)[log_before:]
    assert '"PROPFIND /dav/alice/sync' in during_check
    assert '"GET /dav/' not in during_check  # nothing downloaded to compare

    rng = random.Random(7)
    changed = rng.sample(sorted(files), 10)
    for relative in changed:
        files[relative] = files[relative] + b" changed"
        (source / relative).write_bytes(files[relative])
    deleted = rng.sample(sorted(set(files) - set(changed)), 5)
    for relative in deleted:
        (source / relative).unlink()
        del files[relative]
    for i in range(5):
        files[f"added/новый {i}.txt"] = f"new {i}".encode()
        (source / "added").mkdir(exist_ok=True)
        (source / f"added/новый {i}.txt").write_bytes(files[f"added/новый {i}.txt"])
    synced = rclone(server, secret, "sync", str(source), "drive:sync", config=config)
    assert synced.returncode == 0, synced.stderr
    again = rclone(server, secret, "check", str(source), "drive:sync", config=config)
    assert again.returncode == 0 and f"{len(files)} matching files" in again.stderr, again.stderr

    assert {f"sync/{k}": v for k, v in files.items()} == api_tree(client)

    moving = tmp_path / "moving"
    moving.mkdir()
    (moving / "a.txt").write_bytes(b"moved a")
    (moving / "b.txt").write_bytes(b"moved b")
    moved = rclone(server, secret, "move", str(moving), "drive:moved", config=config)
    assert moved.returncode == 0, moved.stderr
    assert list(moving.iterdir()) == []
    assert api_tree(client)["moved/a.txt"] == b"moved a"

    purged = rclone(server, secret, "purge", "drive:sync", config=config)
    assert purged.returncode == 0, purged.stderr
    assert set(api_tree(client)) == {"moved/a.txt", "moved/b.txt"}
    trashed = sorted(t["name"] for t in client.ok("GET", "/api/trash")["items"])  # DELETE is "to the trash"
    assert trashed == sorted(["sync"] + [relative.rsplit("/", 1)[-1] for relative in deleted])


def test_rclone_works_in_a_folder_shared_with_its_user(server, user, tmp_path):
    """bob, an editor of alice's "Team", syncs a tree into it through /dav/Shared with me/: alice
    sees every file (counted against her quota, not bob's), rclone checks them by hash; made a
    viewer, bob can still copy out but his next sync changes nothing."""
    _need("rclone")
    alice, _secret = user
    bob = signup(server, "bob")
    bob_secret = bob.ok("POST", "/api/tokens", json={"name": "webdav", "scope": "read-write"})["secret"]
    team = alice.ok("POST", "/api/folders", json={"name": "Team", "parent_id": "root"})["id"]
    alice.ok("POST", f"/api/items/{team}/members", json={"username": "bob", "role": "editor"})
    config = tmp_path / "rclone.conf"
    config.write_text("")
    source = tmp_path / "source"
    files = {k: v for k, v in make_tree(source, 40).items() if not k.startswith("big/")}
    shutil.rmtree(source / "big")

    def as_bob(*args: str) -> subprocess.CompletedProcess:
        return rclone(server, bob_secret, *args, config=config, username="bob", url="/dav/")

    copied = as_bob("copy", str(source), "drive:Shared with me/Team", "--transfers", "4")
    assert copied.returncode == 0, copied.stderr
    checked = as_bob("check", str(source), "drive:Shared with me/Team")
    assert checked.returncode == 0 and f"{len(files)} matching files" in checked.stderr, checked.stderr
    assert {f"Team/{k}": v for k, v in files.items()} == api_tree(alice)
    assert alice.ok("GET", "/api/me/usage")["used_bytes"] == sum(map(len, files.values()))
    assert bob.ok("GET", "/api/me/usage")["used_bytes"] == 0
    listed = as_bob("lsf", "drive:")
    assert listed.returncode == 0 and sorted(listed.stdout.splitlines()) == ["Shared with me/", "bob/"], listed.stdout

    alice.ok("PATCH", f"/api/items/{team}/members/bob", json={"role": "viewer"})
    (source / "late.txt").write_bytes(b"too late")
    refused = as_bob("copy", str(source), "drive:Shared with me/Team", "--retries", "1", "--low-level-retries", "1")
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    assert "Team/late.txt" not in api_tree(alice)
    out = tmp_path / "out"
    fetched = as_bob("copy", "drive:Shared with me/Team", str(out))
    assert fetched.returncode == 0, fetched.stderr
    assert {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()} == files


# -- cadaver -----------------------------------------------------------------------------------------

CADAVER_SCRIPT = """mkcol docs
cd docs
put local.txt notes.txt
lock notes.txt
put local2.txt notes.txt
unlock notes.txt
propset notes.txt colour blue
propget notes.txt colour
copy notes.txt copy.txt
move copy.txt moved.txt
get moved.txt fetched.txt
delete notes.txt
ls
quit
"""


def test_a_scripted_cadaver_session(server, user, tmp_path):
    _need("cadaver")
    client, secret = user
    (tmp_path / ".netrc").write_text(f"machine 127.0.0.1\nlogin alice\npassword {secret}\n")
    (tmp_path / ".netrc").chmod(0o600)
    (tmp_path / "local.txt").write_text("first\n")
    (tmp_path / "local2.txt").write_text("second, while locked\n")
    result = run(["cadaver", server.url("/dav/alice/")], input=CADAVER_SCRIPT, cwd=tmp_path,
                 env={**os.environ, "HOME": str(tmp_path)})
    output = result.stdout + result.stderr
    for step in ("Creating `docs'", "Uploading local.txt", "Locking `notes.txt'", "Uploading local2.txt",
                 "Unlocking `notes.txt'", "Setting property", "Copying", "Moving", "Downloading", "Deleting"):
        assert re.search(re.escape(step) + r".*succeeded", output), f"{step}:\n{output}"
    assert "Value of colour is: blue" in output, output
    assert (tmp_path / "fetched.txt").read_text() == "second, while locked\n"
    listing = client.ok("GET", "/api/search?q=.txt&type=file")["items"]
    assert [(i["path"], i["name"]) for i in listing] == [("/docs", "moved.txt")]
    assert [t["name"] for t in client.ok("GET", "/api/trash")["items"]] == ["notes.txt"]


# -- curl: chunked, and cut off ---------------------------------------------------------------------

def test_a_chunked_put_as_finder_sends_it(server, user, tmp_path):
    client, secret = user
    data = os.urandom(3 * 1024 * 1024 + 5)
    (tmp_path / "body").write_bytes(data)
    with open(tmp_path / "body", "rb") as body:  # from a pipe: curl sends it chunked, as Finder does
        result = run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-u", f"alice:{secret}",
                      "-H", "Transfer-Encoding: chunked", "-T", "-", server.url("/dav/alice/chunked.bin")],
                     stdin=body)
    assert result.stdout == "201", result.stderr
    got = requests.get(server.url("/dav/alice/chunked.bin"), auth=("alice", secret), timeout=HTTP_TIMEOUT_S)
    assert got.content == data and got.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'


def test_a_put_cut_off_mid_body_leaves_nothing(server, user):
    client, secret = user
    before = server.stored_sizes(client.user_id)
    credentials = base64.b64encode(f"alice:{secret}".encode()).decode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=HTTP_TIMEOUT_S) as sock:
        sock.sendall((f"PUT /dav/alice/cut.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {credentials}\r\n"
                      f"Content-Length: {4 * 1024 * 1024}\r\n\r\n").encode() + os.urandom(1024 * 1024))
    for _ in range(50):  # the worker notices the closed connection and discards what it staged
        listed = client.ok("GET", "/api/files")["files"]
        if not listed and server.stored_sizes(client.user_id) == before:
            break
        time.sleep(0.1)
    assert client.ok("GET", "/api/files")["files"] == []
    assert client.ok("GET", "/api/me/usage")["used_bytes"] == 0
    assert server.stored_sizes(client.user_id) == before


# -- parallel clients ----------------------------------------------------------------------------------

def test_parallel_puts_locks_and_mkcols_on_one_name(server):
    """16 clients at once, on two workers: every PUT is a whole version, one file; one LOCK wins;
    one MKCOL makes the folder; usage and references stay exact (check_round runs repair)."""
    alice = signup(server, "alice")
    auth = ("alice", PASSWORD)
    contents = [f"writer {i} ".encode() * (1000 + i) for i in range(16)]
    puts = race([alice.prepare("PUT", "/dav/alice/Same.txt", data=c, auth=auth) for c in contents])
    assert set(by_status(puts)) <= {201, 204} and by_status(puts).get(201, 0) >= 1
    files = alice.ok("GET", "/api/files")["files"]
    assert [f["name"] for f in files] == ["Same.txt"]
    current = requests.get(server.url("/dav/alice/same.txt"), auth=auth, timeout=HTTP_TIMEOUT_S).content
    assert current in contents
    versions = alice.ok("GET", f"/api/files/{files[0]['id']}/versions")["versions"]
    assert {v["sha256"] for v in versions} <= {hashlib.sha256(c).hexdigest() for c in contents}

    body = ('<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope>'
            '<d:locktype><d:write/></d:locktype></d:lockinfo>')
    locks = race([alice.prepare("LOCK", f"/dav/alice/{name}", data=body, auth=auth,
                                headers={"Depth": "0", "Content-Type": "application/xml"})
                  for name in ["same.txt", "SAME.TXT"] * 8])
    assert by_status(locks) == {200: 1, 423: 15}

    mkcols = race([alice.prepare("MKCOL", f"/dav/alice/{name}", auth=auth) for name in ["New", "new"] * 8])
    assert by_status(mkcols) == {201: 1, 405: 15}
    check_round(server, [alice])

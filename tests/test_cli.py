"""The command-line client, installed on its own into a fresh virtualenv (as `pipx install ./cli`
would) and run from a directory outside the checkout, against a live Gunicorn server."""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading

import pytest
import requests

from tests.live_server import ENCRYPTED, REPO_ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def clouddrive_command(tmp_path_factory) -> str:
    """`pip install` of the client's source (a copy, so the build leaves nothing in the
    checkout) into a new venv, dependencies from the package index or pip's cache."""
    base = tmp_path_factory.mktemp("cli-install")
    source = base / "cli"
    shutil.copytree(os.path.join(REPO_ROOT, "cli"), source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(source)],
                         capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return str(venv / "bin" / "clouddrive")


@pytest.fixture
def workdir(tmp_path):
    """Where the user stands when typing `clouddrive`: not the repository."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def cli(clouddrive_command, server, tmp_path, workdir):
    config = str(tmp_path / "cli.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDDRIVE_", "PYTHON"))}

    def run(*args, stdin: str | None = None, expect: int = 0) -> str:
        result = subprocess.run([clouddrive_command, "--config", config, "-q", *args], cwd=workdir,
                                input=stdin, capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == expect, f"{args}: {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result.stdout + result.stderr
    requests.post(server.url("/api/register"), json={"username": "carol", "password": "password123"},
                  timeout=10).close()
    return run


def test_the_installed_client_has_only_its_own_dependencies(clouddrive_command):
    python = os.path.join(os.path.dirname(clouddrive_command), "python")
    listed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True,
                            timeout=120, check=True).stdout
    installed = {line.split("==")[0].lower() for line in listed.splitlines()}
    assert {"clouddrive", "requests", "tqdm"} <= installed
    assert not installed & {"flask", "werkzeug", "gunicorn", "pymongo", "flasgger"}


def test_version_is_the_one_the_server_reports(cli, server):
    reported = requests.get(server.url("/api/status"), timeout=10).json()["version"]
    assert cli("--version").strip() == f"clouddrive {reported}"


def test_downloads_land_here_and_never_replace_a_file_without_force(cli, server, workdir):
    cli("login", "--server", server.base_url, "--username", "carol", "--password-stdin", stdin="password123\n")
    (workdir / "notes.txt").write_text("from the drive\n")
    os.utime(workdir / "notes.txt", (1577880000, 1577880000))  # written 2020-01-01T12:00:00Z
    assert "uploaded" in cli("upload", "notes.txt", "--to", "/Docs")
    assert "notes.txt" in cli("ls", "/Docs")

    (workdir / "notes.txt").write_text("my local edits\n")
    message = cli("download", "/Docs/notes.txt", expect=1)
    assert "notes.txt already exists; use --force to replace it" in message
    assert (workdir / "notes.txt").read_text() == "my local edits\n"
    assert not (workdir / "notes.txt.part").exists()

    assert "downloaded" in cli("download", "/Docs/notes.txt", "--force")
    assert (workdir / "notes.txt").read_text() == "from the drive\n"
    assert os.stat(workdir / "notes.txt").st_mtime == 1577880000  # kept on the way up and back

    (workdir / "copies").mkdir()
    cli("download", "/Docs/notes.txt", "copies")
    assert (workdir / "copies" / "notes.txt").read_text() == "from the drive\n"
    assert "already exists" in cli("download", "/Docs/notes.txt", "copies", expect=1)
    assert not os.path.exists(os.path.join(REPO_ROOT, "notes.txt"))


def test_a_scripting_session(cli, server, tmp_path):
    assert "not logged in" in cli("ls", expect=1)
    assert "Invalid username or password" in cli("login", "--server", server.base_url, "--username", "carol",
                                                   "--password-stdin", stdin="wrong-password\n", expect=1)
    assert "logged in" in cli("login", "--server", server.base_url, "--username", "carol", "--password-stdin",
                              stdin="password123\n")
    assert oct(os.stat(tmp_path / "cli.json").st_mode & 0o777) == "0o600"
    assert "carol" in cli("whoami")

    cli("mkdir", "-p", "/Docs/Deep")
    data = os.urandom(3 * 1024 * 1024 + 17)
    local = tmp_path / "données.bin"
    local.write_bytes(data)
    assert "uploaded" in cli("upload", str(local), "--to", "/Docs")
    listing = cli("ls", "/Docs")
    assert "Deep/" in listing and "données.bin" in listing
    assert "name_conflict" in cli("upload", str(local), "--to", "/Docs", expect=1)

    out = tmp_path / "out.bin"
    cli("download", "/Docs/données.bin", str(out))
    assert out.read_bytes() == data

    partial = tmp_path / "resumed.bin"
    (tmp_path / "resumed.bin.part").write_bytes(data[: 1024 * 1024])
    assert "resumed at 1.0 MiB" in cli("download", "/Docs/données.bin", str(partial))
    assert partial.read_bytes() == data and not (tmp_path / "resumed.bin.part").exists()

    cli("mv", "/Docs/données.bin", "/Docs/Deep")
    cli("mv", "/Docs/Deep/données.bin", "/Docs/Deep/renamed.bin")
    assert "renamed.bin" in cli("ls", "/Docs/Deep")

    url = cli("share", "/Docs/Deep/renamed.bin", "--max-downloads", "1", "--expires-in", "2").strip()
    assert url.startswith(server.base_url + "/s/")
    response = requests.get(url + "/download", timeout=30)
    assert response.content == data
    assert requests.get(url + "/download", timeout=30).status_code == 404

    cli("rm", "/Docs/Deep/renamed.bin")
    assert "renamed.bin" not in cli("ls", "/Docs/Deep")
    assert "no such file" in cli("download", "/Docs/Deep/renamed.bin", expect=1)
    cli("logout")
    assert "not logged in" in cli("whoami", expect=1)


def test_login_with_an_existing_token_and_a_clear_error_when_the_server_is_down(cli, server, tmp_path):
    http = requests.Session()
    http.post(server.url("/api/login"), json={"username": "carol", "password": "password123"}).close()
    token = http.post(server.url("/api/tokens"), json={"name": "ci", "scope": "read"}).json()["secret"]
    http.close()
    cli("login", "--server", server.base_url, "--token", token)
    assert "insufficient_scope" in cli("mkdir", "/nope", expect=1)
    server.stop()
    assert "cannot reach the server" in cli("ls", expect=1)


class StallingProxy:
    """A TCP proxy in front of the server that, while armed, stops forwarding a client's bytes
    once ``stall_after`` have gone upstream (the client's sends block, as on a dead network);
    ``cut()`` then closes those connections both ways, and later connections pass freely."""

    def __init__(self, port: int, stall_after: int):
        self.target = ("127.0.0.1", port)
        self.stall_after = stall_after
        self.forwarded = 0
        self.stalled = threading.Event()
        self._cut = threading.Event()
        self._lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source, sink, counted: bool) -> None:
        try:
            while data := source.recv(65536):
                if counted and not self._cut.is_set():
                    with self._lock:
                        self.forwarded += len(data)
                        over = self.forwarded > self.stall_after
                    if over:
                        self.stalled.set()
                        self._cut.wait()
                        return
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def cut(self) -> None:
        self._cut.set()

    def close(self) -> None:
        self.listener.close()


def test_upload_of_a_tree_and_a_big_upload_that_resumes_when_run_again(clouddrive_command, server, tmp_path, workdir):
    """`upload -r` keeps a tree (an empty folder too); a 20 MiB file goes through tus, its
    client is killed on a dead connection after about 9 MiB, and the same command run again
    continues from the server's offset; the stored bytes are the file's."""
    (workdir / "Trip" / "Day 1").mkdir(parents=True)
    (workdir / "Trip" / "Empty").mkdir()
    (workdir / "Trip" / "notes.txt").write_text("packing list\n")
    (workdir / "Trip" / "Day 1" / "a.jpg").write_bytes(b"jpeg a")
    big = workdir / "Trip" / "Day 1" / "video.bin"
    data = os.urandom(20 * 1024 * 1024 + 5)
    big.write_bytes(data)
    requests.post(server.url("/api/register"), json={"username": "dana", "password": "password123"},
                  timeout=10).close()
    proxy = StallingProxy(server.port, stall_after=9 * 1024 * 1024)
    config = str(tmp_path / "cli.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDDRIVE_", "PYTHON"))}
    command = [clouddrive_command, "--config", config, "-q"]
    try:
        subprocess.run([*command, "login", "--server", proxy.base_url, "--username", "dana", "--password-stdin"],
                       input="password123\n", capture_output=True, text=True, timeout=60, env=env, check=True)
        upload = [*command, "upload", "-r", "Trip", "--to", "/Backup", "--on-conflict", "replace"]
        first = subprocess.Popen(upload, cwd=workdir, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert proxy.stalled.wait(timeout=60), "the first run never got 9 MiB out"
        first.kill()
        first.wait(timeout=10)
        proxy.cut()
        state = json.loads((tmp_path / "uploads.json").read_text())
        assert len(state) == 1  # the unfinished upload, to be continued

        # the first run's small files are there already: replace keeps one of each
        again = subprocess.run(upload, cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stdout + again.stderr
        [line] = [line for line in again.stdout.splitlines() if "video.bin" in line]
        assert "(resumed at " in line and "(resumed at 0 B)" not in line, line
    finally:
        proxy.close()
    http = requests.Session()
    http.post(server.url("/api/login"), json={"username": "dana", "password": "password123"}, timeout=10).close()

    def children(folder_id: str) -> dict[str, dict]:
        listing = http.get(server.url(f"/api/folders/{folder_id}/children"), timeout=10).json()["items"]
        return {item["name"]: item for item in listing}

    trip = children(children(children("root")["Backup"]["id"])["Trip"]["id"])
    assert set(trip) == {"Day 1", "Empty", "notes.txt"}
    day = children(trip["Day 1"]["id"])
    assert set(day) == {"a.jpg", "video.bin"}
    assert day["video.bin"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert http.get(server.url("/api/uploads"), timeout=10).json()["uploads"] == []
    assert json.loads((tmp_path / "uploads.json").read_text()) == {}
    access = server.stdout_path.read_text(errors="replace")
    assert access.count('"POST /api/tus/ ') == 1  # the second run created no upload: it resumed


@pytest.mark.parametrize("backend", [ENCRYPTED])
def test_a_big_upload_to_a_server_that_cannot_resume_goes_in_one_request(cli, server, workdir, backend):
    """With encryption at rest the tus endpoint answers 501: the client sends the file as one
    multipart upload instead, at once (no retries)."""
    cli("login", "--server", server.base_url, "--username", "carol", "--password-stdin", stdin="password123\n")
    data = os.urandom(9 * 1024 * 1024)
    (workdir / "big.bin").write_bytes(data)
    assert "uploaded big.bin" in cli("upload", "big.bin")
    out = workdir / "back.bin"
    cli("download", "/big.bin", str(out))
    assert out.read_bytes() == data

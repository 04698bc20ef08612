"""The server as a package (pyproject.toml): a wheel built from the checkout, installed apart
from it, serves the drive and runs its maintenance commands from another directory with its
two console scripts (its dependencies come from the test's virtualenv: the wheel's own files
are what is checked here)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
import requests

from config import server_environment
from tests.live_server import REPO_ROOT, _free_port

pytestmark = pytest.mark.e2e


def test_the_installed_server_runs_from_anywhere(tmp_path):
    source = tmp_path / "source"  # a copy: building leaves build/ and *.egg-info behind
    everywhere = shutil.ignore_patterns(".venv*", ".git", "node_modules", "build", "*.egg-info", "__pycache__")

    def ignore(folder, names):  # the checkout's own data folders (not app/uploads, a package)
        top = {"instance", "uploads", "test-artifacts"} if os.path.samefile(folder, REPO_ROOT) else set()
        return everywhere(folder, names) | (top & set(names))
    shutil.copytree(REPO_ROOT, source, symlinks=True, ignore=ignore)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path / "dist"),
                            str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    target = tmp_path / "installed"
    wheel = next((tmp_path / "dist").glob("clouddrive_server-*.whl"))
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                                str(target), str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-2000:]
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    port = _free_port()
    env = server_environment(os.environ, BIND=f"127.0.0.1:{port}", INSTANCE_PATH=str(elsewhere / "instance"),
                             EMBEDDED_DB_PATH=str(elsewhere / "data"), UPLOAD_FOLDER=str(elsewhere / "uploads"),
                             SECRET_KEY="packaging-test", WEB_CONCURRENCY="1")
    env["PYTHONPATH"] = str(target)  # the installed copy, never the checkout

    admin = subprocess.run([str(target / "bin" / "clouddrive-admin"), "create-admin", "root", "--password-stdin"],
                           input="root password 1\n", cwd=elsewhere, env=env, capture_output=True, text=True,
                           timeout=120)
    assert admin.returncode == 0, admin.stderr[-2000:]
    server = subprocess.Popen([str(target / "bin" / "clouddrive-server", ), "--no-control-socket"], cwd=elsewhere,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        for _ in range(200):
            try:
                status = requests.get(f"http://127.0.0.1:{port}/api/status", timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.stderr.read().decode()[-3000:]
                time.sleep(0.1)
        assert status.status_code == 200
        version = status.json()["version"]
        page = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200 and f"Cloud Drive {version}" in page.text  # templates and static files are in
        assert requests.get(f"http://127.0.0.1:{port}/static/js/main.js", timeout=10).status_code == 200
        login = requests.post(f"http://127.0.0.1:{port}/api/login", json={"username": "root",
                                                                         "password": "root password 1"}, timeout=10)
        assert login.status_code == 200 and login.json()["role"] == "admin"
        import app  # the test's own copy is the checkout's; the server's is not
        assert str(target) not in app.__file__
    finally:
        os.killpg(server.pid, 15)
        server.wait(60)
        server.stderr.close()

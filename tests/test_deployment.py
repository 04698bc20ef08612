"""The deployment kit in deploy/, as shipped: Debian's nginx runs the site file (TLS with a
certificate this test makes, HTTP/2, loopback only) in front of Gunicorn in production mode, and
the story runs through HTTPS: the Secure cookie, HSTS, the redirect from HTTP, uploads and
ranged downloads, a share link, and a 1 GiB WebDAV upload and API download checked by SHA-256
(256 MiB when the disk has less than 4 GiB free). systemd checks the units, logrotate its
file, and the environment template is read by the app's own configuration loader."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from config import SERVER_VARIABLES, load_config, parse_size
from tests.live_server import REPO_ROOT, GunicornServer, _free_port
from tests.nginx_balancer import LoadBalancer

pytestmark = pytest.mark.e2e
DEPLOY = Path(REPO_ROOT) / "deploy"
PASSWORD = "password123"
MIB = 2**20


def replaced(text: str, replacements: list[tuple[str, str]]) -> str:
    """``text`` with each replacement made; a string the shipped file no longer has is a
    failure here, so the test follows the file."""
    for old, new in replacements:
        assert old in text, f"the shipped file no longer has {old!r}"
        text = text.replace(old, new)
    return text


class Site(LoadBalancer):
    """nginx with deploy/nginx-clouddrive.conf included as shipped, but for paths and ports."""

    def __init__(self, workdir, node):
        self.https_port, self.http_port = _free_port(), _free_port()
        self.cert, self.key = make_certificate(Path(workdir))
        super().__init__(workdir, [node])
        self.base_url = f"https://127.0.0.1:{self.https_port}"
        self.port = self.https_port

    def _config(self) -> str:
        site = replaced((DEPLOY / "nginx-clouddrive.conf").read_text(), [
            ("server 127.0.0.1:8000;", f"server 127.0.0.1:{self.nodes[0].port};"),
            ("    listen 80;\n", f"    listen 127.0.0.1:{self.http_port};\n"),
            ("    listen [::]:80;\n", ""),
            ("listen 443 ssl http2;", f"listen 127.0.0.1:{self.https_port} ssl http2;"),
            ("    listen [::]:443 ssl http2;\n", ""),
            ("/etc/letsencrypt/live/drive.example.com/fullchain.pem", str(self.cert)),
            ("/etc/letsencrypt/live/drive.example.com/privkey.pem", str(self.key)),
            ("/var/log/nginx/", f"{self.dir}/"),
        ])
        (self.dir / "site.conf").write_text(site)
        return self.main_config(f"    include {self.dir}/site.conf;")


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, valid two days."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture
def site(tmp_path):
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test's certificate (Debian: apt-get install openssl)")
    (tmp_path / "node").mkdir()
    node = GunicornServer(tmp_path / "node")
    node.env.update(APP_ENV="production", TRUST_PROXY_HOPS="1", REGISTRATION="open", WEB_CONCURRENCY="2")
    node.start()
    proxy = Site(tmp_path, node)
    proxy.start()
    yield proxy
    proxy.stop()
    node.kill()


def test_the_story_through_https_behind_the_shipped_nginx_site(site, tmp_path):
    client = requests.Session()
    client.trust_env = False  # else REQUESTS_CA_BUNDLE would replace the test's certificate
    client.verify = str(site.cert)
    assert client.post(site.url("/api/register"), json={"username": "dora", "password": PASSWORD},
                       timeout=30).status_code == 201
    login = client.post(site.url("/api/login"), json={"username": "dora", "password": PASSWORD}, timeout=30)
    assert login.status_code == 200
    cookie = login.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert login.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Content-Security-Policy" in login.headers  # the app's own headers pass through

    plan = os.urandom(300_000)
    upload = client.post(site.url("/api/upload"), files={"file": ("plan.bin", plan)}, timeout=60)
    assert upload.status_code == 201
    file_id = upload.json()["files"][0]["id"]
    part = client.get(site.url(f"/api/files/{file_id}"), headers={"Range": "bytes=1000-1999"}, timeout=30)
    assert part.status_code == 206 and part.content == plan[1000:2000]
    share = client.post(site.url("/api/shares"), json={"item_id": file_id}, timeout=30).json()
    assert share["url"].startswith(site.base_url + "/s/")  # the app knows its scheme and address
    public = client.get(share["url"] + "/download", cookies={}, timeout=30)
    assert public.status_code == 200 and public.content == plan

    assert client.get(site.url("/metrics"), timeout=30).status_code == 404  # not through the public site
    plain = requests.get(f"http://127.0.0.1:{site.http_port}/api/me", allow_redirects=False, timeout=30)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
    if shutil.which("curl"):
        version = subprocess.run(["curl", "-s", "--http2", "--cacert", str(site.cert), "-o", "/dev/null",
                                  "-w", "%{http_version}", site.url("/api/status")], capture_output=True, text=True,
                                 timeout=30).stdout
        assert version == "2"

    free = shutil.disk_usage(tmp_path).free
    size = 1024 * MIB if free >= 4 * 1024 * MIB else 256 * MIB
    if size < 1024 * MIB:
        print(f"only {free // MIB} MiB free: the large transfer is {size // MIB} MiB instead of 1 GiB")
    digest = hashlib.sha256()

    class Body:
        """Random bytes made as they are sent, hashed on the way; its length is known, so the
        request has a Content-Length (WebDAV clients send one)."""

        def __len__(self):
            return size

        def __iter__(self):
            for _ in range(size // MIB):
                chunk = os.urandom(MIB)
                digest.update(chunk)
                yield chunk
    put = client.put(site.url("/dav/dora/big.bin"), data=Body(), auth=("dora", PASSWORD), timeout=600)
    assert put.status_code == 201, put.text[:300]
    big = next(f for f in client.get(site.url("/api/files?limit=10"), timeout=30).json()["files"]
               if f["name"] == "big.bin")
    assert big["size"] == size and big["sha256"] == digest.hexdigest()
    received = hashlib.sha256()
    with client.get(site.url(f"/api/files/{big['id']}"), stream=True, timeout=600) as download:
        assert download.status_code == 200
        for chunk in download.iter_content(MIB):
            received.update(chunk)
    assert received.hexdigest() == digest.hexdigest()
    assert client.post(site.url("/api/logout"), timeout=30).status_code == 204


def test_the_shipped_limits_agree():
    """nginx refuses what the app would refuse: client_max_body_size equals MAX_CONTENT_LENGTH
    (the template's and the default)."""
    site = (DEPLOY / "nginx-clouddrive.conf").read_text()
    nginx_limit = parse_size(re.search(r"client_max_body_size (\w+);", site).group(1).upper())
    env = environment_template()
    assert nginx_limit == parse_size(env["MAX_CONTENT_LENGTH"]) == load_config({})["MAX_CONTENT_LENGTH"]


def environment_template() -> dict[str, str]:
    pairs = {}
    for line in (DEPLOY / "clouddrive.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name] = value
    return pairs


def test_the_environment_template_names_only_real_settings_and_loads():
    env = environment_template()
    assert set(env) <= set(SERVER_VARIABLES), set(env) - set(SERVER_VARIABLES)
    assert env["SECRET_KEY"] == "" and "ADMIN_PASSWORD" not in env  # no secret anyone could know ships
    settings = load_config({**env, "SMTP_HOST": "mail.example.com"})
    assert settings["ENV_NAME"] == "production" and settings["SESSION_COOKIE_SECURE"]
    assert settings["REGISTRATION"] == "invite" and settings["TRUST_PROXY_HOPS"] == 1


def test_systemd_accepts_the_units(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    venv_bin = str(Path(REPO_ROOT) / ".venv" / "bin") + "/"
    (tmp_path / "env").write_text("")
    for name in ("clouddrive.service", "clouddrive-maintenance.service", "clouddrive-maintenance.timer"):
        text = (DEPLOY / name).read_text()
        if name.endswith(".service"):
            text = replaced(text, [("/opt/clouddrive/venv/bin/", venv_bin),
                                   ("WorkingDirectory=/opt/clouddrive", f"WorkingDirectory={REPO_ROOT}"),
                                   ("EnvironmentFile=/etc/clouddrive/env", f"EnvironmentFile={tmp_path / 'env'}")])
        (tmp_path / name).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *(str(tmp_path / n) for n in (
        "clouddrive.service", "clouddrive-maintenance.service", "clouddrive-maintenance.timer"))],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    unit = (DEPLOY / "clouddrive.service").read_text()
    for setting in ("NoNewPrivileges=yes", "ProtectSystem=strict", "User=clouddrive", "PrivateTmp=yes"):
        assert setting in unit


def test_logrotate_accepts_its_file(tmp_path):
    if shutil.which("logrotate") is None:
        pytest.fail("logrotate is not installed (make nginx installs it as root)")
    logs = tmp_path / "log"
    logs.mkdir()
    (logs / "access.log").write_text("a line\n")
    config = (DEPLOY / "logrotate-clouddrive").read_text().replace("/var/log/clouddrive/", f"{logs}/")
    config = config.replace("    su clouddrive clouddrive\n", "").replace("create 0600 clouddrive clouddrive", "create 0600")
    (tmp_path / "logrotate.conf").write_text(config)
    result = subprocess.run(["logrotate", "--force", "--state", str(tmp_path / "state"), str(tmp_path / "logrotate.conf")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (logs / "access.log.1").read_text() == "a line\n" and (logs / "access.log").read_text() == ""

"""Debian's nginx as a load balancer on loopback, in front of live app servers (tests/live_server.py).

Run as bench/compare.py runs its nginx: not a daemon, in a process group of its own, with a
generated config and every path (pid, logs, temp files) under the test's temporary folder. The
config is the one the README recommends for several nodes: round robin over the upstream, the
request body streamed to the node as it arrives (``proxy_request_buffering off``), no body size
limit of nginx's own, and ``X-Forwarded-For`` set for the nodes' ``TRUST_PROXY_HOPS=1``.

Without nginx the tests that need it skip, unless ``REQUIRE_S3=1`` or ``REQUIRE_NGINX=1`` (CI
sets the first; ``make test`` installs nginx as root) makes that a failure.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.live_server import _free_port

START_TIMEOUT_S = 10
STOP_TIMEOUT_S = 10


def nginx_binary() -> str:
    """nginx's path; skips (or fails, where CI requires it) when it is not installed."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
    if found is None:
        message = "nginx is not installed (Debian: apt-get install -y nginx; `make nginx` as root)"
        if "1" in (os.environ.get("REQUIRE_S3"), os.environ.get("REQUIRE_NGINX")):
            pytest.fail(message)
        pytest.skip(message)
    return found


class LoadBalancer:
    """nginx on a free loopback port, proxying to ``nodes`` (objects with ``port``) in turn.

    Has ``url`` and ``diagnostics`` like a GunicornServer, so test clients can point at it."""

    def __init__(self, workdir, nodes):
        self.binary = nginx_binary()
        self.dir = Path(workdir) / "nginx"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.nodes = nodes
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(self._config())
        self.proc: subprocess.Popen | None = None

    def main_config(self, http: str) -> str:
        """nginx.conf around ``http`` (the http block's own directives): in the foreground, every
        path under the test's folder."""
        user = "user root;\n" if os.geteuid() == 0 else ""  # as root, workers would otherwise be nobody
        temp = "\n".join(f"    {name}_temp_path {self.dir}/{name};" for name in
                         ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        return f"""{user}worker_processes 1;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
{temp}
{http}
}}
"""

    def _config(self) -> str:
        servers = "\n".join(f"        server 127.0.0.1:{node.port} max_fails=1 fail_timeout=30s;"
                            for node in self.nodes)
        return self.main_config(f"""    access_log {self.dir}/access.log;
    upstream drive {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        client_max_body_size 0;
        location / {{
            proxy_pass http://drive;
            proxy_http_version 1.1;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 120s;
            proxy_send_timeout 120s;
        }}
    }}""")

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-p", str(self.dir), "-c", str(self.conf), "-e", str(self.dir / "error.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"nginx exited with {self.proc.returncode}: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"nginx did not listen on {self.port} within {START_TIMEOUT_S}s\n{self.diagnostics()}")

    def stop(self) -> None:
        """Graceful (SIGQUIT), then SIGKILL; the process group is only this nginx."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGQUIT)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc.stderr.close()
        self.proc = None

    def diagnostics(self) -> str:
        try:
            errors = (self.dir / "error.log").read_text(errors="replace")[-4000:]
        except OSError:
            errors = "(none)"
        return f"--- nginx error.log ---\n{errors}\n" + "\n".join(node.diagnostics() for node in self.nodes)

"""The README's curl walkthrough, pasted as is into a shell in an empty directory, works."""
from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from tests.live_server import REPO_ROOT

pytestmark = pytest.mark.e2e


def readme_curl_block() -> str:
    """The ```bash block of the README's "Try it with curl" section, verbatim."""
    with open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    section = readme.split("\n## Try it with curl\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"^```bash\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)
    assert match, "no ```bash block in the README's 'Try it with curl' section"
    return match.group(1)


def run_walkthrough(block: str, api: str, cwd) -> list[str]:
    """Run the block under `set -euo pipefail`; any failing command fails the test, named."""
    assert block.startswith("API=http://127.0.0.1:8000\n")
    script = ("set -euo pipefail\n"
              "trap 'echo \"walkthrough command failed with status $?: $BASH_COMMAND\" >&2' ERR\n"
              + block.replace("API=http://127.0.0.1:8000", f"API={api}", 1))
    env = {k: v for k, v in os.environ.items() if k not in ("CURL_HOME", "BASH_ENV", "ENV")}
    result = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    return result.stdout.splitlines()


def check_outputs(lines: list[str], first_run: bool) -> None:
    """What each of the block's twelve printing commands must have printed, in order."""
    assert len(lines) == 12, lines
    register, login, me, uploaded, listing, download, same, first_bytes, info, deleted, logout, status = lines
    expected_register = "username" if first_run else "error"
    assert expected_register in json.loads(register), register
    if not first_run:
        assert json.loads(register)["error"]["code"] == "username_taken"
    assert json.loads(login)["username"] == json.loads(me)["username"] == "john"
    assert [f["name"] for f in json.loads(uploaded)["files"]] == ["hello.txt", "table.csv"]
    assert [f["name"] for f in json.loads(listing)["files"]] == ["hello.txt", "table.csv"]
    assert download.startswith("200 text/plain")
    assert same == "downloaded the same bytes"
    assert first_bytes == "hel"
    assert (json.loads(info)["name"], json.loads(info)["size"]) == ("hello.txt", 6)
    assert (deleted, logout) == ("204", "204")
    assert json.loads(status)["status"] == "ok"


def test_the_readme_curl_walkthrough_runs_verbatim_in_an_empty_directory(server, tmp_path):
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    block = readme_curl_block()
    check_outputs(run_walkthrough(block, server.base_url, workdir), first_run=True)
    assert (workdir / "hello-copy.txt").read_bytes() == b"hello\n"
    # Pasted a second time in the same directory: still no failing command.
    check_outputs(run_walkthrough(block, server.base_url, workdir), first_run=False)

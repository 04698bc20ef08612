"""Helpers for concurrency tests against a live Gunicorn (tests/live_server.py).

``race`` releases many prepared requests at once: each client has its own connection, opened
before the start barrier, so the requests really overlap in the server. ``check_round`` then
checks what must hold whatever the interleaving: usage through the API, then (with the server
stopped) ``flask repair`` clean and the stored records free of tree and reference-count
problems. It restarts the server, so the next round sees a durable state.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import requests
from bson import json_util

from tests.live_server import HTTP_TIMEOUT_S, REPO_ROOT, GunicornServer

PASSWORD = "correct horse battery"
RACE_TIMEOUT_S = 120


@dataclass
class Answer:
    """What one client was told: the status and the JSON body (None when there was none)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Client:
    """One user's own connection; ``prepare`` returns a request to run later in a race."""

    def __init__(self, server: GunicornServer, cookies=None):
        self.server = server
        self.session = requests.Session()
        if cookies is not None:
            self.session.cookies.update(cookies)

    def call(self, method: str, path: str, **kwargs) -> Answer:
        response = self.session.request(method, self.server.url(path), timeout=HTTP_TIMEOUT_S, **kwargs)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        return Answer(response.status_code, body)

    def ok(self, method: str, path: str, **kwargs) -> Any:
        """Call and insist on a 2xx; returns the body."""
        answer = self.call(method, path, **kwargs)
        assert answer.ok, f"{method} {path}: {answer.status} {answer.body}"
        return answer.body

    def prepare(self, method: str, path: str, **kwargs) -> "Call":
        """A request to make later, in a race, on a connection of its own."""
        return Call(self, method, path, kwargs)

    def warm(self) -> None:
        """Open (or refresh) the keep-alive connection so the race starts on an open socket."""
        self.call("GET", "/api/status")

    def clone(self) -> "Client":
        """Another connection with the same login."""
        return Client(self.server, self.session.cookies)


def signup(server: GunicornServer, username: str) -> Client:
    client = Client(server)
    creds = {"username": username, "password": PASSWORD}
    client.ok("POST", "/api/register", json=creds)
    client.user_id = client.ok("POST", "/api/login", json=creds)["id"]
    return client


@dataclass
class Call:
    client: Client
    method: str
    path: str
    kwargs: dict


def race(calls: list[Call]) -> list[Answer]:
    """Make every prepared call on its own thread and connection, all released by one barrier."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(index: int, call: Call) -> None:
        try:
            client = call.client.clone()
            client.warm()
            barrier.wait(timeout=RACE_TIMEOUT_S)
            answers[index] = client.call(call.method, call.path, **call.kwargs)
            client.session.close()
        except Exception as exc:  # a refused or dropped connection is an answer too; the checks say so
            answers[index] = exc

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=RACE_TIMEOUT_S)
    for index, answer in enumerate(answers):
        assert isinstance(answer, Answer), f"client {index} got no HTTP answer: {answer!r}"
        assert answer.status < 500, (f"client {index}: {answer.status} {answer.body}\n"
                                     f"{calls[index].client.server.diagnostics()}")
    return answers


# -- the stored state ------------------------------------------------------------------------

_DUMP = """
import sys
from bson import json_util
from app import create_app
from app.services import services
app = create_app()
with app.app_context():
    found = services()
    records = {"items": found.drive.items.everything(), "blobs": found.repair.blobs.all_records(),
               "versions": found.repair.versions.all_contents()}
sys.stdout.write(json_util.dumps(records))
"""


def run_repair(server: GunicornServer) -> subprocess.CompletedProcess:
    """``flask --app wsgi repair`` (report only) with the server's database and uploads."""
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "repair"], cwd=REPO_ROOT,
                          env=server.env, capture_output=True, text=True, timeout=120)


def stored_records(server: GunicornServer) -> dict[str, list[dict]]:
    """Every item, blob and version record, read by the app's own code from the server's store."""
    result = subprocess.run([sys.executable, "-c", _DUMP], cwd=REPO_ROOT, env=server.env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json_util.loads(result.stdout)


class Records:
    """The stored state, indexed for the checks."""

    def __init__(self, raw: dict[str, list[dict]]):
        self.items = {i["_id"]: i for i in raw["items"]}
        self.blobs = {b["_id"]: b for b in raw["blobs"]}
        self.versions = raw["versions"]

    def item(self, item_id: str) -> dict | None:
        return next((i for k, i in self.items.items() if str(k) == item_id), None)

    def live(self, item_id: str) -> dict | None:
        item = self.item(item_id)
        return item if item is not None and item["trashed_at"] is None else None

    def children(self, parent_id) -> list[dict]:
        return [i for i in self.items.values() if i["parent_id"] == parent_id and i["trashed_at"] is None]

    def shape(self, folder_id) -> list:
        """A folder's live contents as nested (type, name, sha256, children), sorted; for comparing copies."""
        return sorted((c["type"], c["name"], c.get("sha256"), self.shape(c["_id"]) if c["type"] == "folder" else [])
                      for c in self.children(folder_id))

    def tree_problems(self) -> list[str]:
        """Duplicate live names, live items under a missing or trashed folder, folders that do
        not reach the root, and slots that do not match the place."""
        problems = []
        live = {k: i for k, i in self.items.items() if i["trashed_at"] is None}
        names = Counter((i["owner_id"], i["parent_id"], i["name_key"]) for i in live.values())
        problems += [f"{n} live items named {key[2]!r} in folder {key[1]}" for key, n in names.items() if n > 1]
        for item in live.values():
            parent = item["parent_id"]
            if parent is not None and parent not in live:
                state = "deleted" if parent not in self.items else "trashed"
                problems.append(f"live {item['type']} {item['name']!r} ({item['_id']}) is in a {state} folder")
            if item["slot"] != f"{parent or 'root'}/{item['name_key']}":
                problems.append(f"{item['name']!r} ({item['_id']}) has slot {item['slot']!r}")
            seen = set()
            while parent is not None and parent in live and parent not in seen:
                seen.add(parent)
                parent = live[parent]["parent_id"]
            if parent is not None and parent in seen:
                problems.append(f"{item['name']!r} ({item['_id']}) is in a folder cycle")
        for item in self.items.values():
            if item["trashed_at"] is not None and not item["trash_root"]:
                root = self.items.get(item["trashed_with"])
                if root is None or not root["trash_root"]:
                    problems.append(f"trashed {item['name']!r} ({item['_id']}) was trashed with {root and root['_id']}"
                                    " which is not in the trash")
        return problems

    def blob_problems(self) -> list[str]:
        """Reference counts that differ from the files and versions using each blob."""
        used = Counter(r["blob_id"] for r in list(self.items.values()) + self.versions if r.get("blob_id"))
        problems = [f"blob {b['_id']}: refs {b['refs']}, used by {used[b['_id']]}"
                    for b in self.blobs.values() if b["refs"] != used[b["_id"]]]
        problems += [f"record uses missing blob {blob_id}" for blob_id in used if blob_id not in self.blobs]
        return problems

    def referenced_bytes(self, owner_id: str) -> int:
        """The sizes of the distinct contents the owner's files (live or trashed) and versions use."""
        used = {r["blob_id"] for r in list(self.items.values()) + self.versions
                if r.get("blob_id") and r["owner_id"] == owner_id}
        return sum(self.blobs[b]["size"] for b in used if b in self.blobs)


def check_round(server: GunicornServer, users: list[Client]) -> Records:
    """The invariants every round must keep; returns the stored records for the test's own checks.

    Stops the server (repair reads the store directly), then starts it again."""
    usage = {u.user_id: u.ok("GET", "/api/me/usage")["used_bytes"] for u in users}
    for user in users:
        user.session.close()  # an idle keep-alive connection would hold up the graceful stop
    server.stop()
    try:
        repair = run_repair(server)
        records = Records(stored_records(server))
    finally:
        server.start()
    problems = records.tree_problems() + records.blob_problems()
    problems += [f"user {owner}: usage {used} but {records.referenced_bytes(owner)} bytes referenced"
                 for owner, used in usage.items() if used != records.referenced_bytes(owner)]
    if repair.returncode != 0:
        problems.append(f"repair exited {repair.returncode}:\n{repair.stdout}{repair.stderr}")
    assert not problems, "\n".join(problems)
    return records


def by_status(answers: list[Answer]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for answer in answers:
        counts[answer.status] += 1
    return dict(counts)


def as_json(value: Any) -> str:
    return json.dumps(value, default=str, indent=1)

"""Two app servers, one drive: two Gunicorn nodes on loopback sharing one database on the
MongoDB wire server and one SeaweedFS bucket, behind Debian's nginx as a round-robin load
balancer (tests/nginx_balancer.py), as the README's "Running on several machines" draws it.

Each request the test sends to one node carries an X-Request-ID that the node's access log
names (``answered_by``), so "uploaded on one node, downloaded on the other" is checked, not
assumed. The stories share one cluster; the last one kills a node, so it stays last.
"""
from __future__ import annotations

import hashlib
import os
import re
import signal
import threading
import time
import types
import uuid

import pytest
import requests

from config import server_settings
from tests.concurrency import PASSWORD, Client, by_status, check_round, race, signup
from tests.live_server import HTTP_TIMEOUT_S, GunicornServer
from tests.mongo_wire import wire_env
from tests.nginx_balancer import LoadBalancer, nginx_binary
from tests.s3_server import s3_server  # noqa: F401 - a fixture
from tests.test_concurrency_uploads import check_replaced_file
from tests.test_faults import USER_AGENT, LiveUser, RawUpload, assert_repair_clean, run_repair

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
LOGIN_LIMIT = 5  # LOGIN_RATE_LIMIT below
MAX_DOWNLOADS = 3


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Cluster:
    """Node a, node b and nginx in front of both."""

    def __init__(self, base, shared_env: dict[str, str]):
        self.nodes = []
        for name in ("a", "b"):
            (base / name).mkdir()
            self.nodes.append(GunicornServer(base / name))
        self.a, self.b = self.nodes
        for node in self.nodes:
            node.env.update(shared_env)
            # One SECRET_KEY for the cluster: a cookie signed by one node is good on the other.
            node.env.update(server_settings(SECRET_KEY=self.a.env["SECRET_KEY"], WEB_CONCURRENCY=2,
                                            TRUST_PROXY_HOPS=1, LOGIN_RATE_LIMIT=f"{LOGIN_LIMIT} per minute"))
        self.nginx = LoadBalancer(base, self.nodes)

    def node_of(self, request_id: str) -> str:
        """Which node's access log names the request ("a", "b"; "ab" for both). A worker writes
        the line after the response, so wait for it a little."""
        deadline = time.monotonic() + 5
        while True:
            found = "".join(name for name, node in zip("ab", self.nodes) if request_id in node.answered_by())
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def kill(self) -> None:
        self.nginx.stop()
        for node in self.nodes:
            node.kill()


@pytest.fixture(scope="module")
def cluster(mongo_wire, s3_server, tmp_path_factory):  # noqa: F811 - s3_server is the fixture
    nginx_binary()  # skip (or fail) before starting anything
    shared = {**wire_env(mongo_wire), **s3_server.env(s3_server.new_bucket())}
    found = Cluster(tmp_path_factory.mktemp("two-nodes"), shared)
    try:
        for node in found.nodes:
            node.start()
        found.nginx.start()
        yield found
    finally:
        found.kill()


def tagged(client: Client, method: str, path: str, **kwargs):
    """A call with a fresh X-Request-ID; returns (answer, request id)."""
    request_id = uuid.uuid4().hex
    headers = {**kwargs.pop("headers", {}), "X-Request-ID": request_id}
    return client.call(method, path, headers=headers, **kwargs), request_id


def on(client: Client, node) -> Client:
    """The same login, talking to ``node`` (a GunicornServer or the balancer)."""
    return Client(node, client.session.cookies)


def upload_request(name: str, data: bytes, query: str = "") -> dict:
    """Keyword arguments of ``Client.call``/``prepare`` (and ``tagged``) for one upload."""
    return {"method": "POST", "path": f"/api/upload{query}", "files": {"file": (name, data)}}


def download_sha(client: Client, path: str) -> str:
    response = client.session.get(client.server.url(path), timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, f"{path} on {client.server.base_url}: {response.status_code}"
    return sha(response.content)


def test_a_file_uploaded_on_one_node_is_listed_downloaded_and_shared_on_the_other(cluster):
    alice = signup(cluster.nginx, "alice")  # register and log in through nginx
    on_a, on_b = on(alice, cluster.a), on(alice, cluster.b)
    data = os.urandom(3 * MIB + 17)

    answer, request_id = tagged(on_a, **upload_request("report.bin", data))
    assert answer.status == 201, answer.body
    assert cluster.node_of(request_id) == "a"
    file_id = answer.body["files"][0]["id"]

    listing, request_id = tagged(on_b, "GET", "/api/files")
    assert cluster.node_of(request_id) == "b"
    assert [f["id"] for f in listing.body["files"]] == [file_id]
    assert download_sha(on_b, f"/api/files/{file_id}") == sha(data)
    share, request_id = tagged(on_b, "POST", "/api/shares", json={"item_id": file_id})
    assert share.status == 201 and cluster.node_of(request_id) == "b"
    for node in (cluster.a, cluster.b, cluster.nginx):  # anyone, on any node or through nginx
        assert download_sha(Client(node), f"/s/{share.body['token']}/download") == sha(data)

    # Through nginx, round robin: both nodes take uploads, and both list all of them.
    uploaded, answered = {file_id: sha(data)}, set()
    for index in range(4):
        content = os.urandom(64 * 1024 + index)
        answer, request_id = tagged(alice, **upload_request(f"through-{index}.bin", content))
        assert answer.status == 201, answer.body
        uploaded[answer.body["files"][0]["id"]] = sha(content)
        answered.add(cluster.node_of(request_id))
    assert answered == {"a", "b"}, "nginx did not spread the uploads over both nodes"
    for client in (on_a, on_b, alice):
        assert {f["id"] for f in client.ok("GET", "/api/files")["files"]} == set(uploaded)
        assert {i: download_sha(client, f"/api/files/{i}") for i in uploaded} == uploaded


def test_replaces_and_deletes_from_both_nodes_keep_every_acknowledged_file(cluster):
    owner = signup(cluster.nginx, "racer")
    entries = [owner, on(owner, cluster.a), on(owner, cluster.b)]  # nginx, node a, node b
    keep, gone = [f"keep-{i}.bin" for i in range(3)], [f"gone-{i}.bin" for i in range(2)]
    acknowledged: dict[str, dict[str, int]] = {}
    ids = {}
    for name in keep + gone:
        record = owner.ok(**upload_request(name, os.urandom(40 * 1024)))["files"][0]
        ids[name] = record["id"]
        acknowledged[name] = {record["sha256"]: record["revision"]}

    calls, replaced = [], []
    for name in keep:
        for entry in entries:
            content = os.urandom(32 * 1024 + len(calls))
            calls.append(entry.prepare(**upload_request(name, content, "?on_conflict=replace")))
            replaced.append((name, sha(content)))
    deletes = [entry.prepare("DELETE", f"/api/files/{ids[name]}") for name in gone for entry in entries]
    answers = race(calls + deletes)

    for (name, content_sha), answer in zip(replaced, answers):
        assert answer.status == 201, answer.body
        stored = answer.body["files"][0]
        assert stored["sha256"] == content_sha and stored["id"] == ids[name]
        assert stored["revision"] not in acknowledged[name].values(), "two replaces were told the same commit"
        acknowledged[name][content_sha] = stored["revision"]
    delete_answers = answers[len(calls):]
    assert set(by_status(delete_answers)) <= {204, 404}, by_status(delete_answers)
    for index, name in enumerate(gone):
        assert any(a.status == 204 for a in delete_answers[index * 3:index * 3 + 3]), f"{name} was never deleted"

    for name in keep:  # current content = last commit, versions = the others, each with its SHA-256
        check_replaced_file(cluster.nginx, owner.session, name, acknowledged[name])
    for entry in entries:
        live = {f["name"]: f for f in entry.ok("GET", "/api/files")["files"]}
        assert sorted(live) == keep
        for name in keep:
            assert download_sha(entry, f"/api/files/{ids[name]}") == live[name]["sha256"]
        assert sorted(t["id"] for t in entry.ok("GET", "/api/trash")["items"]) == sorted(ids[n] for n in gone)
    check_round(cluster.a, [owner])  # usage exact, records consistent, repair clean (node b idle)


def test_login_throttling_holds_across_nodes(cluster):
    # Registered, never logged in (a login counts too); a name of its own in the wire server's
    # shared counters.
    username = f"throttled-{uuid.uuid4().hex[:8]}"
    guesser = Client(cluster.nginx)
    guesser.ok("POST", "/api/register", json={"username": username, "password": PASSWORD})
    wrong = {"username": username, "password": "wrong password"}
    answered = []
    for _ in range(LOGIN_LIMIT):
        answer, request_id = tagged(guesser, "POST", "/api/login", json=wrong)
        assert answer.status == 401, answer.body
        answered.append(cluster.node_of(request_id))
    assert set(answered) == {"a", "b"}, f"the attempts were not spread over both nodes: {answered}"
    assert guesser.call("POST", "/api/login", json=wrong).status == 429
    right = {"username": username, "password": PASSWORD}
    for node in (cluster.a, cluster.b, cluster.nginx):  # the count is the cluster's, not a node's
        assert Client(node).call("POST", "/api/login", json=right).status == 429


def test_a_share_links_download_limit_holds_across_nodes(cluster):
    owner = signup(cluster.nginx, "sharer")
    data = b"counted once, whichever node serves it\n" * 2000
    file_id = owner.ok(**upload_request("counted.txt", data))["files"][0]["id"]
    share = owner.ok("POST", "/api/shares", json={"item_id": file_id, "max_downloads": MAX_DOWNLOADS})
    path = f"/s/{share['token']}/download"
    strangers = [Client(node) for node in (cluster.nginx, cluster.a, cluster.b) for _ in range(4)]
    answers = race([stranger.prepare("GET", path) for stranger in strangers])
    assert by_status(answers) == {200: MAX_DOWNLOADS, 404: len(strangers) - MAX_DOWNLOADS}, by_status(answers)
    assert all(sha(a.body.encode()) == sha(data) for a in answers if a.status == 200)
    for node in (cluster.a, cluster.b, cluster.nginx):
        assert Client(node).call("GET", path).status == 404
    assert owner.ok("GET", f"/api/shares/{share['share']['id']}")["download_count"] == MAX_DOWNLOADS


class Uploader(threading.Thread):
    """Uploads through nginx one after another until stopped; remembers every answer."""

    def __init__(self, user: LiveUser, balancer: LoadBalancer):
        super().__init__(daemon=True)
        self.user, self.balancer = user, balancer
        self.results: list[tuple[float, str, bytes, object]] = []  # (started, name, data, status or error)
        self.halt = threading.Event()

    def run(self) -> None:
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        session.cookies.update(self.user.session.cookies)
        while not self.halt.is_set():
            name, data = f"steady-{len(self.results)}.bin", os.urandom(MIB + len(self.results))
            started = time.monotonic()
            try:
                response = session.post(self.balancer.url("/api/upload"), files={"file": (name, data)},
                                        timeout=HTTP_TIMEOUT_S)
                outcome = response.status_code
                if outcome == 201:
                    self.user.acked[response.json()["files"][0]["id"]] = response.json()["files"][0]
            except requests.RequestException as exc:
                outcome = exc
            self.results.append((started, name, data, outcome))


def test_a_node_killed_mid_upload_loses_nothing_acknowledged(cluster):
    user = LiveUser(cluster.nginx, "survivor")
    user.upload("before.bin", os.urandom(2 * MIB))
    steady = Uploader(user, cluster.nginx)
    steady.start()
    cut = RawUpload(types.SimpleNamespace(server=cluster.b, cookie=user.cookie), "cut.bin", os.urandom(32 * MIB))
    assert cut.send(12 * MIB)  # node b is receiving it
    time.sleep(1)
    os.killpg(cluster.b.proc.pid, signal.SIGKILL)  # node b dies: master and workers at once
    killed_at = time.monotonic()
    cluster.b.kill()
    answer = cut.response()
    assert answer is None or answer[0] >= 500, f"an upload to a killed node was answered {answer}"
    deadline = killed_at + HTTP_TIMEOUT_S
    while sum(started > killed_at + 0.5 for started, *_ in steady.results) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)  # three uploads through nginx that started after the kill, answered
    steady.halt.set()
    steady.join(HTTP_TIMEOUT_S)

    failed = [(name, outcome) for started, name, _, outcome in steady.results if outcome != 201]
    assert all(isinstance(o, Exception) or o >= 500 for _, o in failed), failed
    after = [outcome for started, _, _, outcome in steady.results if started > killed_at + 0.5]
    assert after and all(o == 201 for o in after), f"uploads through nginx after the kill: {after}"
    assert len(user.acked) >= 4
    for _, name, data, outcome in steady.results:
        if outcome == 201:
            record = next(r for r in user.acked.values() if r["name"] == name)
            assert record["sha256"] == sha(data)
    listing = {f["id"]: f for f in user.session.get(cluster.nginx.url("/api/files?limit=200")).json()["files"]}
    assert set(user.acked) <= set(listing), "an acknowledged upload is missing"
    assert {f["name"] for i, f in listing.items() if i not in user.acked} <= {n for n, _ in failed}
    for file_id, record in user.acked.items():
        response = user.session.get(cluster.nginx.url(f"/api/files/{file_id}"), timeout=HTTP_TIMEOUT_S)
        assert response.status_code == 200 and sha(response.content) == record["sha256"], record["name"]

    assert cluster.a.stop() == 0  # the whole service is down now: repair may fix
    report = run_repair(cluster.a)  # the shared database and bucket, as both nodes left them
    if report.returncode != 0:
        assert_only_crash_debris(report.stdout, {len(d) for _, _, d, outcome in steady.results if outcome != 201})
        assert run_repair(cluster.a, "--fix").returncode == 0
    assert_repair_clean(cluster.a, "--verify")
    cluster.a.start()  # what --fix did took nothing acknowledged
    for file_id, record in user.acked.items():
        response = user.session.get(cluster.nginx.url(f"/api/files/{file_id}"), timeout=HTTP_TIMEOUT_S)
        assert response.status_code == 200 and sha(response.content) == record["sha256"], record["name"]


def assert_only_crash_debris(report: str, unacknowledged_sizes: set[int]) -> None:
    """What a node killed inside BlobService.adopt or just after it leaves of one upload it
    never acknowledged, and `repair --fix` clears: its owner's usage counted ahead by its size
    (charged, blob not yet recorded) or its blob with one reference no file uses (recorded, file
    not yet placed). Always ahead, never behind; nothing else may be wrong."""
    ahead = [int(counted) - int(held) for counted, held in re.findall(r"counted (\d+) bytes, blobs hold (\d+)", report)]
    extra_refs = [int(refs) - int(used) for refs, used in re.findall(r": refs (\d+), used by (\d+)", report)]
    assert f"{len(ahead) + len(extra_refs)} problem(s) found" in report, report
    assert 1 <= len(ahead) + len(extra_refs) <= 2, report  # one upload was in flight on the killed node
    assert set(ahead) <= unacknowledged_sizes and all(n == 1 for n in extra_refs), report

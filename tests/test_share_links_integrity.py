"""Share links hold their limits: download counting under any Range spelling and in parallel,
edits that end earlier unlocks, no-referrer, one friendly 404 page, Windows-safe ZIP names.

Unit tests run on mongomock and on the embedded store; the parallel test runs on a live
Gunicorn. Randomised tests use a seeded ``random.Random`` (hypothesis is not installed): the
seed is in the test id, so a failure replays.
"""
from __future__ import annotations

import io
import pathlib
import random
import threading
import zipfile
from datetime import datetime, timedelta, timezone

import mongomock
import pytest
from bson import ObjectId
import requests

from app import create_app
from app.sharing.archive import safe_archive_names, windows_safe_name
from config import TestingConfig
from tests.conftest import AuthActions, upload
from tests.live_server import HTTP_TIMEOUT_S, on_both_backends
from tests.test_folders import folder
from tests.test_web_ui import browser  # noqa: F401  (a fixture: Chromium through Playwright)

DATA = bytes(range(256)) * 4 + b"tail"  # 1028 bytes, every offset recognisable
SIZE = len(DATA)
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(params=["mongomock", "embedded"])
def app(request, tmp_path):
    settings = TestingConfig.load({})
    settings.update(UPLOAD_FOLDER=str(tmp_path / "uploads"), INSTANCE_PATH=str(tmp_path / "instance"))
    if request.param == "mongomock":
        settings["MONGO_CLIENT_FACTORY"] = lambda: mongomock.MongoClient(tz_aware=True)
    else:
        settings["EMBEDDED_DB_PATH"] = str(tmp_path / "data")
    application = create_app(settings)
    yield application
    if request.param == "embedded":
        application.extensions["drive_db"].close()


@pytest.fixture
def alice(client):
    AuthActions(client).signup()
    return client


def put(client, name, data=DATA, folder_id="root"):
    response = upload(client, (name, data), query=f"?folder_id={folder_id}")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["files"][0]["id"]


def make_link(client, item_id, **options):
    response = client.post("/api/shares", json={"item_id": item_id, **options})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return body["token"], body["share"]["id"]


def count(owner, share_id) -> int:
    return owner.get(f"/api/shares/{share_id}").get_json()["download_count"]


def fetch(client, path, method="GET", **headers):
    response = client.open(path, method=method, headers=headers)
    body = response.get_data()
    response.close()
    return response, body


def served_range(response, body) -> tuple[int, int] | None:
    """(first byte, length) of what a response served, checked against the file; None if nothing."""
    if response.status_code == 200:
        assert body == DATA
        return 0, len(body)
    if response.status_code == 206:
        content_range = response.content_range
        assert body == DATA[content_range.start:content_range.stop]
        return content_range.start, len(body)
    return None


# -- Range spellings, generated -----------------------------------------------------------------

def _number(rng: random.Random, value: int) -> str:
    return "0" * rng.choice([0, 0, 1, 2, 7]) + str(value)


def _blank(rng: random.Random) -> str:
    return rng.choice(["", "", "", " ", "  ", "\t"])


def _range_spec(rng: random.Random, from_zero: bool) -> str:
    """One byte-range-spec, well formed or not."""
    kind = "zero" if from_zero else rng.choice(["zero", "open", "closed", "suffix", "inverted", "beyond", "junk"])
    b = lambda: _blank(rng)  # noqa: E731
    if kind == "zero":
        end = rng.choice(["", _number(rng, rng.randrange(SIZE * 2))])
        return f"{b()}{_number(rng, 0)}{b()}-{b()}{end}{b()}"
    if kind == "open":
        return f"{b()}{_number(rng, rng.randrange(SIZE))}-{b()}"
    if kind == "closed":
        start = rng.randrange(SIZE)
        return f"{b()}{_number(rng, start)}-{_number(rng, start + rng.randrange(64))}{b()}"
    if kind == "suffix":
        return f"{b()}-{_number(rng, rng.choice([1, 7, SIZE - 1, SIZE, SIZE + 5, 10 ** 12]))}{b()}"
    if kind == "inverted":
        return f"{_number(rng, 9)}-{_number(rng, 3)}"
    if kind == "beyond":
        return f"{_number(rng, SIZE + rng.randrange(1, 99))}-"
    return rng.choice(["", "-", "x-y", "0x0-", "1e3-", "+0-", "0-+5", "٠-", "--0", "0--1", "0-1-2"])


def random_range_header(rng: random.Random, from_zero: bool = False) -> str:
    unit = rng.choice(["bytes", "bytes", "Bytes", "BYTES", " bytes", "bytes ", "items", "byte"])
    specs = [_range_spec(rng, from_zero and i == 0) for i in range(rng.choice([1, 1, 1, 2, 3, 8]))]
    return unit + rng.choice(["=", "=", " =", "= "]) + rng.choice([",", ", ", " ,", ",,"]).join(specs)


def zero_start_header(rng: random.Random) -> str:
    """A valid single range from byte 0, spelled one of many ways (leading zeros, blanks, case,
    open or closed, or a suffix as long as the file; Werkzeug refuses longer suffixes with 416)."""
    if rng.random() < 0.2:
        return f"bytes=-{_number(rng, SIZE)}"
    end = rng.choice(["", _number(rng, rng.randrange(SIZE * 2))])
    unit = rng.choice(["bytes", "Bytes", "BYTES"])
    return f"{unit}{rng.choice(['=', ' =', '= '])}{_number(rng, 0)}{rng.choice(['', ' '])}-{end}"


SEEDS = [11, 23, 2026]


@pytest.mark.parametrize("seed", SEEDS)
def test_without_a_cookie_every_response_that_serves_bytes_counts_whatever_the_range_spelling(app, alice, seed):
    rng = random.Random(seed)
    token, share_id = make_link(alice, put(alice, "data.bin"), max_downloads=1000)
    curl = app.test_client(use_cookies=False)
    expected, statuses = 0, set()
    for _ in range(150):
        header = random_range_header(rng, from_zero=rng.random() < 0.4) if rng.random() < 0.9 else None
        response, body = fetch(curl, f"/s/{token}/download", **({"Range": header} if header else {}))
        statuses.add(response.status_code)
        assert response.status_code in (200, 206, 416), (header, response.status_code)
        if served_range(response, body) is not None:
            expected += 1
        assert count(alice, share_id) == expected, f"Range: {header!r} answered {response.status_code}"
    assert {200, 206, 416} <= statuses  # the generator reaches every outcome


@pytest.mark.parametrize("seed", SEEDS)
def test_a_used_up_link_serves_no_more_bytes_to_any_range_spelling(app, alice, seed):
    rng = random.Random(seed)
    limit = 3
    token, share_id = make_link(alice, put(alice, "data.bin"), max_downloads=limit)
    served = 0
    for attempt in range(60):
        header = random_range_header(rng, from_zero=attempt % 2 == 0)
        response, body = fetch(app.test_client(), f"/s/{token}/download", Range=header)  # a new visitor each time
        if served_range(response, body) is not None:
            served += 1
        elif served >= limit:
            assert response.status_code == 404 and response.get_json()["error"]["code"] == "share_not_found"
    assert served == limit and count(alice, share_id) == limit


@pytest.mark.parametrize("seed", SEEDS)
def test_many_small_ranges_in_one_browser_session_cannot_get_more_than_twice_the_file_per_download(app, alice, seed):
    """A resume allowance covers at most one file's worth of later ranges; ranges from byte 0
    always count. So whatever a session asks for, bytes served <= 2 x size x downloads counted."""
    rng = random.Random(seed)
    token, share_id = make_link(alice, put(alice, "data.bin"), max_downloads=1000)
    browser = app.test_client()
    total = 0
    for _ in range(200):
        if rng.random() < 0.5:
            start = rng.randrange(1, SIZE)
            header = f"bytes={start}-{start + rng.randrange(40)}"
        else:
            header = random_range_header(rng)
        before = count(alice, share_id)
        response, body = fetch(browser, f"/s/{token}/download", Range=header)
        got = served_range(response, body)
        if got is None:
            assert count(alice, share_id) == before
            continue
        total += got[1]
        if got[0] == 0:
            assert count(alice, share_id) == before + 1, f"a response from byte 0 ({header!r}) was free"
        assert total <= 2 * SIZE * count(alice, share_id)
    assert count(alice, share_id) >= total // (2 * SIZE)


def test_a_browser_resuming_its_download_is_not_charged_twice_even_on_the_last_download(app, alice):
    token, share_id = make_link(alice, put(alice, "data.bin"), max_downloads=1)
    browser, stranger = app.test_client(), app.test_client()
    response, body = fetch(browser, f"/s/{token}/download", Range="bytes=0-99")  # cut off after 100 bytes
    assert response.status_code == 206 and count(alice, share_id) == 1
    response, body = fetch(browser, f"/s/{token}/download", Range="bytes=100-")
    assert response.status_code == 206 and body == DATA[100:]
    assert count(alice, share_id) == 1
    for path in (f"/s/{token}/download", f"/s/{token}"):
        assert fetch(stranger, path)[0].status_code == 404
    assert fetch(browser, f"/s/{token}/download")[0].status_code == 404  # from byte 0 again: a new download
    assert fetch(browser, f"/s/{token}/download", Range="bytes=10-")[0].status_code == 404  # allowance used up


def test_head_not_modified_and_unsatisfiable_requests_do_not_count(app, alice):
    token, share_id = make_link(alice, put(alice, "data.bin"), max_downloads=2)
    curl = app.test_client(use_cookies=False)
    head, _ = fetch(curl, f"/s/{token}/download", method="HEAD")
    assert head.status_code == 200 and head.headers["Content-Length"] == str(SIZE)
    etag = head.headers["ETag"]
    assert fetch(curl, f"/s/{token}/download", **{"If-None-Match": etag})[0].status_code == 304
    assert fetch(curl, f"/s/{token}/download", Range=f"bytes={SIZE + 1}-")[0].status_code == 416
    assert count(alice, share_id) == 0
    assert fetch(curl, f"/s/{token}/download")[0].status_code == 200
    assert count(alice, share_id) == 1


def test_a_file_in_a_shared_folder_counts_the_same_way_and_head_of_a_zip_does_not_count(app, alice):
    top = folder(alice, "Shared")
    file_id = put(alice, "inside.bin", folder_id=top)
    token, share_id = make_link(alice, top, max_downloads=2)
    curl = app.test_client(use_cookies=False)
    assert fetch(curl, f"/s/{token}/zip", method="HEAD")[0].status_code == 200
    assert count(alice, share_id) == 0
    assert fetch(curl, f"/s/{token}/files/{file_id}", Range="bytes=00-")[0].status_code == 206
    assert fetch(curl, f"/s/{token}/files/{file_id}", Range="bytes=0000-5")[0].status_code == 206
    assert count(alice, share_id) == 2
    assert fetch(curl, f"/s/{token}/files/{file_id}", Range="bytes=7-")[0].status_code == 404
    assert fetch(curl, f"/s/{token}/zip")[0].status_code == 404


# -- edits end earlier unlocks --------------------------------------------------------------------

def unlocked_browser(app, token, password):
    browser = app.test_client()
    assert browser.post(f"/s/{token}/unlock", json={"password": password}).status_code == 200
    return browser


@pytest.mark.parametrize("edit", [{"password": "new secret"}, {"label": "renamed"}, {"max_downloads": 50},
                                  {"expires_at": "2999-01-01T00:00:00Z"}, {}])
def test_any_edit_of_a_link_ends_earlier_unlocks(app, alice, edit):
    top = folder(alice, "Private")
    put(alice, "a.bin", folder_id=top)
    token, share_id = make_link(alice, top, password="old secret")
    browser = unlocked_browser(app, token, "old secret")
    assert fetch(browser, f"/s/{token}/zip")[0].status_code == 200
    assert alice.patch(f"/api/shares/{share_id}", json=edit).status_code == 200
    for path in (f"/s/{token}/zip", f"/s/{token}/items"):
        response, _ = fetch(browser, path)
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "password_required"
    assert browser.get(f"/s/{token}").get_json()["unlocked"] is False


def test_removing_then_setting_a_password_asks_for_the_new_one(app, alice):
    token, share_id = make_link(alice, put(alice, "a.bin"), password="first")
    browser = unlocked_browser(app, token, "first")
    alice.patch(f"/api/shares/{share_id}", json={"password": None})
    assert fetch(browser, f"/s/{token}/download")[0].status_code == 200  # an open link is open to all
    alice.patch(f"/api/shares/{share_id}", json={"password": "second"})
    assert fetch(browser, f"/s/{token}/download")[0].status_code == 401
    assert browser.post(f"/s/{token}/unlock", json={"password": "first"}).status_code == 401
    assert unlocked_browser(app, token, "second").get(f"/s/{token}").get_json()["unlocked"] is True


def test_an_edit_ends_resume_allowances_and_revoking_ends_everything(app, alice):
    token, share_id = make_link(alice, put(alice, "a.bin"), max_downloads=1, password="pw")
    browser = unlocked_browser(app, token, "pw")
    assert fetch(browser, f"/s/{token}/download", Range="bytes=0-9")[0].status_code == 206
    assert fetch(browser, f"/s/{token}/download", Range="bytes=10-19")[0].status_code == 206
    alice.patch(f"/api/shares/{share_id}", json={"label": "changed"})
    browser.post(f"/s/{token}/unlock", json={"password": "pw"})
    assert fetch(browser, f"/s/{token}/download", Range="bytes=20-")[0].status_code == 404
    assert alice.patch(f"/api/shares/{share_id}", json={"max_downloads": 5}).status_code == 200
    browser.post(f"/s/{token}/unlock", json={"password": "pw"})
    assert fetch(browser, f"/s/{token}/download")[0].status_code == 200
    assert alice.delete(f"/api/shares/{share_id}").status_code == 204
    assert fetch(browser, f"/s/{token}/download", Range="bytes=5-")[0].status_code == 404


def test_a_browser_opening_a_locked_download_is_sent_to_the_password_form(app, alice):
    token, _ = make_link(alice, put(alice, "a.bin"), password="pw")
    response = app.test_client().get(f"/s/{token}/download", headers=HTML)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/s/{token}")
    assert app.test_client().get(f"/s/{token}/download").status_code == 401


# -- headers and pages ----------------------------------------------------------------------------

def test_every_public_response_sends_no_referrer(app, alice):
    top = folder(alice, "Top")
    file_id = put(alice, "a.bin", folder_id=top)
    token, _ = make_link(alice, top)
    locked, _ = make_link(alice, put(alice, "b.bin"), password="pw")
    visitor = app.test_client()
    requests_to_check = [
        ("GET", f"/s/{token}", {}), ("GET", f"/s/{token}", HTML), ("GET", f"/s/{token}/items", {}),
        ("GET", f"/s/{token}/files/{file_id}", {}), ("GET", f"/s/{token}/files/{file_id}", {"Range": "bytes=3-"}),
        ("HEAD", f"/s/{token}/files/{file_id}", {}), ("GET", f"/s/{token}/zip", {}),
        ("GET", f"/s/{locked}/download", {}), ("GET", f"/s/{locked}/download", HTML),
        ("POST", f"/s/{locked}/unlock", {}), ("GET", f"/s/{'x' * 32}", {}), ("GET", f"/s/{'x' * 32}", HTML),
        ("GET", f"/s/{token}/nothing/here", {}), ("PUT", f"/s/{token}", {}),
    ]
    for method, path, headers in requests_to_check:
        response, _ = fetch(visitor, path, method=method, **headers)
        assert response.headers.get("Referrer-Policy") == "no-referrer", (method, path, response.status_code)
    page = visitor.get(f"/s/{token}", headers=HTML).get_data(as_text=True)
    assert '<meta name="referrer" content="no-referrer">' in page


def _dead_links(app, alice) -> dict[str, str]:
    """One link in each state a stranger must not be able to tell apart."""
    expired, expired_id = make_link(alice, put(alice, "e.bin"), expires_at=(
        datetime.now(timezone.utc) + timedelta(hours=1)).isoformat())
    # The clock moves on: through the repository, whichever engine the app runs on.
    app.extensions["drive_services"].shares.shares.update(
        ObjectId(expired_id), {"expires_at": datetime.now(timezone.utc) - timedelta(seconds=1)})
    exhausted, _ = make_link(alice, put(alice, "x.bin"), max_downloads=1)
    assert fetch(app.test_client(), f"/s/{exhausted}/download")[0].status_code == 200
    revoked, revoked_id = make_link(alice, put(alice, "r.bin"))
    alice.delete(f"/api/shares/{revoked_id}")
    return {"expired": expired, "exhausted": exhausted, "revoked": revoked, "unknown": "u" * 32}


def test_a_dead_link_shows_one_friendly_page_to_browsers_and_json_to_programs(app, alice):
    links = _dead_links(app, alice)
    stranger = app.test_client()
    pages = set()
    for state, token in links.items():
        for path in (f"/s/{token}", f"/s/{token}/download", f"/s/{token}/items", f"/s/{token}/zip",
                     f"/s/{token}/files/{'0' * 24}"):
            response, body = fetch(stranger, path, **HTML)
            assert (response.status_code, response.mimetype) == (404, "text/html"), (state, path)
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
            pages.add(body)
            api, _ = fetch(stranger, path)
            assert api.status_code == 404 and api.get_json()["error"]["code"] == "share_not_found", (state, path)
    assert len(pages) == 1
    page = pages.pop().decode()
    assert "This link does not work" in page and "share.css" in page and "{" not in page


def test_too_many_password_tries_in_a_browser_show_a_page(app, alice):
    token, _ = make_link(alice, put(alice, "a.bin"), password="pw")
    browser = app.test_client()
    for _ in range(10):
        browser.post(f"/s/{token}/unlock", data={"password": "guess"}, headers=HTML)
    response = browser.post(f"/s/{token}/unlock", data={"password": "pw"}, headers=HTML)
    assert response.status_code == 429 and response.mimetype == "text/html" and "Retry-After" in response.headers
    assert "Too many tries" in response.get_data(as_text=True)


# -- Windows-safe ZIP entry names -----------------------------------------------------------------

DEVICES = ["CON", "PRN", "AUX", "NUL", "COM1", "COM9", "LPT1", "LPT9", "COM0", "CONIN$", "CONOUT$", "COM\u00b9"]
REFUSED = '<>:"|?*\\/'


def windows_accepts(name: str) -> bool:
    """Windows' rules for one path component, written independently of the code under test."""
    if not name or len(name) > 255 or name in (".", ".."):
        return False
    if any(ch in REFUSED or ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return False
    if name[-1] in " .":
        return False
    return name.split(".")[0].rstrip(" ").upper() not in DEVICES


def random_name(rng: random.Random) -> str:
    pieces = ["a", "A", "b", "é", "É", "x", ".", ".", " ", "txt", "TXT", "tar", "gz", " (2)", "_", ":", "\\",
              "<", ">", '"', "|", "?", "*", "\x00", "\x1f", "\x7f", "\t", "日本", "ß", "ſ"]
    name = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 6)))
    roll = rng.random()
    if roll < 0.25:
        name = rng.choice(DEVICES + [d.lower() for d in DEVICES] + ["Con", "nUl"]) + rng.choice(
            ["", ".txt", ".tar.gz", " .txt", ".", " ", ":stream"])
    elif roll < 0.3:
        name = rng.choice(["C:", "x:y.txt", "a.", "a ", "...", " ", "a" * 300 + ".txt", "b" * 400])
    return name


@pytest.mark.parametrize("seed", range(5))
def test_archive_names_are_windows_safe_and_distinct_ignoring_case(seed):
    rng = random.Random(seed)
    for _ in range(300):
        names = [random_name(rng) for _ in range(rng.randrange(1, 12))]
        if rng.random() < 0.3:  # siblings that differ only in case, or that map to the same name
            names += [n.upper() for n in names[:3]] + [n + "." for n in names[:2]]
        safe = safe_archive_names(names)
        assert len(safe) == len(names)
        assert all(windows_accepts(n) for n in safe), [(o, n) for o, n in zip(names, safe) if not windows_accepts(n)]
        for fold in (str.lower, str.upper, str.casefold):
            assert len({fold(n) for n in safe}) == len(safe), (names, safe)
        assert safe == safe_archive_names(list(names))  # the same every time
        folded = [n.casefold() for n in names]
        for original, mapped in zip(names, safe):
            if windows_accepts(original) and folded.count(original.casefold()) == 1:
                assert mapped == original  # a name that was fine and unique keeps it


@pytest.mark.parametrize("name, safe", [("C:", "C_"), ("x:y.txt", "x_y.txt"), ("CON", "_CON"), ("nul.txt", "_nul.txt"),
                                        ("COM1.txt", "_COM1.txt"), ("lpt9.tar.gz", "_lpt9.tar.gz"),
                                        ("report. . ", "report"), ('a<b>"c|d?e*', "a_b__c_d_e_"),
                                        ("tab\there", "tab_here"), ("...", "_"), ("CONSOLE.txt", "CONSOLE.txt")])
def test_known_windows_traps_are_mapped(name, safe):
    assert windows_safe_name(name) == safe


def test_collisions_after_mapping_get_numbers_before_the_extension():
    assert safe_archive_names(["a:b.txt", "a_b.txt", "A?b.TXT", "Report.txt", "report.txt"]) == [
        "a_b (3).txt", "a_b.txt", "A_b (2).TXT", "Report.txt", "report (2).txt"]


def test_a_zip_with_windows_trap_names_extracts_with_every_entry_distinct(app, alice, tmp_path):
    top = folder(alice, "C:")
    inner = folder(alice, "CON", top)
    names = {"x:y.txt": top, "x_y.txt": top, "nul.txt": top, "NUL.TXT.": inner, "Lpt9.tar.gz": inner,
             "a?.txt": inner, "a*.txt": inner, "trailing. ": inner, "trailing": inner}
    contents = {}
    for index, (name, parent) in enumerate(names.items()):
        data = f"{index}:{name}".encode()
        put(alice, name, data, parent)
        contents[data] = name
    token, _ = make_link(alice, top)
    response, body = fetch(app.test_client(), f"/s/{token}/zip")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        entries = archive.namelist()
        for entry in entries:
            assert all(windows_accepts(part) for part in entry.rstrip("/").split("/")), entry
        assert len({e.casefold() for e in entries}) == len(entries)
        archive.extractall(tmp_path / "out")
    extracted = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert sorted(p.read_bytes() for p in extracted) == sorted(contents)
    assert {p.parent.name for p in extracted} == {"C_", "_CON"}
    assert (tmp_path / "out" / "C_" / "x_y.txt").read_bytes().decode().endswith(":x_y.txt")


# -- parallel clients on a live server ---------------------------------------------------------

def _parallel(count_: int, work) -> list:
    barrier = threading.Barrier(count_)
    results = [None] * count_

    def run(index):
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001  (reported by the caller's assertion)
            results[index] = exc
    threads = [threading.Thread(target=run, args=(i,)) for i in range(count_)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def live_owner(server) -> requests.Session:
    owner = requests.Session()
    credentials = {"username": "alice", "password": "correct horse"}
    for path in ("/api/register", "/api/login"):
        assert owner.post(server.url(path), json=credentials, timeout=HTTP_TIMEOUT_S).ok
    return owner


@pytest.mark.e2e
@on_both_backends
def test_parallel_clients_never_get_past_max_downloads(server):
    owner = live_owner(server)

    def link(item_id):
        body = owner.post(server.url("/api/shares"), json={"item_id": item_id, "max_downloads": 5},
                          timeout=HTTP_TIMEOUT_S).json()
        return body["token"], body["share"]["id"]

    def upload_to(folder_id, name):
        files = {"file": (name, DATA)}
        response = owner.post(server.url(f"/api/upload?folder_id={folder_id}"), files=files, timeout=HTTP_TIMEOUT_S)
        assert response.status_code == 201, response.text
        return response.json()["files"][0]["id"]

    top = owner.post(server.url("/api/folders"), json={"name": "Shared", "parent_id": "root"},
                     timeout=HTTP_TIMEOUT_S).json()["id"]
    inner_file = upload_to(top, "inside.bin")
    file_token, file_share = link(upload_to("root", "data.bin"))
    folder_token, folder_share = link(top)
    rng = random.Random(7)
    for token, share_id, path, full in ((file_token, file_share, "download", DATA),
                                        (folder_token, folder_share, f"files/{inner_file}", DATA),
                                        (folder_token, None, "zip", None)):
        spellings = [zero_start_header(rng) if i % 2 else None for i in range(24)]
        if share_id is None:  # the folder link: reset the limit for the ZIP round
            owner.patch(server.url(f"/api/shares/{folder_share}"), json={"max_downloads": 10},
                        timeout=HTTP_TIMEOUT_S)
            share_id = folder_share

        def download(index):
            headers = {"Range": spellings[index]} if spellings[index] else {}
            response = requests.get(server.url(f"/s/{token}/{path}"), headers=headers, timeout=HTTP_TIMEOUT_S)
            return response.status_code, response.content
        results = _parallel(24, download)
        assert not [r for r in results if isinstance(r, Exception)], results
        served = [r for r in results if r[0] in (200, 206)]
        refused = [r for r in results if r[0] == 404]
        expected = 5  # the ZIP round raised the folder link's limit from 5 used to 10
        assert (len(served), len(refused)) == (expected, 24 - expected), (
            path, [(spellings[i], r[0], r[1][:200]) for i, r in enumerate(results) if r[0] not in (200, 206, 404)])
        if full is not None:
            assert all(body == DATA for status, body in served if status == 200)
        state = owner.get(server.url(f"/api/shares/{share_id}"), timeout=HTTP_TIMEOUT_S).json()
        assert (state["download_count"], state["state"]) == (5 if path != "zip" else 10, "exhausted")


@pytest.mark.e2e
def test_an_anonymous_browser_session_resumes_through_gunicorn_and_nobody_else_can(server):
    """The resume allowance lives in Flask's signed cookie session, which visitors without an
    account get too."""
    owner = live_owner(server)
    response = owner.post(server.url("/api/upload"), files={"file": ("data.bin", DATA)}, timeout=HTTP_TIMEOUT_S)
    file_id = response.json()["files"][0]["id"]
    token = owner.post(server.url("/api/shares"), json={"item_id": file_id, "max_downloads": 1},
                       timeout=HTTP_TIMEOUT_S).json()["token"]
    browser = requests.Session()
    first = browser.get(server.url(f"/s/{token}/download"), headers={"Range": "bytes=0-99"}, timeout=HTTP_TIMEOUT_S)
    assert first.status_code == 206 and browser.cookies.get("session")
    rest = browser.get(server.url(f"/s/{token}/download"), headers={"Range": "bytes=100-"}, timeout=HTTP_TIMEOUT_S)
    assert rest.status_code == 206 and first.content + rest.content == DATA
    assert rest.headers["Referrer-Policy"] == "no-referrer"
    assert requests.get(server.url(f"/s/{token}/download"), headers={"Range": "bytes=100-"},
                        timeout=HTTP_TIMEOUT_S).status_code == 404


# -- in Chromium ------------------------------------------------------------------------------

@pytest.mark.e2e
def test_in_chromium_a_dead_link_shows_the_page_and_a_locked_download_asks_for_the_password(server, browser,
                                                                                           tmp_path):
    owner = live_owner(server)
    file_id = owner.post(server.url("/api/upload"), files={"file": ("data.bin", DATA)},
                         timeout=HTTP_TIMEOUT_S).json()["files"][0]["id"]

    def live_link(**options):
        body = owner.post(server.url("/api/shares"), json={"item_id": file_id, **options},
                          timeout=HTTP_TIMEOUT_S).json()
        return body["token"], body["share"]["id"]
    used_up, _ = live_link(max_downloads=1)
    assert requests.get(server.url(f"/s/{used_up}/download"), timeout=HTTP_TIMEOUT_S).status_code == 200
    locked, locked_id = live_link(password="pw")

    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    referers = []
    page.on("request", lambda r: referers.append(r.headers.get("referer")) if "/s/" in r.url else None)
    try:
        response = page.goto(server.url(f"/s/{used_up}/download"))
        assert response.status == 404 and page.title().startswith("This link does not work")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(244, 245, 247)"  # share.css applies, as on every public page
        page.screenshot(path=str(tmp_path / "dead-link.png"))

        page.goto(server.url(f"/s/{locked}/download"))
        assert page.url == server.url(f"/s/{locked}")
        page.fill("#password", "pw")
        page.get_by_role("button", name="Open").click()
        with page.expect_download() as download:
            page.get_by_role("link", name="Download").click()
        assert pathlib.Path(download.value.path()).read_bytes() == DATA
        assert referers and not any(referers), referers  # the token never leaves in a Referer

        owner.patch(server.url(f"/api/shares/{locked_id}"), json={"password": "changed"}, timeout=HTTP_TIMEOUT_S)
        page.goto(server.url(f"/s/{locked}/download"))
        assert page.url == server.url(f"/s/{locked}") and page.locator("#password").is_visible()
    finally:
        context.close()


def test_the_unlock_form_of_a_no_referrer_page_is_accepted_but_other_sites_are_not(app, alice):
    """Under no-referrer, browsers post the page's own form with "Origin: null"; Sec-Fetch-Site
    (which no page can set) tells it apart from another site's post."""
    token, _ = make_link(alice, put(alice, "a.bin"), password="pw")
    own = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    for headers in ({"Origin": "null"}, {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
                    {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"}):
        response = app.test_client().post(f"/s/{token}/unlock", data={"password": "pw"}, headers={**HTML, **headers})
        assert response.status_code == 403, headers
    response = app.test_client().post(f"/s/{token}/unlock", data={"password": "pw"}, headers={**HTML, **own})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/s/{token}")

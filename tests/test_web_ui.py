"""The web app in a real browser: Debian's Chromium driven by Playwright against a live Gunicorn.

Screenshots of the main screens land in test-artifacts/screenshots/ (git-ignored).
"""
import hashlib
import os
import re
import shutil
import time

import pytest
from playwright.sync_api import expect

from tests.live_server import ENCRYPTED, REPO_ROOT
from tests.smtp_server import smtp_inbox  # noqa: F401  (fixture: a local SMTP server)

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = os.path.join(REPO_ROOT, "test-artifacts", "screenshots")
JS_MODULES = os.path.join(REPO_ROOT, "app", "static", "js")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"Chromium is required here but {CHROMIUM} does not exist")
        pytest.skip("Chromium is not installed (apt-get install chromium; make test does it when run as root)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def watched_page(context):
    """A page of ``context`` and the list its uncaught exceptions and console errors go to.
    Failed requests the app handles (401 before login, an expected 409) are logged by the
    browser too; anything else logged as an error is a bug."""
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    return page, problems


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 800}, accept_downloads=True)
    page, problems = watched_page(context)
    yield page
    context.close()
    assert not problems, problems


# The web app's second pass is tried at a laptop's width and a phone's.
BOTH_WIDTHS = pytest.mark.parametrize("width", [1366, 390])


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def select(page, name):
    page.get_by_label(f"Select {name}", exact=True).check()


def row(page, name):
    return page.locator("tbody tr", has=page.get_by_role("button", name=name, exact=True))


def sign_up(page, server, username):
    """Create an account in the web app and land in the drive."""
    page.goto(server.base_url + "/#/register")
    page.fill("#auth-username", username)
    page.fill("#auth-password", "password123")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_selector(".topbar")


def log_in(page, username: str, password: str) -> None:
    """Fill and send the login form that the page shows."""
    page.fill("#auth-username", username)
    page.fill("#auth-password", password)
    page.get_by_role("button", name="Log in").click()


def imported_modules(name="main.js", seen=None):
    """The web app's modules reachable by static imports from ``name``."""
    seen = set() if seen is None else seen
    seen.add(name)
    with open(os.path.join(JS_MODULES, name), encoding="utf-8") as fh:
        for imported in re.findall(r'^import .* from "\./([\w-]+\.js)";$', fh.read(), re.M):
            if imported not in seen:
                imported_modules(imported, seen)
    return seen


def test_every_module_of_the_web_app_loads(page, server):
    """Each ES module in app/static/js/ is imported from main.js, served as JavaScript (module
    scripts under nosniff need it) and runs: the sign-in form renders, and the page fixture fails
    on any console error or uncaught exception (a CSP refusal or a bad import is one)."""
    modules = {name for name in os.listdir(JS_MODULES) if name.endswith(".js")}
    assert imported_modules() == modules
    served = {}
    page.on("response", lambda response: served.__setitem__(response.url, response))
    page.goto(server.base_url + "/")
    page.wait_for_selector(".auth-form")
    for name in modules:
        response = served[server.url(f"/static/js/{name}")]
        assert response.status == 200, name
        assert response.headers["content-type"].startswith("text/javascript"), name
    version = page.locator(".auth-version").inner_text()  # the footer's version is /api/status's
    assert version == "Version " + page.request.get(server.url("/api/status")).json()["version"]


def test_a_person_manages_files_in_the_browser(page, server, tmp_path):
    page.goto(server.base_url + "/")
    page.get_by_role("link", name="No account yet? Create one").click()
    page.fill("#auth-username", "erin")
    page.fill("#auth-password", "password123")
    shot(page, "01-register")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_selector(".topbar")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_selector(".auth-form")
    page.fill("#auth-username", "erin")
    page.fill("#auth-password", "wrong-password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Invalid username or password.").wait_for()
    shot(page, "02-login-error")
    page.fill("#auth-password", "password123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector(".topbar")

    report = tmp_path / "report.txt"
    report.write_bytes(b"quarterly numbers\n" * 1000)
    photo = tmp_path / "تقرير.png"
    photo.write_bytes(os.urandom(2 * 1024 * 1024))
    page.set_input_files(".file-input", [str(report), str(photo)])
    for name in ("report.txt", "تقرير.png"):
        status = page.locator(f'.uploads li[data-name="{name}"] .up-status')
        status.filter(has_text="Uploaded").wait_for()
        progress = page.locator(f'.uploads li[data-name="{name}"] progress')
        assert progress.evaluate("p => p.value === p.max")
    row(page, "report.txt").wait_for()
    shot(page, "03-folder-with-uploads")

    page.get_by_role("button", name="+ New folder").click()
    page.fill("#dialog-name", "Reports 2026")
    page.get_by_role("button", name="Create").click()
    row(page, "Reports 2026").wait_for()

    select(page, "report.txt")
    page.get_by_role("button", name="Move", exact=True).click()
    page.locator("dialog .tree button", has_text="Reports 2026").click()
    shot(page, "04-move-dialog")
    page.locator("dialog .dialog-ok").click()
    row(page, "report.txt").wait_for(state="detached")

    row(page, "Reports 2026").get_by_role("button", name="Reports 2026", exact=True).click()
    page.locator(".breadcrumbs", has_text="Reports 2026").wait_for()
    select(page, "report.txt")
    page.get_by_role("button", name="Rename").click()
    page.fill("#dialog-name", "q1-report.txt")
    page.locator("dialog .dialog-ok").click()
    row(page, "q1-report.txt").wait_for()

    select(page, "q1-report.txt")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download", exact=True).click()
    assert download.value.suggested_filename == "q1-report.txt"
    with open(download.value.path(), "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == hashlib.sha256(report.read_bytes()).hexdigest()

    page.get_by_role("button", name="Delete", exact=True).click()
    row(page, "q1-report.txt").wait_for(state="detached")
    page.get_by_role("link", name="Trash").click()
    row(page, "q1-report.txt").wait_for()
    shot(page, "05-trash")
    select(page, "q1-report.txt")
    page.get_by_role("button", name="Restore").click()
    row(page, "q1-report.txt").wait_for(state="detached")

    page.fill("#search-input", "Q1-REP")
    page.press("#search-input", "Enter")
    found = row(page, "q1-report.txt")
    found.wait_for()
    assert found.locator(".col-where").inner_text() == "/Reports 2026"
    shot(page, "06-search")

    page.get_by_role("link", name="My Drive").click()
    row(page, "تقرير.png").get_by_role("button", name="تقرير.png", exact=True).click()
    page.locator("dialog .preview img").wait_for()
    shot(page, "07-preview")
    page.get_by_role("button", name="Close").click()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_selector(".auth-form")
    page.goto(server.base_url + "/#/trash")
    page.wait_for_selector(".auth-form")


def test_share_dialog_and_the_public_page(page, server, tmp_path, browser):
    sign_up(page, server, "frank")
    doc = tmp_path / "plan.txt"
    doc.write_bytes(b"the plan")
    page.set_input_files(".file-input", [str(doc)])
    row(page, "plan.txt").wait_for()
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "08-phone-width")
    page.set_viewport_size({"width": 1280, "height": 800})
    select(page, "plan.txt")
    page.get_by_role("button", name="Share").click()
    page.fill("#share-password", "s3cret")
    page.fill("#share-max", "3")
    page.get_by_role("button", name="Create link").click()
    url = page.locator(".share-url").input_value()
    page.locator("dialog .links li", has_text="3 downloads").or_(page.locator("dialog .links li", has_text="0/3")).wait_for()
    shot(page, "09-share-dialog")
    assert url.startswith(server.base_url + "/s/")

    visitor = browser.new_context()
    public = visitor.new_page()
    public.goto(url)
    public.fill("#password", "s3cret")
    public.get_by_role("button", name="Open").click()
    public.get_by_role("link", name="Download").wait_for()
    shot(public, "10-public-link")
    visitor.close()

    # The audit log is written in batches (AUDIT_FLUSH_SECONDS, per worker): wait until the
    # unlock, which the other worker may have answered, is in it.
    share_id = page.request.get(server.url("/api/shares")).json()["shares"][0]["id"]
    for _ in range(100):
        events = page.request.get(server.url(f"/api/shares/{share_id}/activity")).json()["events"]
        if any(e["action"] == "link_unlocked" for e in events):
            break
        time.sleep(0.1)
    link = page.locator("dialog .links > li")
    link.get_by_text("Who used it").click()  # the owner sees who unlocked the link, from where
    link.locator(".link-events li", has_text="link unlocked").wait_for()
    assert "127.0.0.1" in link.locator(".link-events li", has_text="link unlocked").first.inner_text()
    link.get_by_role("button", name="Revoke").click()
    page.locator("dialog .links > li").wait_for(state="detached")


def test_names_are_never_rendered_as_html(page, server, tmp_path):
    sign_up(page, server, "gina")
    evil = tmp_path / "<img src=x onerror=window.pwned=1>.txt"
    evil.write_bytes(b"x")
    page.set_input_files(".file-input", [str(evil)])
    row(page, evil.name).wait_for()
    assert page.evaluate("() => window.pwned === undefined")
    assert page.locator("tbody img[src=x]").count() == 0


def test_drag_and_drop_upload_and_errors_next_to_the_file(page, server):
    sign_up(page, server, "hana")
    drop = page.evaluate_handle("""() => {
        const data = new DataTransfer();
        data.items.add(new File(["dropped bytes"], "dropped.txt", { type: "text/plain" }));
        return data;
    }""")
    page.dispatch_event(".dropzone", "dragenter", {"dataTransfer": drop})
    page.dispatch_event(".dropzone", "drop", {"dataTransfer": drop})
    row(page, "dropped.txt").wait_for()
    page.dispatch_event(".dropzone", "drop", {"dataTransfer": drop})
    clash = page.locator('.uploads li.failed[data-name="dropped.txt"] .up-status')
    clash.wait_for()
    assert clash.inner_text() == "A file with this name already exists here."
    shot(page, "11-upload-error")


def test_many_files_at_once_never_pass_the_quota(page, tmp_path):
    """Ten 1 MiB files dropped at once with a 5 MiB quota: the browser sends them in
    parallel; exactly five are stored, the others say why, and the bar never shows more
    than the quota."""
    from tests.live_server import GunicornServer
    srv = GunicornServer(tmp_path)
    srv.env["USER_QUOTA_BYTES"] = str(5 * 1024 * 1024)
    srv.start()
    try:
        page.goto(srv.base_url + "/#/register")
        page.fill("#auth-username", "ines")
        page.fill("#auth-password", "password123")
        page.get_by_role("button", name="Create account").click()
        page.wait_for_selector(".topbar")
        files = []
        for i in range(10):
            path = tmp_path / f"part-{i}.bin"
            path.write_bytes(os.urandom(1024 * 1024))
            files.append(str(path))
        page.set_input_files(".file-input", files)
        page.wait_for_function("() => document.querySelectorAll('.uploads li.done, .uploads li.failed').length === 10",
                               timeout=60_000)
        failed = page.locator(".uploads li.failed .up-status")
        assert failed.count() == 5
        assert set(failed.all_inner_texts()) == {"Not enough space left in your quota."}
        page.reload()
        page.wait_for_selector(".topbar")
        page.get_by_text("5.0 MiB of 5.0 MiB used").wait_for()
        assert page.locator("tbody tr").count() == 5
    finally:
        srv.kill()


def api_children(page, base_url: str, folder_id: str) -> dict[str, dict]:
    """A folder's items by name, read through the page's own session."""
    answer = page.request.get(f"{base_url}/api/folders/{folder_id}/children?limit=200")
    assert answer.ok, answer.text()
    return {item["name"]: item for item in answer.json()["items"]}


def test_a_folder_of_200_files_uploads_with_its_tree(page, server, tmp_path):
    """The folder picker (webkitdirectory): 200 files in 20 nested folders arrive through tus
    with their tree, four at a time, and the panel counts them."""
    sign_up(page, server, "jade")
    album = tmp_path / "Album"
    expected = {}
    for year in range(4):
        for month in range(5):
            here = album / f"{2020 + year}" / f"month {month + 1}"
            here.mkdir(parents=True)
            for n in range(10):
                body = f"{year}/{month}/{n}\n".encode() * 10
                (here / f"photo {n}.txt").write_bytes(body)
                expected[(f"{2020 + year}", f"month {month + 1}", f"photo {n}.txt")] = hashlib.sha256(body).hexdigest()
    page.set_input_files(".folder-input", str(album))
    page.locator(".uploads-summary", has_text="200 of 200 uploaded").wait_for(timeout=180_000)
    assert page.locator(".uploads li.failed").count() == 0
    shot(page, "12-folder-upload")
    found = {}
    top = api_children(page, server.base_url, "root")
    for year, year_item in api_children(page, server.base_url, top["Album"]["id"]).items():
        for month, month_item in api_children(page, server.base_url, year_item["id"]).items():
            for name, item in api_children(page, server.base_url, month_item["id"]).items():
                found[(year, month, name)] = item["sha256"]
    assert found == expected
    assert list(top) == ["Album"]  # one folder, not one per parallel upload
    row(page, "Album").wait_for()


def test_a_name_clash_offers_replace_keep_both_and_skip(page, server, tmp_path):
    sign_up(page, server, "kira")
    doc = tmp_path / "draft.txt"
    for round_, (content, choice) in enumerate([(b"one", None), (b"two", "Keep both"), (b"three", "Replace"),
                                                (b"four", "Skip")]):
        doc.write_bytes(content)
        page.set_input_files(".file-input", [str(doc)])
        latest = page.locator('.uploads li[data-name="draft.txt"]').first
        if choice is None:
            latest.locator(".up-status", has_text="Uploaded").wait_for()
            continue
        latest.locator(".up-status", has_text="A file with this name already exists here.").wait_for()
        latest.get_by_role("button", name=f"{choice}: draft.txt").click()
        latest.locator(".up-status", has_text="Skipped." if choice == "Skip" else "Uploaded").wait_for()
    page.locator(".uploads-summary", has_text="3 of 4 uploaded, 1 skipped or cancelled").wait_for()
    files = api_children(page, server.base_url, "root")
    assert set(files) == {"draft.txt", "draft (1).txt"}
    assert page.request.get(f"{server.base_url}/api/files/{files['draft (1).txt']['id']}").body() == b"two"
    assert page.request.get(f"{server.base_url}/api/files/{files['draft.txt']['id']}").body() == b"three"
    versions = page.request.get(f"{server.base_url}/api/files/{files['draft.txt']['id']}/versions").json()["versions"]
    assert len(versions) == 1


def test_an_upload_continues_by_itself_after_the_server_restarts(page, tmp_path):
    """A 40 MiB upload (16 MiB chunks): the server is killed as the second chunk is about to
    go and started again two seconds later; the web app retries, asks the server where the
    upload is (HEAD) and sends only the rest. One upload is created; the file is whole."""
    import threading
    from tests.live_server import GunicornServer
    srv = GunicornServer(tmp_path)
    srv.start()
    seen = []

    def on_tus(route, request):
        seen.append(request.method)
        if request.method == "PATCH" and seen.count("PATCH") == 2:
            srv.kill()
            threading.Timer(2.0, srv.start).start()
        route.continue_()

    try:
        sign_up(page, srv, "lena")
        big = tmp_path / "video.bin"
        data = os.urandom(40 * 1024 * 1024)
        big.write_bytes(data)
        page.route("**/api/tus/**", on_tus)
        page.set_input_files(".file-input", [str(big)])
        page.locator('.uploads li[data-name="video.bin"] .up-status', has_text="Uploaded").wait_for(timeout=120_000)
        assert seen.count("POST") == 1 and "HEAD" in seen, seen
        [stored] = api_children(page, srv.base_url, "root").values()
        assert stored["sha256"] == hashlib.sha256(data).hexdigest()
        assert page.request.get(f"{srv.base_url}/api/uploads").json()["uploads"] == []
    finally:
        page.unroute("**/api/tus/**")
        srv.kill()


@pytest.mark.parametrize("backend", [ENCRYPTED])
def test_with_encryption_at_rest_uploads_fall_back_to_one_request_each(page, server, tmp_path, backend):
    """Encrypted storage keeps no resumable staging (tus answers 501): the web app sends each
    file as a multipart upload instead, folders included."""
    sign_up(page, server, "mona")
    top = tmp_path / "Notes"
    (top / "old").mkdir(parents=True)
    (top / "a.txt").write_bytes(b"first note")
    (top / "old" / "b.txt").write_bytes(b"second note")
    page.set_input_files(".folder-input", str(top))
    page.locator(".uploads-summary", has_text="2 of 2 uploaded").wait_for(timeout=60_000)
    notes = api_children(page, server.base_url, api_children(page, server.base_url, "root")["Notes"]["id"])
    assert set(notes) == {"a.txt", "old"}
    [b] = api_children(page, server.base_url, notes["old"]["id"]).values()
    assert page.request.get(f"{server.base_url}/api/files/{b['id']}").body() == b"second note"


def test_an_upload_cut_by_a_reload_continues_when_the_file_is_picked_again(page, server, tmp_path):
    """The first 16 MiB chunk is acknowledged, the second never gets an answer, the user
    reloads the page (and confirms leaving) and picks the same file: the web app finds the
    upload it started (in localStorage), asks the server where it is and sends only the rest."""
    sign_up(page, server, "nora")
    big = tmp_path / "film.bin"
    data = os.urandom(40 * 1024 * 1024)
    big.write_bytes(data)
    seen, held = [], []

    def on_tus(route, request):
        seen.append(request.method)
        if request.method == "PATCH" and seen.count("PATCH") >= 2:
            held.append(route)  # never answered: the connection hangs until the page goes
            return
        route.continue_()

    page.on("dialog", lambda dialog: dialog.accept())
    page.route("**/api/tus/**", on_tus)
    page.set_input_files(".file-input", [str(big)])
    for _ in range(200):  # route handlers run while Playwright waits
        if held:
            break
        page.wait_for_timeout(100)
    assert held, seen
    page.unroute("**/api/tus/**")
    page.reload()
    page.wait_for_selector(".topbar")
    first = list(seen)
    offsets = []
    page.route("**/api/tus/**", on_tus_second := (lambda route, request: (
        seen.append(request.method), offsets.append(int(request.headers.get("upload-offset", -1))), route.continue_())))
    page.set_input_files(".file-input", [str(big)])
    page.locator('.uploads li[data-name="film.bin"] .up-status', has_text="Uploaded").wait_for(timeout=60_000)
    page.unroute("**/api/tus/**", on_tus_second)
    later = seen[len(first):]
    assert first.count("POST") == 1 and "POST" not in later and later[0] == "HEAD", (first, later)
    # only what the server did not have: from 16 MiB on, or further when part of the held
    # chunk reached the server as the page went away (tus keeps a cut-off PATCH's bytes)
    patched = [o for method, o in zip(later, offsets) if method == "PATCH"]
    assert patched and 16 * 1024 * 1024 <= patched[0] < len(data), patched
    assert patched == list(range(patched[0], len(data), 16 * 1024 * 1024)), patched
    [stored] = api_children(page, server.base_url, "root").values()
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()


def test_an_invitation_then_a_two_factor_login_in_the_browser(page, new_server):
    """REGISTRATION=invite with the first administrator from the environment: the invitation's
    link opens the sign-up form that uses it; then, with two-factor login turned on, logging in
    asks for the authenticator's code after the password."""
    import pyotp
    import requests
    server = new_server(REGISTRATION="invite", ADMIN_USERNAME="root", ADMIN_PASSWORD="root password 1")
    server.start()
    try:
        admin = requests.Session()
        assert admin.post(server.url("/api/login"), json={"username": "root", "password": "root password 1"},
                          timeout=30).status_code == 200
        invite = admin.post(server.url("/api/admin/invites"), json={"note": "ivy"}, timeout=30).json()
        page.goto(server.base_url + "/#/register")
        page.fill("#auth-username", "walkin")
        page.fill("#auth-password", "password123")
        page.get_by_role("button", name="Create account").click()
        page.wait_for_selector(".form-error:has-text('invitation')")

        page.goto(invite["url"].replace("http://localhost/", server.base_url + "/"))
        page.wait_for_selector(".auth-note:has-text('invited')")
        page.fill("#auth-username", "ivy")
        page.fill("#auth-password", "password123")
        page.get_by_role("button", name="Create account").click()
        page.wait_for_selector(".topbar")

        ivy = requests.Session()
        assert ivy.post(server.url("/api/login"), json={"username": "ivy", "password": "password123"},
                        timeout=30).status_code == 200
        totp = pyotp.TOTP(ivy.post(server.url("/api/me/2fa/setup"), json={"password": "password123"},
                                   timeout=30).json()["secret"])
        now = time.time()
        if now % 30 > 24:
            time.sleep(30 - now % 30 + 0.1)
            now = time.time()
        assert ivy.post(server.url("/api/me/2fa/enable"), json={"code": totp.at(now - 30)},
                        timeout=30).status_code == 200
        page.get_by_role("button", name="Log out").click()
        page.wait_for_selector(".auth-form")
        page.fill("#auth-username", "ivy")
        page.fill("#auth-password", "password123")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_selector("#auth-code")
        shot(page, "30-two-factor-code")
        page.fill("#auth-code", totp.at(now))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_selector(".topbar")
        assert page.locator(".username").inner_text() == "ivy"
    finally:
        server.kill()


AXE = os.path.join(REPO_ROOT, "tests", "js", "node_modules", "axe-core", "axe.min.js")


def turn_on_two_factor(page, password: str) -> list[str]:
    """On the account page: set two-factor login up with its QR code (which must show: the
    page's CSP allows blob: images) and a code from the secret; the ten recovery codes."""
    import pyotp
    two_factor = page.locator(".card", has_text="Two-factor login")
    two_factor.get_by_label("Your password").fill(password)
    two_factor.get_by_role("button", name="Set up").click()
    page.wait_for_selector("img.qr")
    page.wait_for_function("document.querySelector('img.qr').complete")
    assert page.evaluate("document.querySelector('img.qr').naturalWidth") > 0
    totp = pyotp.TOTP(page.locator("code.secret").inner_text())
    if time.time() % 30 > 24:  # not a code about to expire
        time.sleep(30 - time.time() % 30 + 0.1)
    two_factor.get_by_label("Code from your authenticator app").fill(totp.now())
    two_factor.get_by_role("button", name="Turn on").click()
    page.locator("ul.codes li").first.wait_for()
    codes = page.locator("ul.codes li").all_inner_texts()
    assert len(codes) == 10
    return codes


def serious_accessibility_problems(page) -> list[str]:
    """axe-core's critical and serious findings on the page as it is now (axe-core comes from
    npm with the other test clients: `make node-clients`)."""
    if not os.path.exists(AXE):
        if os.environ.get("REQUIRE_NODE"):
            pytest.fail(f"axe-core is required here but {AXE} does not exist (make node-clients)")
        return []
    with open(AXE, encoding="utf-8") as fh:
        page.evaluate(fh.read() + "\n;undefined")  # through DevTools: the page's CSP allows no inline script
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                          ".filter(v => ['critical', 'serious'].includes(v.impact))"
                          ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))")
    return found


def test_account_and_administration_pages_in_the_browser(page, new_server, smtp_inbox):
    """An administrator finds a user, gives them a quota and disables them; the user confirms an
    email address from the emailed link, turns on two-factor login with the QR code, sees their
    sessions and activity; then forgets their password and sets a new one from the emailed link.
    axe-core finds nothing critical or serious on the account, activity and administration pages."""
    import requests
    from tests.smtp_server import link_token
    server = new_server(ADMIN_USERNAME="root", ADMIN_PASSWORD="root password 1", SMTP_HOST="127.0.0.1",
                        SMTP_PORT=smtp_inbox.port, SMTP_SECURITY="none", SMTP_FROM="drive@example.org",
                        PUBLIC_URL="http://drive.example.org")
    server.start()
    try:
        sign_up(page, server, "uma")
        page.get_by_role("link", name="Account", exact=True).click()
        page.wait_for_selector("h2:has-text('Where you are logged in')")
        assert page.locator(".page-table tbody tr").count() == 1
        assert serious_accessibility_problems(page) == []
        page.get_by_label("New address").fill("uma@example.org")
        page.locator(".card", has_text="Email address").get_by_label("Your password").fill("password123")
        page.get_by_role("button", name="Send a confirmation link").click()
        page.wait_for_selector(".form-done:has-text('on its way')")
        token = link_token(smtp_inbox.wait_for("uma@example.org"), "verify-email")
        page.goto(server.base_url + "/#/verify-email?token=" + token)
        page.wait_for_selector("[role=status]:has-text('Confirmed: uma@example.org')")

        page.goto(server.base_url + "/#/account")
        page.wait_for_selector("text=Password reset links go to uma@example.org.")
        page.get_by_role("button", name="Set up").wait_for()
        turn_on_two_factor(page, "password123")
        shot(page, "40-account-two-factor")
        for _ in range(100):  # the audit log is written in batches by each worker (AUDIT_FLUSH_SECONDS)
            if page.request.get(server.url("/api/me/activity?action=two_factor_enabled")).json()["events"]:
                break
            time.sleep(0.1)
        page.get_by_role("link", name="Activity", exact=True).click()
        page.wait_for_selector("td:has-text('Two-factor login on')")
        assert serious_accessibility_problems(page) == []

        admin = page.context.browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        admin.goto(server.base_url + "/#/login")
        log_in(admin, "root", "root password 1")
        admin.get_by_role("link", name="Administration").click()
        admin.get_by_label("Find users").fill("um")
        admin.get_by_role("button", name="Search").click()
        admin.get_by_role("button", name="Manage uma").click()
        admin.get_by_label("Quota").fill("1G")
        admin.get_by_role("button", name="Save").click()
        admin.wait_for_selector("text=Saved")
        root = requests.Session()
        root.post(server.url("/api/login"), json={"username": "root", "password": "root password 1"}, timeout=30)
        uma = [u for u in root.get(server.url("/api/admin/users?q=uma"), timeout=30).json()["users"]]
        assert uma[0]["quota_bytes"] == 2**30 and uma[0]["own_quota"] and uma[0]["email"] == "uma@example.org"
        assert serious_accessibility_problems(admin) == []
        shot(admin, "41-administration-user")
        admin.get_by_role("button", name="Disable the account").click()
        admin.wait_for_selector("button:has-text('Enable the account')")
        page.reload()
        page.wait_for_selector(".auth-form")  # uma's session ended at once
        admin.get_by_role("button", name="Enable the account").click()
        admin.wait_for_selector("button:has-text('Disable the account')")
        admin.context.close()

        page.get_by_role("link", name="Forgot your password?").click()
        page.get_by_label("Email address").fill("uma@example.org")
        page.get_by_role("button", name="Send the link").click()
        page.wait_for_selector(".form-done:has-text('on its way')")
        token = link_token(smtp_inbox.wait_for("uma@example.org", count=2), "reset")
        page.goto(server.base_url + "/#/reset?token=" + token)
        page.get_by_label("New password").fill("a brand new one")
        page.get_by_role("button", name="Set the password").click()
        page.wait_for_selector(".form-done:has-text('log in with the new password')")
        page.get_by_role("link", name="Back to log in").click()
        log_in(page, "uma", "a brand new one")
        page.wait_for_selector("#auth-code")  # the reset did not turn two-factor login off
    finally:
        server.kill()


def test_a_file_drop_link_from_the_share_dialog(page, server, tmp_path, browser):
    """A folder's share dialog makes an upload-only link; a visitor without an account uploads
    through its page (no script) and sees only their own upload; the owner finds it in the folder."""
    sign_up(page, server, "fiona")
    page.get_by_role("button", name="+ New folder").click()
    page.fill("#dialog-name", "Homework")
    page.get_by_role("button", name="Create").click()
    row(page, "Homework").wait_for()
    select(page, "Homework")
    page.get_by_role("button", name="Share").click()
    page.get_by_label("Upload only").check()
    assert page.locator("#share-max").is_hidden()
    page.fill("#share-max-files", "3")
    page.get_by_role("button", name="Create link").click()
    url = page.locator(".share-url").input_value()
    page.locator("dialog .links > li", has_text="upload only").wait_for()
    assert "0/3 files received" in page.locator("dialog .links > li").first.inner_text()

    visitor = browser.new_context(java_script_enabled=False)  # the plain form post
    drop_page = visitor.new_page()
    drop_page.goto(url)
    drop_page.get_by_role("heading", name="Upload to “Homework”").wait_for()
    essay = tmp_path / "essay.txt"
    essay.write_bytes(b"my essay")
    drop_page.set_input_files("#files", [str(essay)])
    drop_page.get_by_role("button", name="Upload").click()
    drop_page.get_by_text("Uploaded 1 file. Thank you.").wait_for()
    assert [" ".join(t.split()) for t in drop_page.locator(".entries li").all_inner_texts()] == ["📄 essay.txt 8 Bytes"]
    shot(drop_page, "42-file-drop")
    # axe-core needs script (its run waits on timers): the same visitor's page, script on
    checked = browser.new_context(storage_state=visitor.storage_state())
    visitor.close()
    checked_page = checked.new_page()
    checked_page.goto(url)
    checked_page.locator(".entries li", has_text="essay.txt").wait_for()
    assert serious_accessibility_problems(checked_page) == []
    checked.close()

    page.keyboard.press("Escape")
    page.get_by_role("button", name="Homework", exact=True).click()
    row(page, "essay.txt").wait_for()


def test_a_stranger_drops_50_files_with_progress_and_sees_nothing_else(page, server, tmp_path, browser):
    """A fresh browser with no account sends 50 files through a file-drop link: the page's
    script sends each with a progress bar and says which arrived; nothing of the folder's own
    files shows; the owner finds all 50 (and her own file untouched) in the folder."""
    sign_up(page, server, "hana")
    owner = page.context.request
    folder = owner.post(server.base_url + "/api/folders", data={"name": "Submissions", "parent_id": "root"}).json()
    mine = owner.post(server.base_url + f"/api/upload?folder_id={folder['id']}",
                      multipart={"file": {"name": "answers.txt", "mimeType": "text/plain", "buffer": b"the answers"}})
    assert mine.status == 201
    link = owner.post(server.base_url + "/api/shares", data={"item_id": folder["id"], "mode": "upload"}).json()
    paths = []
    for i in range(50):
        path = tmp_path / f"work {i:02d}.txt"
        path.write_bytes(f"essay number {i}".encode() * (i + 1))
        paths.append(str(path))

    stranger = browser.new_context().new_page()
    stranger.goto(link["url"])
    stranger.get_by_role("heading", name="Upload to “Submissions”").wait_for()
    stranger.set_input_files("#files", paths)
    stranger.get_by_role("button", name="Upload").click()
    stranger.locator(".drop-summary", has_text="Uploaded 50 files. Thank you.").wait_for(timeout=60_000)
    assert stranger.locator(".drop-progress li.done").count() == 50
    assert stranger.locator(".drop-progress li.error").count() == 0
    assert all(v == m for v, m in stranger.eval_on_selector_all(
        ".drop-progress progress", "bars => bars.map(b => [b.value, b.max])"))
    assert "answers" not in stranger.content()  # the folder's own file is never shown
    assert serious_accessibility_problems(stranger) == []
    stranger.context.close()

    listed = owner.get(server.base_url + f"/api/folders/{folder['id']}/children?limit=100").json()["items"]
    assert sorted(i["name"] for i in listed) == sorted(["answers.txt"] + [f"work {i:02d}.txt" for i in range(50)])
    assert {i["name"]: i["size"] for i in listed}["work 07.txt"] == len(b"essay number 7") * 8


def test_account_self_service_in_the_browser(page, server, browser, tmp_path):
    """From the account page: a password change logs out the other browser at once; two-factor
    login then works with a recovery code; the export downloads as a ZIP holding the files; the
    account is deleted after a confirmation, and its login no longer works."""
    import zipfile
    sign_up(page, server, "gwen")
    report = tmp_path / "report.txt"
    report.write_bytes(b"quarterly numbers")
    page.set_input_files(".file-input", [str(report)])
    row(page, "report.txt").wait_for()
    other = browser.new_context().new_page()
    other.goto(server.base_url + "/#/login")
    log_in(other, "gwen", "password123")
    other.wait_for_selector(".topbar")

    page.get_by_role("link", name="Account", exact=True).click()
    page.get_by_label("Current password").fill("password123")
    page.get_by_label("New password (8 characters or more)").fill("a better passphrase")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_selector(".form-done:has-text('Every other session was logged out')")
    other.reload()
    other.wait_for_selector(".auth-form")  # the other browser's session ended
    other.context.close()

    recovery = turn_on_two_factor(page, "a better passphrase")
    page.get_by_role("button", name="Done").click()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download all my data").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        assert archive.read("drive/report.txt") == b"quarterly numbers" and "metadata.json" in archive.namelist()

    page.get_by_role("button", name="Log out", exact=True).click()
    log_in(page, "gwen", "a better passphrase")
    page.fill("#auth-code", recovery[0])
    page.get_by_role("button", name="Verify").click()
    page.wait_for_selector(".topbar")

    page.get_by_role("link", name="Account", exact=True).click()
    deletion = page.locator(".card", has_text="Delete account")
    deletion.get_by_label("Your password").fill("a better passphrase")
    deletion.get_by_label("Code from your authenticator app").fill(recovery[1])  # the app's code was used
    page.once("dialog", lambda dialog: dialog.accept())
    deletion.get_by_role("button", name="Delete my account").click()
    page.wait_for_selector(".auth-form")
    log_in(page, "gwen", "a better passphrase")
    page.get_by_text("Invalid username or password.").wait_for()


def test_sharing_a_folder_with_another_user_in_the_browser(page, server, browser, tmp_path):
    """alice shares a folder with bob from the People dialog; bob finds it under Shared with
    me, works in it (a tus upload lands in alice's folder), and a replace that raced with
    alice's own change is refused (If-Match), not silently overwriting it."""
    sign_up(page, server, "alicia")
    page.get_by_role("button", name="+ New folder").click()
    page.fill("#dialog-name", "Project")
    page.get_by_role("button", name="Create").click()
    row(page, "Project").wait_for()
    project = api_children(page, server.base_url, "root")["Project"]["id"]
    plan = tmp_path / "plan.txt"
    plan.write_bytes(b"alicia's plan")
    assert page.request.post(f"{server.base_url}/api/upload?folder_id={project}",
                             multipart={"file": {"name": "plan.txt", "mimeType": "text/plain",
                                                 "buffer": b"alicia's plan"}}).status == 201

    bob_context = browser.new_context(viewport={"width": 1280, "height": 800})
    bob = bob_context.new_page()
    bob.set_default_timeout(15_000)
    sign_up(bob, server, "bobby")

    select(page, "Project")
    page.get_by_role("button", name="People").click()
    page.fill("#member-username", "bobby")
    page.select_option("#member-role", "editor")
    page.get_by_role("button", name="Add").click()
    page.locator("dialog .members li", has_text="bobby").wait_for()
    assert page.get_by_label("Role of bobby").input_value() == "editor"
    assert serious_accessibility_problems(page) == []
    shot(page, "50-people-dialog")
    page.keyboard.press("Escape")

    bob.get_by_role("link", name="Shared with me").click()
    row(bob, "Project").wait_for()
    assert "alicia · editor" in row(bob, "Project").inner_text()
    shot(bob, "51-shared-with-me")
    bob.get_by_role("button", name="Project", exact=True).click()
    row(bob, "plan.txt").wait_for()
    assert bob.locator(".breadcrumbs").inner_text().replace("\n", " ").split() == ["Shared", "with", "me", "›",
                                                                                   "Project"]
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"bobby's notes")
    bob.set_input_files(".file-input", [str(notes)])
    bob.locator('.uploads li[data-name="notes.txt"] .up-status', has_text="Uploaded").wait_for()
    assert set(api_children(page, server.base_url, project)) == {"plan.txt", "notes.txt"}

    # bob replaces plan.txt; while his upload is on its way alicia saves her own change first.
    def alicia_saves_first(route):
        current = api_children(page, server.base_url, project)["plan.txt"]
        answer = page.request.post(f"{server.base_url}/api/upload?folder_id={project}&on_conflict=replace",
                                   headers={"If-Match": f'"{current["sha256"]}"'},
                                   multipart={"file": {"name": "plan.txt", "mimeType": "text/plain",
                                                       "buffer": b"alicia's second plan"}})
        assert answer.status == 201, answer.text()
        route.continue_()
    plan.write_bytes(b"bobby's plan")
    bob.set_input_files(".file-input", [str(plan)])
    latest = bob.locator('.uploads li[data-name="plan.txt"]').first
    latest.locator(".up-status", has_text="A file with this name already exists here.").wait_for()
    bob.route("**/api/upload?*", alicia_saves_first)
    latest.get_by_role("button", name="Replace: plan.txt").click()
    latest.locator(".up-status", has_text="Someone changed this file since").wait_for()
    bob.unroute("**/api/upload?*")
    plan_id = api_children(page, server.base_url, project)["plan.txt"]["id"]
    assert page.request.get(f"{server.base_url}/api/files/{plan_id}").body() == b"alicia's second plan"
    # Having seen it, bob replaces it knowingly: alicia keeps her version in the history.
    latest.get_by_role("button", name="Replace: plan.txt").click()
    latest.locator(".up-status", has_text="Uploaded").wait_for()
    assert page.request.get(f"{server.base_url}/api/files/{plan_id}").body() == b"bobby's plan"
    versions = page.request.get(f"{server.base_url}/api/files/{plan_id}/versions").json()["versions"]
    assert len(versions) == 2
    # Searching from inside the share searches the share (bob's own drive has no plan.txt).
    bob.fill("#search-input", "plan")
    bob.press("#search-input", "Enter")
    row(bob, "plan.txt").wait_for()
    assert re.search(r"folder_id=", bob.url)
    bob_context.close()


def seed_files(page, server, names, folder_id="root"):
    """Many small files in one multipart request, through the page's own session."""
    import requests
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    agent = page.evaluate("navigator.userAgent")  # sessions are bound to the browser that logged in
    answer = requests.post(f"{server.base_url}/api/upload?folder_id={folder_id}", cookies=cookies, timeout=60,
                           headers={"User-Agent": agent},
                           files=[("file", (name, f"content of {name}".encode(), "text/plain")) for name in names])
    assert answer.status_code == 201, answer.text
    return answer.json()["files"]


def focused_label(page):
    return page.evaluate("document.activeElement && document.activeElement.getAttribute('aria-label')")


@BOTH_WIDTHS
def test_rows_change_in_place_keeping_scroll_selection_and_focus(page, server, width):
    """Starring a row far down the list, renaming one and an upload finishing update those rows
    only: the 150 loaded rows stay (no jump back to the first 100), the page does not scroll, the
    selection stays and the keyboard focus is on the same control of the same row."""
    page.set_viewport_size({"width": width, "height": 844 if width < 500 else 800})
    sign_up(page, server, "ines")
    seed_files(page, server, [f"note {i:03d}.txt" for i in range(150)])
    page.reload()
    row(page, "note 000.txt").wait_for()
    assert page.locator(".toolbar .count").inner_text() == "100 of 150 items"
    page.get_by_role("button", name="Load more").click()
    row(page, "note 149.txt").wait_for()
    assert page.locator(".toolbar .count").inner_text() == "150 items"
    select(page, "note 003.txt")
    select(page, "note 004.txt")
    star = page.get_by_role("button", name="Star note 140.txt", exact=True)
    star.scroll_into_view_if_needed()
    star.focus()
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 1000
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Unstar note 140.txt", exact=True).wait_for()
    assert focused_label(page) == "Unstar note 140.txt"
    assert page.locator(".listing tbody tr").count() == 150
    assert abs(page.evaluate("window.scrollY") - scrolled) < 5
    assert page.locator(".toolbar .count").first.inner_text() == "2 selected"
    assert page.get_by_label("Select note 004.txt", exact=True).is_checked()
    # The same row node stays for a row that did not change (nothing is redrawn).
    page.evaluate("document.querySelector('tbody tr:nth-child(120)').dataset.mark = 'kept'")
    page.keyboard.press("Enter")  # unstar again
    page.get_by_role("button", name="Star note 140.txt", exact=True).wait_for()
    assert page.locator("tbody tr[data-mark=kept]").count() == 1
    seed_files(page, server, ["note 999.txt"])
    page.get_by_role("button", name="Star note 140.txt", exact=True).focus()
    page.keyboard.press("Enter")  # any refresh now brings the new file in, in place
    row(page, "note 999.txt").wait_for()
    assert page.locator(".listing tbody tr").count() == 151
    assert focused_label(page) == "Unstar note 140.txt"
    assert page.locator("tbody tr[data-mark=kept]").count() == 1


def test_sort_lives_in_the_url_and_the_header_says_which(page, server):
    """Sorting by size moves the arrow and aria-sort to the Size column, puts the sort in the
    URL (reload and back keep it) and axe finds no critical or serious problem in the listing."""
    sign_up(page, server, "jonas")
    seed_files(page, server, ["b.txt", "a-much-longer-name.txt", "c.txt"])
    page.reload()
    row(page, "b.txt").wait_for()
    names = lambda: [n.strip() for n in page.locator("tbody .col-name .name button").all_inner_texts()]  # noqa: E731
    assert page.locator("th.col-name").get_attribute("aria-sort") == "ascending"
    page.locator("th.col-size button").click()
    page.wait_for_url(re.compile(r"sort=size&order=asc"))
    expect(page.locator("th.col-size")).to_have_attribute("aria-sort", "ascending")
    assert page.locator("th.col-name").get_attribute("aria-sort") is None
    assert names() == ["b.txt", "c.txt", "a-much-longer-name.txt"]
    assert page.locator("th.col-size button").evaluate("b => getComputedStyle(b, '::after').content") == '" ▲"'
    page.locator("th.col-size button").click()
    page.wait_for_url(re.compile(r"sort=size&order=desc"))
    expect(page.locator("tbody .name button").first).to_have_text("a-much-longer-name.txt")
    page.reload()
    row(page, "b.txt").wait_for()
    assert page.locator("th.col-size").get_attribute("aria-sort") == "descending"
    assert names()[0] == "a-much-longer-name.txt"
    page.go_back()
    expect(page.locator("th.col-size")).to_have_attribute("aria-sort", "ascending")
    assert page.locator("h1").count() >= 1
    assert serious_accessibility_problems(page) == []
    assert page.locator("#app[aria-live]").count() == 0  # only changes are announced


@BOTH_WIDTHS
def test_select_all_takes_the_whole_folder_shift_click_a_range_and_delete_undoes(page, server, width):
    """With 250 files and 100 loaded, select-all (or Ctrl+A) selects all 250; Delete sends them to
    the trash in one request; Undo brings them back. Shift-click selects a range."""
    page.set_viewport_size({"width": width, "height": 844 if width < 500 else 800})
    sign_up(page, server, "kaito")
    seed_files(page, server, [f"item {i:03d}.txt" for i in range(250)])
    page.reload()
    row(page, "item 000.txt").wait_for()
    page.get_by_label("Select item 002.txt", exact=True).click()
    page.get_by_label("Select item 006.txt", exact=True).click(modifiers=["Shift"])
    assert page.locator(".toolbar .count").first.inner_text() == "5 selected"
    page.keyboard.press("Escape")
    page.locator(".toolbar .count", has_text="100 of 250 items").wait_for()
    bulk_requests = []
    page.on("request", lambda r: bulk_requests.append(r.post_data_json) if r.url.endswith("/api/items/bulk") else None)
    page.keyboard.press("Control+a")  # the focus is on a row's checkbox, not in a text field
    page.locator(".toolbar .count", has_text="250 selected").wait_for()
    assert page.locator(".listing tbody tr").count() == 250
    assert page.locator(".select-all").is_checked()
    page.get_by_role("button", name="Delete", exact=True).click()
    page.locator(".toast", has_text="250 items moved to the trash").wait_for()
    page.locator(".empty", has_text="This folder is empty").wait_for()
    assert len(bulk_requests) == 1 and len(bulk_requests[0]["ids"]) == 250
    page.locator(".toast").get_by_role("button", name="Undo").click()
    page.locator(".toast", has_text="250 items restored").wait_for()
    page.locator(".toolbar .count", has_text="100 of 250 items").wait_for()
    assert len(page.request.get(server.base_url + "/api/trash").json()["items"]) == 0


@BOTH_WIDTHS
def test_an_outage_while_opening_a_folder_never_mixes_two_folders(page, server, width):
    """While a folder loads nothing of the previous one stays on screen; if the server cannot be
    reached the view says so with Try again, uploads and new folders are off, and the path and
    rows shown always belong to the same folder."""
    page.set_viewport_size({"width": width, "height": 844 if width < 500 else 800})
    sign_up(page, server, "lena")
    page.get_by_role("button", name="+ New folder").click()
    page.fill("#dialog-name", "Archive")
    page.get_by_role("button", name="Create").click()
    row(page, "Archive").wait_for()
    seed_files(page, server, ["top.txt"])
    page.reload()
    row(page, "top.txt").wait_for()
    page.route("**/api/folders/*/children*", lambda route: route.abort())
    row(page, "Archive").get_by_role("button", name="Archive", exact=True).click()
    page.locator(".empty", has_text="Could not load this view").wait_for()
    assert row(page, "top.txt").count() == 0
    assert page.locator(".breadcrumbs [aria-current=page]").inner_text() == "Archive"  # this folder's path only
    assert page.get_by_role("button", name="Upload files").is_disabled()
    assert page.get_by_role("button", name="+ New folder").is_disabled()
    page.unroute("**/api/folders/*/children*")
    page.get_by_role("button", name="Try again").click()
    page.locator(".empty", has_text="This folder is empty").wait_for()
    assert "Archive" in page.locator(".breadcrumbs").inner_text()
    assert page.get_by_role("button", name="Upload files").is_enabled()


def test_on_a_phone_the_toolbar_stays_and_rows_show_size_and_date(browser, server):
    """At 390 px: the header is compact, checkboxes are big enough to tap, each row shows its size
    and date under the name, and the selection toolbar stays at the top while the list scrolls."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(15_000)
    sign_up(phone, server, "mateo")
    seed_files(phone, server, [f"photo {i:02d}.txt" for i in range(60)])
    phone.reload()
    row(phone, "photo 00.txt").wait_for()
    assert phone.locator(".content").bounding_box()["y"] < 844 * 0.3
    box = phone.get_by_label("Select photo 00.txt", exact=True).bounding_box()
    assert box["width"] >= 22 and box["height"] >= 22
    assert "B ·" in row(phone, "photo 00.txt").locator(".row-meta").inner_text()
    phone.get_by_label("Select photo 00.txt", exact=True).tap()
    row(phone, "photo 59.txt").scroll_into_view_if_needed()
    bar, toolbar = phone.locator(".list-bar").bounding_box(), phone.locator(".toolbar").bounding_box()
    assert -1 <= bar["y"] <= 10 and toolbar["y"] + toolbar["height"] < 844 * 0.15, (bar, toolbar)
    assert phone.get_by_role("button", name="Delete", exact=True).is_visible()
    assert serious_accessibility_problems(phone) == []
    shot(phone, "60-phone-selection")
    context.close()


def test_dark_mode_follows_the_system(browser, server):
    """With the system in dark mode the app is dark and still readable (axe checks contrast)."""
    context = browser.new_context(viewport={"width": 1366, "height": 800}, color_scheme="dark")
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_up(page, server, "nadia")
    seed_files(page, server, ["dark.txt"])
    page.reload()
    row(page, "dark.txt").wait_for()
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert sum(int(v) for v in re.findall(r"\d+", background)[:3]) < 150, background
    assert serious_accessibility_problems(page) == []
    shot(page, "61-dark")
    context.close()


@BOTH_WIDTHS
def test_search_filters_show_in_folder_and_escape(page, server, width):
    """A search result's folder is a link; "Show in folder" opens the folder with the file selected;
    the kind filter narrows the results (and is in the URL); Escape clears the search."""
    page.set_viewport_size({"width": width, "height": 844 if width < 500 else 800})
    sign_up(page, server, "omar")
    folder = page.request.post(server.base_url + "/api/folders", data={"name": "Trips", "parent_id": "root"}).json()
    seed_files(page, server, [f"filler {i:03d}.txt" for i in range(120)] + ["trip plan.txt"], folder["id"])
    page.request.post(f"{server.base_url}/api/upload?folder_id={folder['id']}",
                      multipart={"file": {"name": "trip photo.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n"}})
    page.reload()
    page.fill("#search-input", "trip")
    page.press("#search-input", "Enter")
    row(page, "trip plan.txt").wait_for()
    assert row(page, "trip plan.txt").get_by_role("link", name="/Trips").get_attribute("href").startswith("#/folder/")
    page.get_by_label("Kind").select_option("image/")
    page.wait_for_url(re.compile(r"content_type=image"))
    row(page, "trip plan.txt").wait_for(state="detached")
    row(page, "trip photo.png").wait_for()
    row(page, "trip photo.png").get_by_role("button", name="trip photo.png", exact=True).click()
    page.locator("dialog").get_by_role("link", name="Show in folder").click()
    page.locator("tbody tr.selected", has_text="trip photo.png").wait_for()
    page.go_back()
    row(page, "trip photo.png").wait_for()
    page.get_by_label("Kind").select_option("")
    row(page, "trip plan.txt").wait_for()
    assert serious_accessibility_problems(page) == []
    select(page, "trip plan.txt")
    page.get_by_role("button", name="Show in folder").click()
    page.locator(".breadcrumbs", has_text="Trips").wait_for()
    page.locator("tbody tr.selected", has_text="trip plan.txt").wait_for()  # beyond the first 100 rows
    assert focused_label(page) is None and page.evaluate("document.activeElement.textContent") == "trip plan.txt"
    page.fill("#search-input", "filler")
    page.press("#search-input", "Enter")
    row(page, "filler 000.txt").wait_for()
    page.press("#search-input", "Escape")
    page.locator(".breadcrumbs", has_text="Trips").wait_for()
    assert page.input_value("#search-input") == ""


@BOTH_WIDTHS
def test_version_history_restores_an_earlier_content(page, server, width):
    """The Versions panel lists the kept contents; Restore makes revision 1 current again (the
    replaced content becomes a version), Download gives that version's bytes."""
    page.set_viewport_size({"width": width, "height": 844 if width < 500 else 800})
    sign_up(page, server, "paula")
    for content in (b"first draft", b"second draft"):
        answer = page.request.post(f"{server.base_url}/api/upload?folder_id=root&on_conflict=replace",
                                   multipart={"file": {"name": "essay.txt", "mimeType": "text/plain", "buffer": content}})
        assert answer.status == 201
    page.reload()
    select(page, "essay.txt")
    page.get_by_role("button", name="Versions").click()
    page.locator("dialog .versions li", has_text="Revision 1").wait_for()
    assert "Current (revision 2)" in page.locator("dialog .versions li").first.inner_text()
    page.get_by_role("button", name="Preview Revision 1").click()
    page.locator("dialog .version-preview pre", has_text="first draft").wait_for()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download Revision 1").click()
    with open(download.value.path(), "rb") as fh:
        assert fh.read() == b"first draft"
    assert serious_accessibility_problems(page) == []
    page.get_by_role("button", name="Restore Revision 1").click()
    page.locator("dialog .versions li", has_text="Current (revision 3)").wait_for()
    essay = api_children(page, server.base_url, "root")["essay.txt"]
    assert page.request.get(f"{server.base_url}/api/files/{essay['id']}").body() == b"first draft"
    shot(page, "62-versions")


@BOTH_WIDTHS
def test_previews_of_markdown_csv_and_json_step_with_arrows_and_the_keyboard_works(page, server, width):
    """Markdown is rendered (and a <script> in it stays text), CSV is a table, JSON is indented;
    ← and → step between previews. From a row: ↓ moves to the next row, F2 renames, ? lists the
    shortcuts."""
    page.set_viewport_size({"width": width, "height": 844 if width < 500 else 800})
    sign_up(page, server, "quinn")
    files = [("a-notes.md", "text/markdown", b"# Plan\n\n- **bold** item\n- [site](https://example.org)\n\n<script>alert(1)</script>\n"),
             ("b-table.csv", "text/csv", b'name,city\n"Doe, Jane",Cairo\nAli,Rabat\n'),
             ("c-data.json", "application/json", b'{"a":[1,2],"b":{"c":true}}')]
    for name, kind, body in files:
        assert page.request.post(f"{server.base_url}/api/upload?folder_id=root",
                                 multipart={"file": {"name": name, "mimeType": kind, "buffer": body}}).status == 201
    page.reload()
    row(page, "a-notes.md").get_by_role("button", name="a-notes.md", exact=True).click()
    page.locator("dialog .markdown h3", has_text="Plan").wait_for()
    assert page.locator("dialog .markdown strong").inner_text() == "bold"
    assert page.locator("dialog .markdown a").get_attribute("href") == "https://example.org"
    assert page.locator("dialog script").count() == 0
    assert "<script>alert(1)</script>" in page.locator("dialog .markdown").inner_text()
    page.keyboard.press("ArrowRight")
    page.locator("dialog table.csv td", has_text="Doe, Jane").wait_for()
    assert page.locator("dialog table.csv th").all_inner_texts() == ["name", "city"]
    assert serious_accessibility_problems(page) == []
    page.keyboard.press("ArrowRight")
    page.locator("dialog pre", has_text='"c": true').wait_for()
    assert page.locator(".dialog-title").inner_text() == "c-data.json"
    page.keyboard.press("ArrowLeft")
    page.locator(".dialog-title", has_text="b-table.csv").wait_for()
    page.keyboard.press("Escape")

    page.get_by_label("Select a-notes.md", exact=True).focus()
    page.keyboard.press("ArrowDown")
    assert focused_label(page) == "Select b-table.csv"
    page.keyboard.press("Space")
    page.keyboard.press("F2")
    assert page.input_value("#dialog-name") == "b-table.csv"
    page.fill("#dialog-name", "cities.csv")
    page.keyboard.press("Enter")
    row(page, "cities.csv").wait_for()
    page.keyboard.press("?")
    page.locator("dialog .shortcuts dt", has_text="F2").wait_for()


@BOTH_WIDTHS
def test_grid_view_shows_thumbnails_made_by_the_server(page, server, width):
    """Grid view (kept after a reload) shows the server's thumbnail of an image and an icon for a
    text file; the list view shows the small thumbnail; a file the server cannot draw falls back
    to its icon."""
    page.set_viewport_size({"width": width, "height": 844 if width < 500 else 800})
    import io
    from PIL import Image
    picture = io.BytesIO()
    Image.new("RGB", (600, 400), (200, 30, 30)).save(picture, "PNG")
    sign_up(page, server, "rosa")
    for name, kind, body in [("sunset.png", "image/png", picture.getvalue()), ("readme.txt", "text/plain", b"hi"),
                             ("broken.png", "image/png", b"not a picture")]:
        assert page.request.post(f"{server.base_url}/api/upload?folder_id=root",
                                 multipart={"file": {"name": name, "mimeType": kind, "buffer": body}}).status == 201
    page.reload()
    small = row(page, "sunset.png").locator("img.thumb")
    small.wait_for()
    assert small.evaluate("i => i.decode().then(() => i.naturalWidth)") > 0  # decode(): once it has loaded
    assert "size=64" in small.evaluate("i => i.currentSrc")
    row(page, "broken.png").locator("img.icon").wait_for()  # the server could not draw it
    page.get_by_role("button", name="Grid view").click()
    assert page.get_by_role("button", name="Grid view").get_attribute("aria-pressed") == "true"
    big = row(page, "sunset.png").locator("img.thumb")
    page.locator(".listing.grid").wait_for()
    big.wait_for()
    assert big.evaluate("i => i.decode().then(() => i.naturalWidth)") > 0
    assert "size=256" in big.evaluate("i => i.currentSrc") or "size=512" in big.evaluate("i => i.currentSrc")
    assert big.bounding_box()["height"] > 100
    assert row(page, "readme.txt").locator("img.icon").count() == 1
    page.reload()
    page.locator(".listing.grid tbody tr").first.wait_for()
    assert serious_accessibility_problems(page) == []
    shot(page, "63-grid")


def test_drag_to_move_drop_files_on_a_folder_context_menu_and_storage(page, server):
    """Dragging two selected rows onto a folder row moves both (one bulk request); dragging one
    onto the breadcrumb moves it back up; files dropped on a folder row upload into that folder; right click and Shift+F10 open a menu with the
    row's actions; the storage dialog shows files, versions and trash with their retention."""
    sign_up(page, server, "sami")
    page.request.post(server.base_url + "/api/folders", data={"name": "Box", "parent_id": "root"})
    seed_files(page, server, ["one.txt", "two.txt", "three.txt"])
    page.reload()
    row(page, "one.txt").wait_for()
    select(page, "one.txt")
    select(page, "two.txt")
    page.locator("tbody tr", has_text="one.txt").drag_to(row(page, "Box"))
    page.locator(".toast", has_text="Moved to “Box”").wait_for()
    row(page, "one.txt").wait_for(state="detached")
    row(page, "two.txt").wait_for(state="detached")
    box = api_children(page, server.base_url, "root")["Box"]["id"]
    assert set(api_children(page, server.base_url, box)) == {"one.txt", "two.txt"}

    drop = page.evaluate_handle("""() => {
        const data = new DataTransfer();
        data.items.add(new File(["into the box"], "dropped.txt", { type: "text/plain" }));
        return data;
    }""")
    target = row(page, "Box")
    target.dispatch_event("dragover", {"dataTransfer": drop})
    target.dispatch_event("drop", {"dataTransfer": drop})
    page.locator('.uploads li[data-name="dropped.txt"] .up-status', has_text="Uploaded").wait_for()
    assert "dropped.txt" in api_children(page, server.base_url, box)
    assert "dropped.txt" not in api_children(page, server.base_url, "root")

    row(page, "Box").get_by_role("button", name="Box", exact=True).click()
    row(page, "one.txt").wait_for()
    row(page, "one.txt").drag_to(page.locator(".breadcrumbs a", has_text="My Drive"))
    row(page, "one.txt").wait_for(state="detached")
    assert "one.txt" in api_children(page, server.base_url, "root")

    row(page, "two.txt").click(button="right", position={"x": 400, "y": 10})
    menu = page.get_by_role("menu", name="Actions")
    menu.wait_for()
    assert page.get_by_role("menuitem").all_inner_texts()[:2] == ["Download", "Rename"]
    assert page.evaluate("document.activeElement.getAttribute('role')") == "menuitem"
    assert serious_accessibility_problems(page) == []
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # Rename
    page.fill("#dialog-name", "second.txt")
    page.keyboard.press("Enter")
    row(page, "second.txt").wait_for()
    page.get_by_label("Select second.txt", exact=True).focus()
    page.keyboard.press("Shift+F10")
    menu.wait_for()
    page.keyboard.press("Escape")
    menu.wait_for(state="detached")
    assert focused_label(page) == "Select second.txt"

    page.get_by_role("button", name=re.compile(r"used")).click()
    page.locator("dialog .usage-parts dt", has_text="Versions").wait_for()
    text = page.locator("dialog").inner_text()
    assert "deleted for good after 30 days" in text and "up to 10 are kept per file" in text


def web_app_catalogues() -> dict:
    """The web app's catalogues (app/static/js/i18n.js loads without a page, so node can read
    them) and the plural categories of each language, as node's Intl has them."""
    import json
    import subprocess
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    script = ("const m = await import(process.argv[1]);"
              "const categories = Object.fromEntries(Object.keys(m.CATALOGUES).map("
              "(lang) => [lang, new Intl.PluralRules(lang).resolvedOptions().pluralCategories]));"
              "console.log(JSON.stringify({ catalogues: m.CATALOGUES, categories }));")
    done = subprocess.run([node, "--experimental-default-type=module", "--input-type=module", "-e", script,
                           os.path.join(JS_MODULES, "i18n.js")], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def placeholders(value) -> set[str]:
    texts = value.values() if isinstance(value, dict) else [value]
    return {name for text in texts for name in re.findall(r"\{(\w+)\}", text)}


def test_every_language_has_the_english_keys_placeholders_and_its_plural_forms():
    """Each catalogue has exactly the English keys, the same {placeholders} per key, and each
    plural entry exactly the language's categories (Arabic: zero, one, two, few, many, other).
    Every key the modules and app.html name exists, and app.html's English fallbacks are the
    catalogue's."""
    data = web_app_catalogues()
    en = data["catalogues"]["en"]
    for lang, catalogue in data["catalogues"].items():
        assert set(catalogue) == set(en), (lang, set(catalogue) ^ set(en))
        for key, value in catalogue.items():
            assert placeholders(value) == placeholders(en[key]), (lang, key)
            if isinstance(value, dict):
                assert set(value) == set(data["categories"][lang]), (lang, key)
    namespaces = "|".join(sorted({key.split(".")[0] for key in en}))
    for name in os.listdir(JS_MODULES):
        if name.endswith(".js") and not name.startswith("i18n-"):
            with open(os.path.join(JS_MODULES, name), encoding="utf-8") as fh:
                for key in re.findall(rf'"((?:{namespaces})\.[\w.-]+)"', fh.read()):
                    assert key in en, (name, key)
    with open(os.path.join(REPO_ROOT, "app", "templates", "app.html"), encoding="utf-8") as fh:
        html = fh.read()
    texts = re.findall(r'data-i18n="([\w.]+)">([^<]*)<', html)
    attributes = re.findall(r'(aria-label|placeholder|title)="([^"]*)"[^>]*? data-i18n-\1="([\w.]+)"', html)
    assert len(texts) == html.count('data-i18n="') and len(attributes) == len(re.findall(r"data-i18n-[\w-]+=", html))
    for key, text in texts:
        assert en[key] == text, key
    for _, text, key in attributes:
        assert en[key] == text, key


# Latin that Arabic text keeps: the product's name, protocols and formats, key names, sizes.
LATIN_IN_ARABIC = ["Cloud Drive", "REGISTRATION=invite", "WebDAV", "SMTP", "API", "ZIP", "PDF", "QR",
                   "Ctrl+C", "Ctrl + A", "Shift", "Enter", "Esc", "Del", "F2"]


def test_no_english_slipped_into_the_arabic_catalogue():
    catalogue = web_app_catalogues()["catalogues"]["ar"]
    for key, value in catalogue.items():
        for text in value.values() if isinstance(value, dict) else [value]:
            rest = re.sub(r"\{\w+\}|\b\d+[KMGT]\b", "", text)
            for word in LATIN_IN_ARABIC:
                rest = rest.replace(word, "")
            assert not re.search(r"[A-Za-z]", rest), (key, text)


def test_arabic_right_to_left_and_the_language_switch(browser, server):
    """A browser that prefers Arabic gets the app in Arabic, right to left: the sign-in form, the
    drive's sidebar and buttons, the sidebar on the right; axe-core finds nothing serious. English
    chosen on the Account page stays chosen (localStorage) after the reload it causes."""
    ar = web_app_catalogues()["catalogues"]["ar"]
    context = browser.new_context(locale="ar-EG", viewport={"width": 1366, "height": 800})
    page, problems = watched_page(context)
    try:
        page.goto(server.base_url + "/#/register")
        page.wait_for_selector(".auth-form")
        assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
        assert page.locator(".auth-title").inner_text() == ar["auth.register.title"]
        assert page.locator("label[for=auth-username]").inner_text() == ar["auth.username"]
        assert page.get_by_role("navigation", name=ar["language.label"]).get_by_role("button").all_inner_texts() == ["English"]
        assert serious_accessibility_problems(page) == []
        page.fill("#auth-username", "salma")
        page.fill("#auth-password", "password123")
        page.get_by_role("button", name=ar["auth.register.submit"]).click()
        page.wait_for_selector(".topbar")
        sidebar = page.locator(".sidebar")
        for key in ("shell.uploadFiles", "shell.newFolder", "nav.myDrive", "nav.shared", "nav.trash"):
            sidebar.get_by_text(ar[key], exact=True).wait_for()
        assert page.get_by_placeholder(ar["shell.searchPlaceholder"]).count() == 1
        assert page.locator(".logout").inner_text() == ar["shell.logout"]
        box, content = sidebar.bounding_box(), page.locator(".content").bounding_box()
        assert box["x"] > content["x"] and box["x"] + box["width"] > 1366 - 2  # mirrored: the sidebar on the right
        page.locator(".usage-text", has_text=ar["size.B"]).wait_for()  # "٠ بايت": sizes in Arabic too
        assert serious_accessibility_problems(page) == []
        shot(page, "60-arabic-drive")

        page.get_by_role("link", name=ar["nav.account"], exact=True).click()
        page.get_by_role("heading", name=ar["account.title"], exact=True).wait_for()
        page.get_by_label(ar["language.label"], exact=True).select_option("en")
        with page.expect_navigation():
            page.get_by_role("button", name=ar["language.submit"]).click()
        page.get_by_role("heading", name="Account", exact=True).wait_for()
        assert page.evaluate("[document.documentElement.lang, document.documentElement.dir, localStorage.lang]") == ["en", "ltr", "en"]
        page.locator(".sidebar").get_by_text("My Drive", exact=True).wait_for()
        assert page.locator(".sidebar").bounding_box()["x"] < 10
        page.get_by_role("button", name="Log out", exact=True).click()
        with page.expect_navigation():
            page.get_by_role("button", name="العربية").click()  # and back, from the sign-in page
        page.get_by_role("button", name=ar["auth.login.submit"]).wait_for()
        assert page.evaluate("document.documentElement.dir") == "rtl"
    finally:
        context.close()
    assert not problems, problems


@pytest.mark.parametrize("width,scheme", [(1366, "light"), (390, "light"), (1366, "dark")])
def test_axe_finds_nothing_serious_on_any_view(browser, new_server, width, scheme):
    """Every view and dialog `make screenshots` shows (tests/screenshots.py), checked by axe-core
    instead of photographed: no critical or serious finding anywhere."""
    from tests.screenshots import PASSWORD, seed, views
    server = new_server(ADMIN_USERNAME="root", ADMIN_PASSWORD=PASSWORD)
    server.start()
    try:
        world = seed(server.base_url)
        context = browser.new_context(viewport={"width": width, "height": 844 if width < 500 else 800},
                                      color_scheme=scheme, is_mobile=width < 500, has_touch=width < 500)
        page = context.new_page()
        page.set_default_timeout(20_000)
        found = {}

        def check(name):
            problems = serious_accessibility_problems(page)
            if problems:
                found[name] = problems
        views(page, server.base_url, world, check)
        context.close()
        assert found == {}
    finally:
        server.kill()


def test_download_a_selection_or_a_folder_as_a_zip(page, server):
    """Two files selected download as one ZIP (a same-site form post), a folder as its own ZIP."""
    import zipfile
    sign_up(page, server, "tariq")
    folder = page.request.post(server.base_url + "/api/folders", data={"name": "Album", "parent_id": "root"}).json()
    seed_files(page, server, ["a.txt", "b.txt"])
    seed_files(page, server, ["inside.txt"], folder["id"])
    page.reload()
    select(page, "a.txt")
    select(page, "b.txt")
    with page.expect_download() as download:
        page.locator(".toolbar [data-action=download-zip]").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        assert sorted(archive.namelist()) == ["a.txt", "b.txt"]
        assert archive.read("a.txt") == b"content of a.txt"
    page.keyboard.press("Escape")
    select(page, "Album")
    with page.expect_download() as download:
        page.locator(".toolbar [data-action=download-zip]").click()
    assert download.value.suggested_filename == "Album.zip"
    with zipfile.ZipFile(download.value.path()) as archive:
        assert archive.read("Album/inside.txt") == b"content of inside.txt"
    # Deleted behind the page's back: the refusal is a message, the app stays.
    page.keyboard.press("Escape")
    select(page, "a.txt")
    select(page, "b.txt")
    a_id = api_children(page, server.base_url, "root")["a.txt"]["id"]
    assert page.request.delete(f"{server.base_url}/api/files/{a_id}").status == 204
    page.locator(".toolbar [data-action=download-zip]").click()
    page.locator(".toast", has_text="No ZIP:").wait_for()
    assert page.locator(".topbar").is_visible()


def test_a_dropped_folder_uploads_where_it_was_dropped_even_after_opening_another(page, server):
    """Reading a dropped folder's tree takes a while; opening another folder meanwhile must not
    send the files there: they go to the folder shown when they were dropped."""
    sign_up(page, server, "yusuf")
    other = page.request.post(server.base_url + "/api/folders", data={"name": "Elsewhere", "parent_id": "root"}).json()
    page.reload()
    row(page, "Elsewhere").wait_for()
    # A dropped folder "Trip" holding a.txt, whose directory reader answers slowly (as a big tree's does).
    drop = page.evaluate_handle("""() => {
        const file = { isFile: true, isDirectory: false, name: "a.txt",
                       file: (resolve) => resolve(new File(["slow tree"], "a.txt", { type: "text/plain" })) };
        let read = false;
        const folder = { isFile: false, isDirectory: true, name: "Trip", createReader: () => ({
            readEntries: (resolve) => setTimeout(() => { resolve(read ? [] : [file]); read = true; }, 1500) }) };
        DataTransferItem.prototype.webkitGetAsEntry = () => folder;
        const data = new DataTransfer();
        data.items.add(new File(["placeholder"], "Trip", { type: "" }));
        return data;
    }""")
    page.dispatch_event(".dropzone", "drop", {"dataTransfer": drop})
    row(page, "Elsewhere").get_by_role("button", name="Elsewhere", exact=True).click()
    page.locator(".breadcrumbs", has_text="Elsewhere").wait_for()
    page.locator('.uploads li .up-status', has_text="Uploaded").wait_for()
    assert "Trip" in api_children(page, server.base_url, "root")
    assert api_children(page, server.base_url, other["id"]) == {}


def test_leaving_a_show_in_folder_while_it_pages_stops_it(page, server):
    """"Show in folder" pages through a big folder to the item; opening another folder meanwhile
    stops it: the other folder shows its first page and its own "Load more", nothing fetched
    on the old folder's behalf."""
    sign_up(page, server, "lina")
    big = page.request.post(server.base_url + "/api/folders", data={"name": "Big", "parent_id": "root"}).json()
    other = page.request.post(server.base_url + "/api/folders", data={"name": "Other", "parent_id": "root"}).json()
    seed_files(page, server, [f"big {i:03d}.txt" for i in range(350)], big["id"])
    seed_files(page, server, [f"other {i:03d}.txt" for i in range(150)], other["id"])
    # Big's later pages answer slowly (the page's own fetch waits 1.5 s before asking).
    page.evaluate("""big => {
        const real = window.fetch;
        window.fetch = (url, options) => (String(url).includes(`/api/folders/${big}/children`) && !/[?&]page=1(&|$)/.test(url)
            ? new Promise((resolve) => setTimeout(resolve, 1500)).then(() => real(url, options)) : real(url, options));
    }""", big["id"])
    page.evaluate("id => { location.hash = `#/folder/${id}?show=000000000000000000000000`; }", big["id"])  # never found
    page.locator(".breadcrumbs", has_text="Big").wait_for()
    row(page, "big 099.txt").wait_for()
    page.evaluate("id => { location.hash = `#/folder/${id}`; }", other["id"])
    page.locator(".breadcrumbs", has_text="Other").wait_for()
    row(page, "other 099.txt").wait_for()
    time.sleep(2.5)  # the old folder's page in flight has come back by now
    assert page.locator("tbody tr").count() == 100
    assert page.locator(".load-more").is_visible()
    page.locator(".load-more").click()
    row(page, "other 149.txt").wait_for()
    assert page.locator("tbody tr").count() == 150


def test_a_long_list_draws_the_rows_on_screen_and_says_how_many_it_has(page, server):
    """600 files after select-all: only the rows near the screen are in the page (the table says it
    has 601 rows), scrolling to the end draws the last ones, and all 600 are selected."""
    sign_up(page, server, "uma2")
    seed_files(page, server, [f"long {i:03d}.txt" for i in range(600)])
    page.reload()
    row(page, "long 000.txt").wait_for()
    page.get_by_label("Select long 000.txt", exact=True).focus()
    page.keyboard.press("Control+a")
    page.locator(".toolbar .count", has_text="600 selected").wait_for()
    assert page.locator(".listing").get_attribute("aria-rowcount") == "601"
    assert page.locator("tbody tr[data-id]").count() < 200
    for _ in range(10):  # the end of the page moves once the rows' real height is measured
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        page.wait_for_timeout(100)
        if row(page, "long 599.txt").count():
            break
    row(page, "long 599.txt").wait_for()
    assert page.get_by_label("Select long 599.txt", exact=True).is_checked()
    assert row(page, "long 000.txt").count() == 0  # drawn again when scrolled back to
    assert page.locator("tbody tr[data-id]").first.get_attribute("aria-rowindex") is not None
    page.evaluate("window.scrollTo(0, 0)")
    row(page, "long 000.txt").wait_for()


def test_on_a_phone_a_select_sorts_by_the_hidden_columns(browser, server):
    """At 390 px the Size and Modified columns are hidden; the Sort select sorts by them, and the
    sort goes into the URL as the column headers' does."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(15_000)
    sign_up(phone, server, "vera")
    seed_files(phone, server, ["b.txt", "a-much-longer-name.txt", "c.txt"])
    phone.reload()
    row(phone, "b.txt").wait_for()
    assert phone.locator("th.col-size").is_hidden()
    phone.get_by_label("Sort", exact=True).select_option("size desc")
    phone.wait_for_url(re.compile(r"sort=size&order=desc"))
    expect(phone.locator("tbody .name button").first).to_have_text("a-much-longer-name.txt")
    assert phone.get_by_label("Sort", exact=True).input_value() == "size desc"
    context.close()

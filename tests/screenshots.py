"""Screenshots of every view of the web app in light and dark, English and Arabic, at 1366 and
390 px, for people to look at (`make screenshots`; not part of the test run, to keep CI within
its budget). They land in test-artifacts/screenshots/views/<lang>-<scheme>-<width>/.

A live Gunicorn on the embedded default with a small drive: folders, files of each kind (an
image, Markdown, CSV), versions, a trashed file, a star, a link, a folder shared by another
user, an administrator. Needs Chromium (/usr/bin/chromium) and Playwright.

    python tests/screenshots.py                  # every combination
    python tests/screenshots.py --lang ar --scheme dark --width 390
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile

import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from config import server_settings  # noqa: E402
from tests.live_server import GunicornServer  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUT = os.path.join(REPO, "test-artifacts", "screenshots", "views")
LOCALES = {"en": "en-US", "ar": "ar-EG"}
PASSWORD = "screenshots 1"


def account(base: str, username: str) -> requests.Session:
    session = requests.Session()
    session.post(f"{base}/api/register", json={"username": username, "password": PASSWORD}, timeout=10)
    session.post(f"{base}/api/login", json={"username": username, "password": PASSWORD}, timeout=10).raise_for_status()
    return session


def upload(session, base, folder, name, body, kind, replace=False):
    answer = session.post(f"{base}/api/upload?folder_id={folder}" + ("&on_conflict=replace" if replace else ""),
                          files={"file": (name, body, kind)}, timeout=30)
    answer.raise_for_status()
    return answer.json()["files"][0]


def folder(session, base, name, parent="root"):
    return session.post(f"{base}/api/folders", json={"name": name, "parent_id": parent}, timeout=10).json()


def seed(base: str) -> dict:
    """A drive worth looking at, for "root" (an administrator) and a colleague who shares."""
    from PIL import Image
    me = account(base, "root")
    photos, reports = folder(me, base, "Photos"), folder(me, base, "Reports 2026")
    folder(me, base, "تقارير")
    for i, colour in enumerate([(200, 60, 40), (40, 120, 200), (60, 170, 90)]):
        picture = io.BytesIO()
        Image.new("RGB", (800, 600), colour).save(picture, "JPEG")
        upload(me, base, photos["id"], f"holiday {i + 1}.jpg", picture.getvalue(), "image/jpeg")
    upload(me, base, "root", "notes.md", b"# Plan\n\n- **Budget** for Q3\n- [Site](https://example.org)\n", "text/markdown")
    upload(me, base, "root", "cities.csv", b"name,country\nCairo,Egypt\nRabat,Morocco\n", "text/csv")
    essay = upload(me, base, "root", "essay.txt", b"first draft", "text/plain")
    upload(me, base, "root", "essay.txt", b"second draft", "text/plain", replace=True)
    me.put(f"{base}/api/files/{essay['id']}/star", timeout=10)
    doomed = upload(me, base, reports["id"], "old report.txt", b"old", "text/plain")
    me.delete(f"{base}/api/files/{doomed['id']}", timeout=10)
    me.post(f"{base}/api/shares", json={"item_id": essay["id"], "label": "For the team"}, timeout=10)
    drop = me.post(f"{base}/api/shares", json={"item_id": reports["id"], "mode": "upload"}, timeout=10).json()
    colleague = account(base, "laila")
    project = folder(colleague, base, "Project")
    upload(colleague, base, project["id"], "plan.txt", b"the plan", "text/plain")
    colleague.post(f"{base}/api/items/{project['id']}/members", json={"username": "root", "role": "editor"}, timeout=10)
    return {"essay": essay, "drop_url": drop["url"]}


def views(page, base: str, world: dict, shot) -> None:
    """Each view, then each dialog, in the order a person meets them."""
    page.goto(f"{base}/#/login")
    page.wait_for_selector(".auth-form")
    shot("01-login")
    page.fill("#auth-username", "root")
    page.fill("#auth-password", PASSWORD)
    page.locator(".auth-submit").click()
    page.wait_for_selector(".topbar")
    page.locator("tbody tr").first.wait_for()
    shot("02-my-drive")
    page.evaluate("localStorage.setItem('layout', 'grid')")
    page.goto(f"{base}/#/folder/root")
    page.reload()
    page.locator(".listing.grid tbody tr").first.wait_for()
    row = page.locator("tbody tr", has_text="Photos").first
    row.locator(".col-name button").first.click()
    page.locator("img.thumb").first.wait_for()
    page.wait_for_timeout(500)
    shot("03-grid-thumbnails")
    page.evaluate("localStorage.setItem('layout', 'list')")
    page.goto(f"{base}/#/folder/root")
    page.reload()
    page.locator("tbody tr").first.wait_for()
    page.locator("tbody tr", has_text="essay.txt").locator("input[type=checkbox]").check()
    shot("04-selection")
    page.locator("tbody tr", has_text="essay.txt").click(button="right", position={"x": 200, "y": 10})
    page.locator(".context-menu").wait_for()
    shot("05-context-menu")
    page.keyboard.press("Escape")
    for action, name in [("versions", "06-versions"), ("share", "07-share-link"), ("people", "08-people"),
                         ("move", "08-move")]:
        page.locator(f".toolbar [data-action={action}]").click()
        page.locator("dialog[open]").wait_for()
        page.wait_for_timeout(300)
        shot(name)
        page.keyboard.press("Escape")
    page.locator("tbody tr", has_text="notes.md").locator(".col-name button").first.click()
    page.locator("dialog .markdown").wait_for()
    shot("09-preview-markdown")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    shot("10-preview-next")
    page.keyboard.press("Escape")
    page.locator(".usage-text").click()
    page.locator("dialog .usage-parts").wait_for()
    shot("11-storage")
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    page.locator("dialog .shortcuts").wait_for()
    shot("12-shortcuts")
    page.keyboard.press("Escape")
    for view, name in [("#/search/a", "13-search"), ("#/starred", "14-starred"), ("#/trash", "15-trash"),
                       ("#/shared", "16-shared-with-me"), ("#/account", "17-account"), ("#/activity", "18-activity"),
                       ("#/admin", "19-administration")]:
        page.goto(f"{base}/{view}")
        page.wait_for_timeout(700)
        shot(name)
    page.goto(world["drop_url"])
    page.locator("form.drop").wait_for()
    shot("20-file-drop")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=sorted(LOCALES), action="append")
    parser.add_argument("--scheme", choices=["light", "dark"], action="append")
    parser.add_argument("--width", type=int, choices=[1366, 390], action="append")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright
    made = 0
    with tempfile.TemporaryDirectory(prefix="screenshots-") as workdir:
        server = GunicornServer(workdir)
        server.env.update(server_settings(ADMIN_USERNAME="root", ADMIN_PASSWORD=PASSWORD))
        server.start()
        try:
            world = seed(server.base_url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                for lang in args.lang or sorted(LOCALES):
                    for scheme in args.scheme or ["light", "dark"]:
                        for width in args.width or [1366, 390]:
                            folder_out = os.path.join(OUT, f"{lang}-{scheme}-{width}")
                            os.makedirs(folder_out, exist_ok=True)
                            context = browser.new_context(locale=LOCALES[lang], color_scheme=scheme,
                                                          viewport={"width": width, "height": 900 if width > 500 else 844},
                                                          is_mobile=width < 500, has_touch=width < 500)
                            page = context.new_page()
                            page.set_default_timeout(20_000)

                            def shot(name, page=page, folder_out=folder_out):
                                nonlocal made
                                page.screenshot(path=os.path.join(folder_out, f"{name}.png"), full_page=False)
                                made += 1
                            views(page, server.base_url, world, shot)
                            context.close()
                browser.close()
        finally:
            server.kill()
    print(f"{made} screenshots in {os.path.relpath(OUT, REPO)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

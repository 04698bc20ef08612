"""The web app with a folder of 10,000 files, in Chromium: time to the first rows, to select
all (every row fetched and drawn), scrolling the whole list (frame times), one bulk star of
the selection; beside the same steps on a folder of 100 files in the same run.

A benchmark, not a test: it prints the figures (a Markdown table) and exits non-zero only when
the app answers wrongly. Needs Chromium (/usr/bin/chromium) and Playwright (requirements-dev).

    python bench/web_10k.py                 # 10,000 and 100 files
    python bench/web_10k.py --files 2000
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transfer  # noqa: E402  (bench/transfer.py: the server)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BATCH = 500  # files per multipart upload while seeding


def seed(session: requests.Session, base: str, name: str, count: int) -> str:
    folder = session.post(f"{base}/api/folders", json={"name": name, "parent_id": "root"}, timeout=30).json()["id"]
    for start in range(0, count, BATCH):
        parts = [("file", (f"file {i:05d}.txt", f"{i}".encode(), "text/plain"))
                 for i in range(start, min(count, start + BATCH))]
        response = session.post(f"{base}/api/upload?folder_id={folder}", files=parts, timeout=300)
        if response.status_code != 201:
            raise transfer.BenchError(f"seeding -> HTTP {response.status_code}: {response.text[:300]}")
    return folder


# Frame times while the list scrolls down as a mouse wheel or a flick does: 120 px a frame for
# 240 frames (about 640 rows), then one jump to the end (requestAnimationFrame).
SCROLL = """async ([step, count]) => {
  const frames = [];
  let last = performance.now(), running = true;
  const tick = (now) => { frames.push(now - last); last = now; if (running) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  for (let i = 1; i <= count; i += 1) {
    window.scrollBy(0, step);
    await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  }
  window.scrollTo(0, document.documentElement.scrollHeight);
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve())));
  running = false;
  window.scrollTo(0, 0);
  return frames.slice(1);
}"""


def measure(page, base: str, folder: str, name: str, count: int) -> dict:
    page.goto(f"{base}/#/folder/root")
    page.locator("tbody tr", has_text=name).first.wait_for()
    started = time.perf_counter()
    page.goto(f"{base}/#/folder/{folder}")
    page.locator("tbody tr").first.wait_for()
    first_rows = time.perf_counter() - started
    page.locator(f".toolbar .count:has-text('{count:,} item')").wait_for()
    page.get_by_label("Select file 00000.txt", exact=True).focus()
    started = time.perf_counter()
    page.keyboard.press("Control+a")
    page.locator(f".toolbar .count:has-text('{count:,} selected')").wait_for(timeout=600_000)
    select_all = time.perf_counter() - started
    if page.locator(".listing").get_attribute("aria-rowcount") not in (None, str(count + 1)):
        raise transfer.BenchError("the table does not say it has every row")
    if page.locator("tbody tr.selected").count() < min(count, 20):
        raise transfer.BenchError("select-all did not select the rows on screen")
    frames = page.evaluate(SCROLL, [120, 240])
    started = time.perf_counter()
    page.get_by_role("button", name="Star", exact=True).click()
    page.locator(".toolbar button", has_text="Unstar").wait_for(timeout=900_000)
    star = time.perf_counter() - started
    return {"first_rows": first_rows, "select_all": select_all, "star": star,
            "frame_median": statistics.median(frames), "frame_p95": sorted(frames)[int(len(frames) * 0.95)],
            "frame_max": max(frames)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=100)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory(prefix="bench-web-") as workdir:
        server = transfer.Server(workdir, os.path.join(workdir, "gunicorn.log"))
        server.start()
        try:
            session = requests.Session()
            credentials = {"username": "web-" + secrets.token_hex(3), "password": secrets.token_urlsafe(12)}
            session.post(f"{server.base}/api/register", json=credentials, timeout=10).raise_for_status()
            session.post(f"{server.base}/api/login", json=credentials, timeout=10).raise_for_status()
            started = time.perf_counter()
            big = seed(session, server.base, "Big", args.files)
            small = seed(session, server.base, "Small", args.small)
            seeding = time.perf_counter() - started
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1366, "height": 800})
                page.set_default_timeout(120_000)
                page.goto(f"{server.base}/#/login")
                page.fill("#auth-username", credentials["username"])
                page.fill("#auth-password", credentials["password"])
                page.get_by_role("button", name="Log in").click()
                page.wait_for_selector(".topbar")
                results = {args.small: measure(page, server.base, small, "Small", args.small),
                           args.files: measure(page, server.base, big, "Big", args.files)}
                browser.close()
        except transfer.BenchError:
            print(server.log_tail(), file=sys.stderr)
            raise
        finally:
            server.stop()
    few, many = results[args.small], results[args.files]
    print(f"Chromium at 1366 px, Gunicorn on the embedded default, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}; seeding {args.files + args.small:,} files took {seeding:.1f} s")
    print(f"| step | {args.small:,} files | {args.files:,} files | ratio |")
    print("|---|---|---|---|")
    for key, label in [("first_rows", "first rows on screen"), ("select_all", "select all (fetch + draw every row)"),
                       ("star", "star the selection (one bulk request, rows redrawn)")]:
        print(f"| {label} | {few[key] * 1000:.0f} ms | {many[key] * 1000:.0f} ms | {many[key] / few[key]:.1f}× |")
    for key, label in [("frame_median", "scrolling: median frame"), ("frame_p95", "scrolling: 95th percentile frame"),
                       ("frame_max", "scrolling: longest frame")]:
        print(f"| {label} | {few[key]:.1f} ms | {many[key]:.1f} ms | {many[key] / few[key]:.1f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Thumbnails through Gunicorn's gevent worker: a 12-megapixel JPEG drawn cold (the cache
emptied before each request) and served from the cache, and how long other requests wait
while thumbnails are drawn (they should not: drawing runs in threads, off the event loop).

A benchmark, not a test: it prints the figures and exits non-zero only when the service
answers wrongly.

    python bench/thumbnails.py              # 20 cold, 200 cached, size 256
    python bench/thumbnails.py --cold 5 --cached 50
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

import requests
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transfer  # noqa: E402  (bench/transfer.py: the server)


def photo(width: int = 4000, height: int = 3000) -> bytes:
    """A JPEG of a camera's size with detail in it (noise over a gradient), quality 90."""
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    out = io.BytesIO()
    Image.blend(base, noise, 0.4).save(out, "JPEG", quality=90)
    return out.getvalue()


def get_thumbnail(session: requests.Session, base: str, file_id: str, size: int) -> float:
    started = time.perf_counter()
    response = session.get(f"{base}/api/files/{file_id}/thumbnail?size={size}", timeout=60)
    elapsed = time.perf_counter() - started
    if response.status_code != 200 or response.headers.get("Content-Type") != "image/webp":
        raise transfer.BenchError(f"thumbnail -> HTTP {response.status_code}: {response.text[:300]}")
    return elapsed


def logged_in(session: requests.Session) -> requests.Session:
    """Another session with the same login (one per thread)."""
    other = requests.Session()
    other.cookies.update(session.cookies)
    return other


def status_latency_while(work, session: requests.Session, base: str) -> list[float]:
    """Latencies of GET /api/status, one after another, for as long as ``work`` runs."""
    done, latencies = threading.Event(), []
    runner = threading.Thread(target=lambda: (work(), done.set()))
    runner.start()
    while not done.is_set():
        started = time.perf_counter()
        session.get(f"{base}/api/status", timeout=60).raise_for_status()
        latencies.append(time.perf_counter() - started)
    runner.join()
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=20)
    parser.add_argument("--cached", type=int, default=200)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-thumbnails-") as workdir:
        server = transfer.Server(workdir, os.path.join(workdir, "gunicorn.log"))
        server.env["WEB_CONCURRENCY"] = "1"
        server.start()
        try:
            session = requests.Session()
            transfer.sign_up(session, server.base)
            data = photo()
            response = session.post(f"{server.base}/api/upload", files={"file": ("photo.jpg", data, "image/jpeg")})
            if response.status_code != 201:
                raise transfer.BenchError(f"upload -> HTTP {response.status_code}: {response.text[:300]}")
            file_id = response.json()["files"][0]["id"]
            cache = os.path.join(server.env["INSTANCE_PATH"], "thumbnails")
            get_thumbnail(session, server.base, file_id, args.size)  # imports the decoders once

            cold = []
            for _ in range(args.cold):
                shutil.rmtree(cache, ignore_errors=True)
                cold.append(get_thumbnail(session, server.base, file_id, args.size))
            cached = [get_thumbnail(session, server.base, file_id, args.size) for _ in range(args.cached)]

            def draw_in_parallel():
                shutil.rmtree(cache, ignore_errors=True)
                threads = [threading.Thread(target=get_thumbnail, args=(logged_in(session), server.base, file_id,
                                                                        size)) for size in (64, 128, 256, 512)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            with requests.Session() as other:
                other.get(f"{server.base}/api/status").raise_for_status()
                idle = [status_latency_while(lambda: time.sleep(0.5), other, server.base)]
                busy = status_latency_while(draw_in_parallel, other, server.base)
        except transfer.BenchError:
            print(server.log_tail(), file=sys.stderr)
            raise
        finally:
            server.stop()
    median_cold, median_cached = statistics.median(cold), statistics.median(cached)
    print(f"12 MP JPEG ({len(data) / 2**20:.1f} MiB), size {args.size}, one gevent worker, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"| cold (drawn) | {1 / median_cold:.1f} thumbnails/s | median {median_cold * 1000:.0f} ms |")
    print(f"| cached | {1 / median_cached:.0f} thumbnails/s | median {median_cached * 1000:.1f} ms |")
    print(f"| /api/status while 4 are drawn | worst {max(busy) * 1000:.0f} ms over {len(busy)} requests "
          f"(idle: worst {max(idle[0]) * 1000:.0f} ms) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

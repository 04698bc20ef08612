"""What encryption at rest costs: one large file uploaded and downloaded through Gunicorn,
plain and with ENCRYPTION_KEY, in one run on the same machine.

A benchmark, not a test: it prints the figures and exits non-zero only when the service
answers wrongly (an error status, a wrong SHA-256).

    python bench/encryption_cost.py            # 1 GiB
    python bench/encryption_cost.py --quick    # 256 MiB

Plain downloads go out with sendfile (zero-copy); encrypted ones are decrypted in the worker
64 KiB at a time, so the download ratio is the price of that path, CPU included.
"""
from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transfer  # noqa: E402  (bench/transfer.py: the server, the client and the source file)

MIB = transfer.MIB


def measure(workdir: str, source: str, sha256: str, encryption_key: str | None) -> dict:
    """Upload then download ``source`` once against a fresh server; MiB/s and worker CPU."""
    label = "encrypted" if encryption_key else "plain"
    server = transfer.Server(os.path.join(workdir, label), os.path.join(workdir, f"{label}.log"))
    os.makedirs(os.path.join(workdir, label), exist_ok=True)
    server.env.pop("ENCRYPTION_KEY_FILE", None)
    server.env.pop("ENCRYPTION_KEY", None)
    server.env["WEB_CONCURRENCY"] = "1"  # one worker, whose CPU time is measured
    if encryption_key:
        server.env["ENCRYPTION_KEY"] = encryption_key
    server.start()
    try:
        worker = server.worker_pid()
        session = requests.Session()
        transfer.sign_up(session, server.base)
        transfer.warm_up(session, server.base, workdir)
        cpu = transfer.cpu_seconds(worker)
        record, up_s, sent = transfer.upload(session, server.base, source)
        cpu_up = transfer.cpu_seconds(worker) - cpu
        if record["sha256"] != sha256:
            raise transfer.BenchError(f"{label}: upload stored SHA-256 {record['sha256']}, expected {sha256}")
        cpu = transfer.cpu_seconds(worker)
        got, received, down_s, _ = transfer.download(session, server.base, record["id"])
        cpu_down = transfer.cpu_seconds(worker) - cpu
        if got != sha256:
            raise transfer.BenchError(f"{label}: download SHA-256 {got}, expected {sha256}")
        return {"label": label, "upload": transfer.mib_per_s(sent, up_s), "download": transfer.mib_per_s(received, down_s),
                "cpu_up": cpu_up, "cpu_down": cpu_down}
    except transfer.BenchError:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 MiB instead of 1 GiB")
    parser.add_argument("--size-mib", type=int, help="any other size")
    parser.add_argument("--rounds", type=int, default=3, help="plain and encrypted runs, alternated")
    args = parser.parse_args(argv)
    size = (args.size_mib or (256 if args.quick else 1024)) * MIB
    with tempfile.TemporaryDirectory(prefix="bench-encryption-") as workdir:
        source = os.path.join(workdir, "source.bin")
        sha256 = transfer.make_source(source, size)
        key = base64.b64encode(os.urandom(32)).decode()
        best: dict[str, dict] = {}
        try:
            for _ in range(args.rounds):  # alternated, so a busy moment of the machine hits both
                for encryption_key in (None, key):
                    row = measure(workdir, source, sha256, encryption_key)
                    kept = best.setdefault(row["label"], row)
                    for field, pick in (("upload", max), ("download", max), ("cpu_up", min), ("cpu_down", min)):
                        kept[field] = pick(kept[field], row[field])
        except transfer.BenchError as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
    rows = [best["plain"], best["encrypted"]]
    print(f"{size // MIB} MiB through Gunicorn, one worker, embedded database, best of {args.rounds} rounds")
    print(f"{'':10} {'upload MiB/s':>13} {'download MiB/s':>15} {'worker CPU s up/down':>22}")
    for row in rows:
        print(f"{row['label']:10} {row['upload']:13.0f} {row['download']:15.0f} "
              f"{row['cpu_up']:10.2f} / {row['cpu_down']:.2f}")
    plain, sealed = rows
    print(f"encrypted / plain: upload {sealed['upload'] / plain['upload']:.2f}x, "
          f"download {sealed['download'] / plain['download']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

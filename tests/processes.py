"""Real processes started at the same moment, for races between workers that threads in one
interpreter cannot show (file locks, O_EXCL, SQLite's locks between connections)."""
from __future__ import annotations

import multiprocessing
import queue
import time

RACE_TIMEOUT_S = 180


def race(target, *per_process: tuple) -> list:
    """Run ``target(*args, barrier, results)`` for each ``args`` in a fresh interpreter, all at
    once (they meet at ``barrier``), and return what each put on ``results``, in the order
    they put it."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(len(per_process)), context.Queue()
    procs = [context.Process(target=target, args=(*args, barrier, results)) for args in per_process]
    for proc in procs:
        proc.start()
    out, deadline = [], time.monotonic() + RACE_TIMEOUT_S
    while len(out) < len(procs):
        try:
            out.append(results.get(timeout=1))
        except queue.Empty:
            dead = [proc.exitcode for proc in procs if proc.exitcode not in (None, 0)]
            assert not dead and time.monotonic() < deadline, f"a process failed or hung (exit codes {dead})"
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    return out

"""Gunicorn settings. Several workers share the database: the embedded SQLite file by
default, MongoDB with MONGO_URI set.

``gunicorn.conf.py`` is a link to this file (``gunicorn -c gunicorn.conf.py`` in a checkout);
installed, the module is ``gunicorn_conf`` (``clouddrive-server`` runs ``-c python:gunicorn_conf``)."""
import ctypes
import multiprocessing
import os
import shutil
import sys
import tempfile

bind = os.environ.get("BIND", "127.0.0.1:8000")
# One greenlet per connection (gunicorn_worker.py): a client trickling its headers or body
# holds a greenlet, not one of a few threads, and is dropped when it sends too little for too
# long. Blocking work (password hashing, fsync) runs in gevent's thread pool (app/offload.py).
# GUNICORN_WORKER_CLASS=gthread restores the threaded worker (benchmarks compare the two).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gunicorn_worker.SlowClientSafeWorker")
threads = int(os.environ.get("GUNICORN_THREADS", "8"))  # gthread only
# Connections one worker serves at once (the rest wait in the listen backlog); each idle or
# trickling one costs a greenlet, a socket and its buffers: about 40 KiB (bench/slow_clients.py).
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
if os.environ.get("MONGO_URI"):
    workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
else:
    # Every worker opens the embedded SQLite database (WAL; sessions, locks and rate-limit
    # counters live there too). Two by default: a small server has about 2 cores, and SQLite
    # lets one writer at a time, so more workers add memory and lock waits, not throughput.
    workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
accesslog = "-"
# No query strings in the access log: tokens may travel there for seed-compatible clients.
# pid=<worker pid>: which worker answered, for reading a log of several workers (and tests).
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss rid=%({x-request-id}o)s pid=%(p)s'
# The same lines, built from the atoms the format names only (gunicorn_worker.AccessLogger).
logger_class = "gunicorn_worker.AccessLogger"
# Gunicorn 27's control socket is shared per user; several servers (tests, benchmarks, a
# running `make run`) would remove each other's. We do not use gunicornc.
control_socket_disable = True

# glibc's malloc, left to itself, serves the 1-4 MiB buffers a streamed upload goes through
# (Gunicorn's body reader, Werkzeug's decoder) from fresh mmap()s or from heap tops it has just
# given back, so every page of every upload was faulted in again: two page faults per 4 KiB
# received, about 40% of the worker's CPU for a large upload. Fixed thresholds keep those
# buffers in the heap and at most 8 MiB of free heap top per arena (RSS stays flat).
MALLOC_MMAP_THRESHOLD = 4 * 1024 * 1024
MALLOC_TRIM_THRESHOLD = 8 * 1024 * 1024
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # <malloc.h>


def on_starting(server):
    """Check the environment in the master, before any socket or worker: a bad value is one
    line naming the variable and exit status 1, not a worker traceback ending in "Worker
    failed to boot"."""
    from config import ConfigError, load_config

    try:
        settings = load_config()
    except ConfigError as exc:
        sys.exit(f"configuration error: {exc}")
    if settings["METRICS_ENABLED"]:
        # One folder for every worker's metric files (prometheus-client's multiprocess mode),
        # empty at each start; workers inherit the variable when they are forked.
        folder = os.path.join(tempfile.gettempdir(), f"clouddrive-metrics-{os.getpid()}")
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, mode=0o700)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    if settings["SECRET_KEY_REQUIRED"] and not settings.get("SECRET_KEY"):
        sys.exit(f"configuration error: SECRET_KEY must be set for APP_ENV={settings['ENV_NAME']} "
                 "(e.g. SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))'))")


def child_exit(server, worker):
    """A worker's live gauges stop counting when it is gone (its counters stay in the sum)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder and os.path.basename(folder) == f"clouddrive-metrics-{os.getpid()}":
        shutil.rmtree(folder, ignore_errors=True)


def post_fork(server, worker):
    try:
        mallopt = ctypes.CDLL(None).mallopt  # glibc; elsewhere there is nothing to tune
    except (OSError, AttributeError):
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD)

"""Gunicorn settings. The embedded store lives in one process, so it gets one worker with
threads; with MONGO_URI set, several workers share the database."""
import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
if os.environ.get("MONGO_URI"):
    workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
else:
    workers = 1  # the embedded store must not be shared between processes of one server
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
accesslog = "-"
# No query strings in the access log: tokens may travel there for seed-compatible clients.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss rid=%({x-request-id}o)s'
# Gunicorn 27's control socket is shared per user; several servers (tests, benchmarks, a
# running `make run`) would remove each other's. We do not use gunicornc.
control_socket_disable = True

"""Gunicorn's access log through gunicorn_worker.AccessLogger: the same lines as Gunicorn's own
logger writes, for our format and for any other."""
from __future__ import annotations

import base64
import datetime

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

import gunicorn_conf
from gunicorn_worker import _ATOMS, AccessLogger

ONE_LETTER_ATOMS = "hlutrsmUqHbBfaTDMLp"
EVERY_ATOM = " ".join(f"%({name})s" for name in ONE_LETTER_ATOMS)
FORMATS = [
    gunicorn_conf.access_log_format,
    EVERY_ATOM,
    '%({X-REQUEST-ID}o)s %({x-request-id}O)s %({user-agent}i)s %({Accept}i)s %({missing}i)s %({x}x)s %(nope)s',
    '%({raw_uri}e)s %({wsgi.url_scheme}e)s %({NOT_THERE}e)s %({remote_addr}E)s',
    'quoted=%({x-quote}o)s %({x-quote}i)s %(a)s %(f)s',
]


class Response:
    def __init__(self, status, sent, headers):
        self.status, self.sent, self.headers = status, sent, headers


class Request:
    def __init__(self, headers):
        self.headers = headers


def exchange(auth: str | None = None):
    headers = [("HOST", "127.0.0.1:8000"), ("USER-AGENT", 'curl/8 "quoted"'), ("ACCEPT", "*/*"),
               ("X-QUOTE", 'a"b'), ("ACCEPT", "text/html")]  # a repeated header: the last one counts
    environ = {"REMOTE_ADDR": "10.0.0.7", "REQUEST_METHOD": "GET", "RAW_URI": "/api/files/x?token=secret",
               "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": "/api/files/x", "QUERY_STRING": "token=secret",
               "HTTP_USER_AGENT": 'curl/8 "quoted"', "HTTP_REFERER": "https://x/", "wsgi.url_scheme": "http",
               "gunicorn.socket": object()}
    if auth:
        headers.append(("AUTHORIZATION", auth))
        environ["HTTP_AUTHORIZATION"] = auth
    response = Response("200 OK", 65536, [("Content-Type", "application/octet-stream"), ("X-Request-ID", "rid-1"),
                                          ("X-Quote", 'say "hi"')])
    return response, Request(headers), environ, datetime.timedelta(seconds=1, microseconds=2345)


def logged_line(logger_class, log_format: str, tmp_path, monkeypatch, auth=None) -> str:
    monkeypatch.setattr(Logger, "now", lambda self: "[06/Dec/2026:19:30:00 +0000]")
    path = tmp_path / f"{logger_class.__name__}.log"
    cfg = Config()
    cfg.set("accesslog", str(path))
    cfg.set("access_log_format", log_format)
    logger = logger_class(cfg)
    logger.access(*exchange(auth))
    for handler in logger.access_log.handlers:
        handler.close()
    return path.read_text()


@pytest.mark.parametrize("log_format", FORMATS)
@pytest.mark.parametrize("auth", [None, "Basic " + base64.b64encode(b"alice:pw").decode(), "Bearer cd_secret"])
def test_the_access_log_lines_are_gunicorns_own(log_format, auth, tmp_path, monkeypatch):
    ours = logged_line(AccessLogger, log_format, tmp_path, monkeypatch, auth)
    assert ours == logged_line(Logger, log_format, tmp_path, monkeypatch, auth)
    assert ours.count("\n") == 1


def test_our_format_names_the_address_request_status_and_request_id(tmp_path, monkeypatch):
    line = logged_line(AccessLogger, gunicorn_conf.access_log_format, tmp_path, monkeypatch)
    assert line.startswith('10.0.0.7 "GET /api/files/x HTTP/1.1" 200 65536 1.002345s rid=rid-1 pid=')


def test_the_server_uses_the_access_logger():
    assert gunicorn_conf.logger_class == "gunicorn_worker.AccessLogger"


def test_every_one_letter_atom_of_gunicorn_is_known():
    response, request, environ, took = exchange()
    theirs = Logger(Config()).atoms(response, request, environ, took)
    assert {key for key in theirs if not key.startswith("{")} == set(_ATOMS) == set(ONE_LETTER_ATOMS)

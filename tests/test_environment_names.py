"""Environment variable names exist once, in config.py: its lists are exactly what load_config and
gunicorn.conf.py read, and the tests and benchmarks start servers with no other names."""
from __future__ import annotations

import ast
import os
import re
import runpy
from pathlib import Path

import pytest

import config
from config import APP_VARIABLES, GUNICORN_VARIABLES, PROFILES, SERVER_VARIABLES, load_config, server_settings

ROOT = Path(__file__).resolve().parents[1]
# Variables the test and benchmark helpers give the server process that are not its settings.
PROCESS_VARIABLES = {"PYTHONUNBUFFERED", "XDG_RUNTIME_DIR", "PYTHONPATH"}


class ReadNames(dict):
    """An environment that remembers every name looked up in it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def get(self, name, default=None):
        self.read.add(name)
        return super().get(name, default)

    def __getitem__(self, name):
        self.read.add(name)
        return super().__getitem__(name)

    def __contains__(self, name):
        self.read.add(name)
        return super().__contains__(name)


def test_config_lists_exactly_the_variables_load_config_reads():
    read = set()
    for environ in [{}, *({"APP_ENV": name, "SECRET_KEY": "k"} for name in PROFILES),
                    {"MONGO_URI": "mongodb://127.0.0.1:1/drive"}]:
        names = ReadNames(environ)
        load_config(names)
        read |= names.read
    assert read == set(APP_VARIABLES)


@pytest.mark.parametrize("environ", [{}, {"MONGO_URI": "mongodb://127.0.0.1:1/drive"}])
def test_config_lists_exactly_the_variables_gunicorn_conf_reads(monkeypatch, environ):
    names = ReadNames(environ)
    monkeypatch.setattr(os, "environ", names)
    runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert names.read <= set(SERVER_VARIABLES)
    # GUNICORN_CMD_ARGS is read by Gunicorn itself; MONGO_URI only picks the default worker count.
    assert names.read - {"MONGO_URI"} == set(GUNICORN_VARIABLES) - {"GUNICORN_CMD_ARGS"}


def test_a_server_setting_with_an_unknown_name_fails_where_it_is_set():
    with pytest.raises(KeyError, match="MAX_UPLOAD_SIZE"):
        server_settings(MAX_UPLOAD_SIZE="1G")


def test_a_server_environment_keeps_nothing_of_the_shell_the_server_reads():
    shell = {"PATH": "/bin", "SECRET_KEY": "mine", "ENCRYPTION_KEY": "mine", "TRASH_RETENTION_DAYS": "1"}
    assert config.server_environment(shell, BIND="127.0.0.1:1") == {"PATH": "/bin", "BIND": "127.0.0.1:1"}


def _uppercase(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isupper():
        return node.value
    return None


def _is_env(node: ast.AST) -> bool:
    """``env``, ``self.env``, ``server.env``, ...: a name or attribute called env."""
    return getattr(node, "id", None) == "env" or getattr(node, "attr", None) == "env"


def names_set_for_servers(tree: ast.AST):
    """(line, name) for each variable a module sets for a server: keywords of ``new_server``,
    ``server_settings``, ``server_environment`` and ``<...>env.update``, keys of ``<...>env[...]``
    and ``<...>env.pop/get``, and the keys of dicts that name server variables (``wire_env``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            if name in ("new_server", "server_settings", "server_environment") or (
                    name == "update" and _is_env(getattr(func, "value", None))):
                yield from ((node.lineno, k.arg) for k in node.keywords if k.arg)
            if name in ("pop", "get", "setdefault") and _is_env(getattr(func, "value", None)) and node.args:
                if key := _uppercase(node.args[0]):
                    yield node.lineno, key
            if name == "setenv" and node.args and (key := _uppercase(node.args[0])):
                yield node.lineno, key
        elif isinstance(node, ast.Subscript) and _is_env(node.value) and (key := _uppercase(node.slice)):
            yield node.lineno, key
        elif isinstance(node, ast.Dict):
            keys = [_uppercase(k) for k in node.keys if k is not None]
            if keys and all(keys) and set(keys) & set(SERVER_VARIABLES):
                yield from ((node.lineno, k) for k in keys)


def test_tests_and_benchmarks_start_servers_with_names_config_knows():
    known = set(SERVER_VARIABLES) | PROCESS_VARIABLES
    unknown, seen = [], set()
    for path in sorted([*(ROOT / "tests").glob("*.py"), *(ROOT / "bench").glob("*.py")]):
        if path.name == Path(__file__).name:  # its wrong names are on purpose
            continue
        for line, name in names_set_for_servers(ast.parse(path.read_text())):
            seen.add(name)
            if name not in known:
                unknown.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert not unknown, "not variables config.py knows:\n" + "\n".join(unknown)
    # The scan does find what the helpers set (it would pass vacuously otherwise).
    assert {"BIND", "UPLOAD_FOLDER", "MONGO_URI", "S3_BUCKET", "USER_QUOTA_BYTES", "WEB_CONCURRENCY"} <= seen


def test_the_readme_configuration_table_lists_every_variable():
    rows = [line.split("|")[1] for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `")]
    listed = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    # EMBEDDED_ENGINE is only refused now (the README says why); GUNICORN_CMD_ARGS is Gunicorn's own.
    assert set(SERVER_VARIABLES) - {"EMBEDDED_ENGINE", "GUNICORN_CMD_ARGS"} <= listed

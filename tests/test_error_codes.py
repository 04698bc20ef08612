"""Error codes are one enumeration (app.errors.ErrorCode): the README's table lists exactly
its codes with their statuses, and every code a module raises by name is one of them."""
from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

from app.errors import AppError, ErrorCode, InvalidInput

ROOT = Path(__file__).resolve().parents[1]
TABLE_ROW = re.compile(r"^\| (\d{3}) \| (.*) \|$")


def readme_error_table() -> dict[int, set[str]]:
    """The codes of the README's "### Errors" table, by status."""
    section = (ROOT / "README.md").read_text().split("### Errors", 1)[1].split("\n## ", 1)[0]
    table: dict[int, set[str]] = defaultdict(set)
    for line in section.splitlines():
        match = TABLE_ROW.match(line)
        if match:
            # A code is a backticked snake_case word before any prose about it.
            table[int(match.group(1))] |= set(re.findall(r"`([a-z_]+)`", re.sub(r"\([^)]*\)", "", match.group(2))))
    return dict(table)


def test_the_readme_error_table_lists_exactly_the_enumerated_codes():
    enumerated: dict[int, set[str]] = defaultdict(set)
    for code in ErrorCode:
        enumerated[code.status].add(code.value)
    assert readme_error_table() == dict(enumerated)


def _string_codes(tree: ast.AST):
    """``code="..."`` keywords and ``code = "..."`` assignments (plain or in a tuple)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "code":
            yield node.value
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if getattr(target, "id", None) == "code":
                    yield node.value
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    yield from (value for name, value in zip(target.elts, node.value.elts)
                                if getattr(name, "id", None) == "code")


def test_every_code_raised_by_name_in_the_app_is_an_enumeration_member():
    known = {code.value for code in ErrorCode}
    for path in (ROOT / "app").rglob("*.py"):
        for value in _string_codes(ast.parse(path.read_text())):
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                assert value.value in known, f"{path}: code={value.value!r} is not in ErrorCode"
                pytest.fail(f"{path}:{value.lineno}: code={value.value!r}: name it ErrorCode.{value.value.upper()}")


def test_an_error_takes_its_status_from_its_code():
    error = AppError("Too many changes at once; try again.", code=ErrorCode.TRY_AGAIN)
    assert (error.status, error.code) == (503, "try_again")
    assert InvalidInput("No.").status == 400


def test_an_unknown_code_fails_where_it_is_raised():
    with pytest.raises(ValueError):
        InvalidInput("No.", code="no_such_code")

"""A path names an item the way a person (or a WebDAV client) writes it: ``/Reports/2026/q1.pdf``,
compared as sibling names are. Runs on every repository backend."""
from __future__ import annotations

import pytest
from bson import ObjectId

from app.drive.names import name_key
from app.drive.repo import FILE, FOLDER, ItemsRepository, new_item, trash_slot
from app.drive.sqlite_repo import SQLiteItemsRepository
from app.drive.tree import Tree
from app.errors import InvalidInput, NotFound
from app.timeutil import utcnow
from tests.repository_backends import BACKENDS, on_backend

ALICE, BOB = "a" * 24, "b" * 24


def _sqlite_items(db) -> SQLiteItemsRepository:
    items = SQLiteItemsRepository(db)
    items.ensure_indexes()
    return items


@pytest.fixture(params=BACKENDS)
def items(request, tmp_path):
    yield from on_backend(request, tmp_path, ItemsRepository, _sqlite_items)


@pytest.fixture
def tree(items) -> Tree:
    return Tree(items)


def add(items, kind: str, name: str, parent=None, owner=ALICE) -> dict:
    fields = {"size": 3, "content_type": "application/pdf", "sha256": "0" * 64, "blob_id": ObjectId(),
              "revision": 1} if kind == FILE else {}
    item = new_item(owner, kind, name, name_key(name), None if parent is None else parent["_id"], utcnow(), **fields)
    items.insert(item)
    return item


@pytest.fixture
def reports(items) -> dict:
    """alice's /Reports/2026/q1.pdf; returns the three items by name."""
    top = add(items, FOLDER, "Reports")
    year = add(items, FOLDER, "2026", top)
    return {"Reports": top, "2026": year, "q1.pdf": add(items, FILE, "q1.pdf", year)}


def trash(items, item: dict) -> None:
    items.update(item["owner_id"], item["_id"], {"trashed_at": utcnow(), "trash_root": True,
                                                 "slot": trash_slot(item["_id"])})


def test_a_path_names_a_file_in_nested_folders(tree, reports):
    assert tree.resolve(ALICE, "/Reports/2026/q1.pdf")["_id"] == reports["q1.pdf"]["_id"]
    assert tree.resolve(ALICE, "/Reports/2026")["_id"] == reports["2026"]["_id"]


def test_the_root_is_none_and_a_trailing_slash_names_the_folder(tree, reports):
    assert tree.resolve(ALICE, "/") is None
    assert tree.resolve(ALICE, "/Reports/")["_id"] == reports["Reports"]["_id"]


@pytest.mark.parametrize("path", ["/reports/2026/Q1.PDF", "/REPORTS/2026/q1.pdf"])
def test_case_does_not_matter_as_for_sibling_names(tree, reports, path):
    assert tree.resolve(ALICE, path)["_id"] == reports["q1.pdf"]["_id"]


def test_unicode_names_resolve_whatever_their_normal_form(items, tree):
    cafe = add(items, FOLDER, "Café")
    assert tree.resolve(ALICE, "/Cafe\u0301")["_id"] == cafe["_id"]  # macOS clients send NFD
    assert tree.resolve(ALICE, "/CAFÉ")["_id"] == cafe["_id"]


@pytest.mark.parametrize("path", ["/Reports/2026/q2.pdf", "/Nope", "/Reports/2026/q1.pdf/more",
                                  "/Reports/2026/q1.pdf/"])
def test_what_does_not_exist_is_404(tree, reports, path):
    with pytest.raises(NotFound):
        tree.resolve(ALICE, path)


def test_a_trashed_item_does_not_resolve_nor_does_anything_below_it(items, tree, reports):
    trash(items, reports["2026"])
    items.trash_along(ALICE, [reports["q1.pdf"]["_id"]], reports["2026"]["_id"], utcnow())
    for path in ("/Reports/2026", "/Reports/2026/q1.pdf"):
        with pytest.raises(NotFound):
            tree.resolve(ALICE, path)
    assert tree.resolve(ALICE, "/Reports")["_id"] == reports["Reports"]["_id"]


def test_another_users_path_does_not_resolve(items, tree, reports):
    with pytest.raises(NotFound):
        tree.resolve(BOB, "/Reports/2026/q1.pdf")
    mine = add(items, FOLDER, "Reports", owner=BOB)
    assert tree.resolve(BOB, "/Reports")["_id"] == mine["_id"]


@pytest.mark.parametrize("path", ["/Reports/../Reports/2026", "/Reports/./2026", "/..", "//Reports", "/Reports//2026",
                                  "Reports/2026", "", "/Reports/2026/.."])
def test_dot_segments_empty_segments_and_relative_paths_are_refused(tree, reports, path):
    with pytest.raises(InvalidInput):
        tree.resolve(ALICE, path)


@pytest.mark.parametrize("path", ["/Rep\x00orts", "/a\\b", "/" + "x" * 300])
def test_a_segment_no_name_could_have_is_404(tree, reports, path):
    with pytest.raises(NotFound):
        tree.resolve(ALICE, path)

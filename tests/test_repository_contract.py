"""The drive repositories' named operations, one contract for every implementation.

Services never build database queries: they call these operations (DESIGN.md). Each test
here runs on every database the app can use: mongomock (standing in for MongoDB in unit
tests) and the embedded SQLite engine (issue 10). A new implementation joins the ``repos``
fixture's parameters (tests/repository_backends.py) and must pass the same tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from bson import ObjectId

from app.drive.names import name_key
from app.drive.repo import (FILE, FOLDER, BlobsRepository, ItemsRepository, NameTaken, VersionsRepository, new_item,
                            trash_slot)
from app.drive.sqlite_repo import SQLiteBlobsRepository, SQLiteItemsRepository, SQLiteVersionsRepository
from app.sqlite_db import SQLiteDatabase
from app.timeutil import utcnow
from tests.repository_backends import BACKENDS, on_backend

OWNER, OTHER = "a" * 24, "b" * 24


@dataclass
class Repos:
    items: ItemsRepository
    blobs: BlobsRepository
    versions: VersionsRepository


def sqlite_repos(db: SQLiteDatabase) -> Repos:
    built = Repos(SQLiteItemsRepository(db), SQLiteBlobsRepository(db), SQLiteVersionsRepository(db))
    for repo in (built.items, built.blobs, built.versions):
        repo.ensure_indexes()
    return built


@pytest.fixture(params=BACKENDS)
def repos(request, tmp_path):
    yield from on_backend(request, tmp_path,
                          lambda db: Repos(ItemsRepository(db), BlobsRepository(db), VersionsRepository(db)),
                          sqlite_repos)


def add(repos: Repos, kind: str, name: str, parent=None, owner=OWNER, when=None, **fields) -> dict:
    now = when or utcnow()
    item = new_item(owner, kind, name, name_key(name), parent, now, **fields)
    repos.items.insert(item)
    return item


def a_file(repos, name, parent=None, size=1, **fields):
    return add(repos, FILE, name, parent, size=size, content_type="text/plain", sha256="0" * 64,
               blob_id=ObjectId(), revision=1, **fields)


def names(rows) -> list[str]:
    return [row["name"] for row in rows]


# -- listings ------------------------------------------------------------------------------------

def test_children_come_folders_first_sorted_and_paged_with_their_total(repos):
    base = utcnow()
    folder = add(repos, FOLDER, "Zeta")
    add(repos, FOLDER, "alpha")
    for i, name in enumerate(["b.txt", "A.txt", "c.txt"]):
        a_file(repos, name, size=10 - i, when=base + timedelta(seconds=i))
    a_file(repos, "inside.txt", parent=folder["_id"])
    a_file(repos, "theirs.txt", owner=OTHER)

    rows, total = repos.items.children(OWNER, None)
    assert names(rows) == ["alpha", "Zeta", "A.txt", "b.txt", "c.txt"] and total == 5
    rows, total = repos.items.children(OWNER, None, "size", True, page=1, limit=2)
    # Folders first (size 0 ties, broken by id in the same direction: newest first), then by size.
    assert names(rows) == ["alpha", "Zeta"] and total == 5
    rows, _ = repos.items.children(OWNER, None, "size", True, page=2, limit=2)
    assert names(rows) == ["b.txt", "A.txt"]
    rows, _ = repos.items.children(OWNER, None, "created_at", False, page=3, limit=2)
    assert names(rows) == ["c.txt"]
    assert names(repos.items.children(OWNER, folder["_id"])[0]) == ["inside.txt"]
    assert names(repos.items.children(OWNER, None, name_key=name_key("a.TXT"))[0]) == ["A.txt"]


def test_all_files_starred_and_folders(repos):
    folder = add(repos, FOLDER, "Docs")
    a_file(repos, "x.txt", parent=folder["_id"], starred=True)
    a_file(repos, "y.txt")
    add(repos, FOLDER, "Starred folder", starred=True)
    a_file(repos, "trashed.txt", trashed_at=utcnow(), trash_root=True)
    rows, total = repos.items.all_files(OWNER, "name", False, 1, 50)
    assert names(rows) == ["x.txt", "y.txt"] and total == 2
    assert names(repos.items.starred(OWNER, 1, 50)[0]) == ["Starred folder", "x.txt"]
    assert names(repos.items.live_folders(OWNER)) == ["Docs", "Starred folder"]
    assert repos.items.file_names(OWNER, folder["_id"], 10) == ["x.txt"]
    assert repos.items.live_counts(OWNER) == (2, 2)


def test_search_is_a_literal_case_insensitive_substring(repos):
    for name in ["Report (final).pdf", "report.txt", "STRASSE.txt", "notes.md", "a+b.txt"]:
        a_file(repos, name)
    add(repos, FOLDER, "Reports")
    a_file(repos, "report-old.txt", trashed_at=utcnow(), trash_root=True)

    def found(text, **filters):
        rows, total = repos.items.search(OWNER, name_key(text) if text else None, filters.get("kind"),
                                         filters.get("content_type"), filters.get("min_size"),
                                         filters.get("max_size"), None, None, 1, 50)
        assert total == len(rows)
        return names(rows)
    assert found("REPORT") == ["Reports", "Report (final).pdf", "report.txt"]
    assert found("(final)") == ["Report (final).pdf"]  # not a regular expression
    assert found("a+b") == ["a+b.txt"]
    assert found("straße") == ["STRASSE.txt"]  # case folding, not lower-casing
    assert found("report", kind=FOLDER) == ["Reports"]
    assert found("", min_size=1) == sorted(found("", kind=FILE), key=str.casefold)


def test_search_below_some_folders_only(repos):
    box = add(repos, FOLDER, "Box")
    inner = add(repos, FOLDER, "Inner", parent=box["_id"])
    a_file(repos, "note in box.txt", parent=box["_id"])
    a_file(repos, "note inner.txt", parent=inner["_id"])
    a_file(repos, "note top.txt")
    a_file(repos, "note theirs.txt", parent=box["_id"], owner=OTHER)

    def found(text, parent_ids):
        rows, total = repos.items.search(OWNER, name_key(text), None, None, None, None, None, None, 1, 50,
                                         parent_ids=parent_ids)
        assert total == len(rows)
        return names(rows)
    assert found("NOTE", [box["_id"], inner["_id"]]) == ["note in box.txt", "note inner.txt"]
    assert found("no", [inner["_id"]]) == ["note inner.txt"]  # short terms too (no trigram index)
    assert found("note", []) == []
    assert found("note", None) == ["note in box.txt", "note inner.txt", "note top.txt"]


def test_at_name_and_below(repos):
    folder = add(repos, FOLDER, "Box")
    inner = a_file(repos, "in.txt", parent=folder["_id"])
    on_its_own = a_file(repos, "own.txt", parent=folder["_id"])
    repos.items.update(OWNER, on_its_own["_id"], {"trashed_at": utcnow(), "trash_root": True,
                                                   "slot": trash_slot(on_its_own["_id"])})
    assert repos.items.at_name(OWNER, folder["_id"], name_key("IN.TXT"))["_id"] == inner["_id"]
    assert repos.items.at_name(OWNER, folder["_id"], name_key("in.txt"), kind=FOLDER) is None
    assert repos.items.at_name(OTHER, folder["_id"], name_key("in.txt")) is None
    assert names(repos.items.below(OWNER, [folder["_id"]], "live")) == ["in.txt"]
    assert sorted(names(repos.items.below(OWNER, [folder["_id"]], "with_parent"))) == ["in.txt"]


def test_the_trash_operations(repos):
    folder = add(repos, FOLDER, "Old")
    child = a_file(repos, "c.txt", parent=folder["_id"], size=7)
    now = utcnow()
    repos.items.update(OWNER, folder["_id"], {"trashed_at": now, "trash_root": True, "slot": trash_slot(folder["_id"])})
    repos.items.trash_along(OWNER, [child["_id"]], folder["_id"], now)
    assert names(repos.items.trash_roots(OWNER, 1, 10)[0]) == ["Old"]
    assert repos.items.trashed_file_totals(OWNER) == (7, 1)
    assert names(repos.items.expired_trash_roots(now + timedelta(seconds=1))) == ["Old"]
    assert repos.items.expired_trash_roots(now) == []
    assert repos.items.trash_root_if_expired(folder["_id"], now) is None
    repos.items.restore_along(OWNER, folder["_id"])
    assert repos.items.get(OWNER, child["_id"])["trashed_at"] is None


# -- commits, names, deletes -----------------------------------------------------------------

def test_names_are_unique_per_folder_ignoring_case(repos):
    a_file(repos, "Same.txt")
    with pytest.raises(NameTaken):
        a_file(repos, "same.TXT")
    a_file(repos, "same.txt", owner=OTHER)  # another user's drive


def test_a_commit_is_a_compare_and_swap_on_the_revision(repos):
    file = a_file(repos, "f.txt")
    first = repos.items.commit_content(OWNER, file["_id"], 1, {"revision": 2, "size": 5})
    assert first["revision"] == 2
    assert repos.items.commit_content(OWNER, file["_id"], 1, {"revision": 2, "size": 6}) is None
    legacy = add(repos, FILE, "old.txt", size=1, content_type="x", sha256="1" * 64, blob_id=ObjectId())
    assert repos.items.commit_content(OWNER, legacy["_id"], None, {"revision": 2})["revision"] == 2
    assert repos.items.take_first_commit(file["_id"]) is None  # a later commit owns it
    assert repos.items.take(file["_id"])["revision"] == 2
    assert repos.items.take(file["_id"]) is None


# -- blobs and usage ---------------------------------------------------------------------------

def blob(owner=OWNER, sha="1" * 64, size=100, refs=1) -> dict:
    return {"_id": ObjectId(), "owner_id": owner, "sha256": sha, "size": size, "storage_key": "k" * 32,
            "refs": refs, "created_at": utcnow()}


def test_blob_references_and_dead_records(repos):
    b = blob()
    assert repos.blobs.insert(b)
    assert not repos.blobs.insert(blob()), "one record per content per user"
    assert repos.blobs.known_contents(OWNER, ["1" * 64, "2" * 64]) == {"1" * 64}
    assert repos.blobs.acquire_existing(OWNER, "1" * 64)["refs"] == 2
    assert repos.blobs.drop_ref(b["_id"]) is None
    assert repos.blobs.drop_ref(b["_id"])["_id"] == b["_id"]  # the last one: record gone
    assert not repos.blobs.add_refs(b["_id"]), "no reference to a blob that is gone"
    dead = blob(sha="3" * 64, refs=0)
    repos.blobs.insert(dead)
    assert repos.blobs.acquire_existing(OWNER, "3" * 64) is None
    assert repos.blobs.take_dead(OWNER, "3" * 64)["_id"] == dead["_id"]


def test_usage_is_charged_within_the_quota_only(repos):
    assert repos.blobs.used_bytes(OWNER) == 0
    assert repos.blobs.charge(OWNER, 60, 100)
    assert not repos.blobs.charge(OWNER, 41, 100)
    assert repos.blobs.charge(OWNER, 40, 100)
    assert repos.blobs.charge(OWNER, 0, 100), "nothing new always fits"
    assert repos.blobs.charge(OTHER, 10**12, 0), "0: no quota"
    repos.blobs.uncharge(OWNER, 30)
    assert repos.blobs.used_bytes(OWNER) == 70
    assert repos.blobs.counted_usage() == {OWNER: 70, OTHER: 10**12}
    assert not repos.blobs.set_usage(OWNER, 69, 0), "only from the value seen"
    assert repos.blobs.set_usage(OWNER, 70, 5)
    assert repos.blobs.used_bytes(OWNER) == 5


def test_a_usage_counter_starts_from_the_blobs_already_there(repos):
    repos.blobs.insert(blob(size=123))
    repos.blobs.insert(blob(sha="2" * 64, size=7))
    assert repos.blobs.used_bytes(OWNER) == 130


# -- versions ---------------------------------------------------------------------------------

def version(file, revision, pending=None, blob_id=None, size=1) -> dict:
    return {"_id": ObjectId(), "owner_id": OWNER, "file_id": file["_id"], "blob_id": blob_id or ObjectId(),
            "size": size, "sha256": "0" * 64, "content_type": "text/plain", "revision": revision,
            "created_at": utcnow(), "pending": pending}


def test_pending_versions_are_real_only_once_their_commit_happened(repos):
    file = a_file(repos, "v.txt")
    old, pending = version(file, 1), version(file, 2, pending=True)
    repos.versions.insert(old)
    repos.versions.insert(pending)
    assert [v["revision"] for v in repos.versions.for_file(file)] == [1]
    assert repos.versions.get(file, str(pending["_id"])) is None
    committed = {**file, "last_version_id": pending["_id"]}
    assert [v["revision"] for v in repos.versions.for_file(committed)] == [2, 1]
    repos.versions.settle(pending["_id"])
    assert [v["revision"] for v in repos.versions.for_file(file)] == [2, 1]
    assert len(repos.versions.all_for_file(file["_id"])) == 2


def test_versions_are_taken_once(repos):
    file = a_file(repos, "t.txt")
    first, second = version(file, 1), version(file, 2)
    repos.versions.insert(first)
    repos.versions.insert(second)
    assert repos.versions.take(first["_id"])["_id"] == first["_id"]
    assert repos.versions.take(first["_id"]) is None
    assert repos.versions.delete(second["_id"]) and not repos.versions.delete(second["_id"])
    third = version(file, 1, blob_id=ObjectId())
    repos.versions.insert(third)
    assert not repos.versions.take_settled(file["_id"], 1, ObjectId()), "only the exact content"
    assert repos.versions.take_first(file["_id"])["_id"] == third["_id"]


def test_what_fills_a_drive_adds_up_per_owner(repos):
    """Live files, settled versions (pending ones are not versions yet) and the trash, each at
    its size, for one owner only."""
    live = a_file(repos, "live.txt", size=100)
    a_file(repos, "gone.txt", size=7, trashed_at=utcnow())
    add(repos, FOLDER, "Folder")
    a_file(repos, "other.txt", size=1000, owner="someone else")
    repos.versions.insert(version(live, 1, size=30))
    repos.versions.insert(version(live, 2, size=5, pending=True))
    assert repos.items.live_file_totals(OWNER) == (100, 1)
    assert repos.items.trashed_file_totals(OWNER) == (7, 1)
    assert repos.versions.totals(OWNER) == (30, 1)
    assert repos.versions.totals("nobody") == (0, 0) and repos.items.live_file_totals("nobody") == (0, 0)


# -- what WebDAV needs of the drive's repositories ------------------------------------------------

def test_live_children_lists_a_whole_folder_folders_first_by_name(repos):
    top = add(repos, FOLDER, "Top")
    for name in ("b.txt", "A.txt", "c.txt"):
        a_file(repos, name, top["_id"])
    add(repos, FOLDER, "zeta", top["_id"])
    gone = a_file(repos, "gone.txt", top["_id"])
    repos.items.update(OWNER, gone["_id"], {"trashed_at": utcnow(), "trash_root": True, "slot": trash_slot(gone["_id"])})
    a_file(repos, "other owner.txt", top["_id"], owner=OTHER)
    assert names(repos.items.live_children(OWNER, top["_id"])) == ["zeta", "A.txt", "b.txt", "c.txt"]
    assert names(repos.items.live_children(OWNER, None)) == ["Top"]


def test_dead_properties_are_set_one_at_a_time_and_travel_with_the_item(repos):
    item = a_file(repos, "p.txt")
    assert repos.items.set_dead_property(OWNER, item["_id"], "6161", "<a>1</a>")
    assert repos.items.set_dead_property(OWNER, item["_id"], "6262", "<b>2</b>")
    assert repos.items.set_dead_property(OWNER, item["_id"], "6161", "<a>3</a>")
    assert repos.items.get(OWNER, item["_id"])["dav_props"] == {"6161": "<a>3</a>", "6262": "<b>2</b>"}
    assert repos.items.set_dead_property(OWNER, item["_id"], "6161", None)
    assert repos.items.get(OWNER, item["_id"])["dav_props"] == {"6262": "<b>2</b>"}
    assert not repos.items.set_dead_property(OTHER, item["_id"], "6363", "<c/>")  # not theirs
    assert names(repos.items.live_children(OWNER, None)) == ["p.txt"]
    assert repos.items.live_children(OWNER, None)[0]["dav_props"] == {"6262": "<b>2</b>"}


def test_blob_md5s_are_kept_found_in_one_call_and_filled_once(repos):
    first = {"_id": ObjectId(), "owner_id": OWNER, "sha256": "1" * 64, "md5": "m1", "size": 1, "storage_key": "k1",
             "refs": 1, "created_at": utcnow()}
    older = {"_id": ObjectId(), "owner_id": OWNER, "sha256": "2" * 64, "size": 2, "storage_key": "k2", "refs": 1,
             "created_at": utcnow()}
    theirs = {**older, "_id": ObjectId(), "owner_id": OTHER, "storage_key": "k3"}
    for blob in (first, older, theirs):
        assert repos.blobs.insert(blob)
    assert repos.blobs.md5s(OWNER, [first["_id"], older["_id"], theirs["_id"]]) == {first["_id"]: "m1"}
    assert {b["_id"] for b in repos.blobs.without_md5(None, 10)} == {older["_id"], theirs["_id"]}
    repos.blobs.set_md5(older["_id"], "m2")
    repos.blobs.set_md5(older["_id"], "not this")  # an MD5 is never changed once there
    repos.blobs.set_md5(first["_id"], "nor this")
    assert repos.blobs.md5s(OWNER, [first["_id"], older["_id"]]) == {first["_id"]: "m1", older["_id"]: "m2"}
    assert [b["_id"] for b in repos.blobs.without_md5(None, 10)] == [theirs["_id"]]
    assert repos.blobs.without_md5(theirs["_id"], 10) == []

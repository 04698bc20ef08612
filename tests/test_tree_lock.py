"""The per-user tree lock (app/drive/tree.py): a document with a lease in the database, so it
holds across workers. Its repository operations run on mongomock, on the embedded store and
on a real MongoDB wire server (tests/mongo_wire.py); the live races are in
tests/test_concurrency_tree.py."""
from __future__ import annotations

import threading
import time

import pytest

from app.drive import tree as tree_module
from app.drive.repo import ItemsRepository
from app.drive.sqlite_repo import SQLiteItemsRepository
from app.drive.tree import Tree
from app.errors import AppError
from app.db import get_db
from tests.conftest import AuthActions
from tests.mongo_wire import make_wire_app  # noqa: F401  (a fixture)
from tests.test_embedded_default import make_embedded_app  # noqa: F401  (a fixture)


@pytest.fixture(params=["mongomock", "embedded", "wire"])
def any_app(request):
    """The mongomock app of the unit tests, the embedded store's, then one on the wire server."""
    if request.param == "mongomock":
        return request.getfixturevalue("app")
    return request.getfixturevalue(f"make_{request.param}_app")()


@pytest.fixture
def items(any_app) -> ItemsRepository:
    with any_app.app_context():
        db = get_db()
        yield (SQLiteItemsRepository if db.kind == "sqlite" else ItemsRepository)(db)


def test_one_holder_at_a_time_until_it_releases(items):
    now = time.time()
    assert items.take_tree_lock("u1", "first", now + 30, now)
    assert not items.take_tree_lock("u1", "second", now + 30, now)
    assert items.take_tree_lock("u2", "second", now + 30, now), "another user's lock is another lock"
    items.release_tree_lock("u1", "second")  # not the holder: nothing happens
    assert not items.take_tree_lock("u1", "second", now + 30, now)
    items.release_tree_lock("u1", "first")
    assert items.take_tree_lock("u1", "second", now + 30, now)


def test_a_lease_that_ran_out_is_taken_over_and_the_old_holder_cannot_renew(items):
    now = time.time()
    assert items.take_tree_lock("u1", "dead", now + 1, now)
    assert items.extend_tree_lock("u1", "dead", now + 2)
    assert items.take_tree_lock("u1", "next", now + 30, now + 3)
    assert not items.extend_tree_lock("u1", "dead", now + 40)
    items.release_tree_lock("u1", "dead")
    assert not items.take_tree_lock("u1", "third", now + 30, now + 4), "the old holder's release freed nothing"


def test_a_waiting_change_goes_ahead_when_the_holder_finishes(items):
    tree = Tree(items)
    order = []
    inside = threading.Event()

    def hold():
        with tree.locked("u1"):
            inside.set()
            time.sleep(0.2)
            order.append("first")

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(5)
    with tree.locked("u1"):
        with tree.locked("u1"):  # re-entrant in one thread
            order.append("second")
    holder.join()
    assert order == ["first", "second"]


def test_a_change_that_waits_too_long_answers_try_again(items, monkeypatch):
    monkeypatch.setattr(tree_module, "LOCK_WAIT_S", 0.1)
    now = time.time()
    assert items.take_tree_lock("u1", "someone else", now + 30, now)
    with pytest.raises(AppError) as caught:
        with Tree(items).locked("u1"):
            pass
    assert (caught.value.status, caught.value.code) == (503, "try_again")


def test_a_holder_that_lost_its_lease_stops(items, monkeypatch):
    monkeypatch.setattr(tree_module, "LOCK_LEASE_S", 0.3)
    tree = Tree(items)
    with pytest.raises(AppError) as caught:
        with tree.locked("u1"):
            time.sleep(0.4)
            assert items.take_tree_lock("u1", "another worker", time.time() + 30, time.time())
            tree.keep_lock("u1")
    assert caught.value.code == "try_again"


def test_crossed_moves_on_threads_leave_no_cycle(any_app):
    """Many pairs of folders moved into each other at once, in one process."""
    client = any_app.test_client()
    AuthActions(client).signup()
    ids = [client.post("/api/folders", json={"name": f"f{i}"}).get_json()["id"] for i in range(16)]
    pairs = [(ids[i], ids[i + 1]) for i in range(0, 16, 2)]
    barrier = threading.Barrier(16)
    statuses = []

    def move(folder, into):
        other = any_app.test_client()
        other.set_cookie("session", client.get_cookie("session").value)
        barrier.wait()
        statuses.append(other.patch(f"/api/folders/{folder}", json={"parent_id": into}).status_code)

    threads = [threading.Thread(target=move, args=pair) for a, b in pairs for pair in ((a, b), (b, a))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 8 + [409] * 8
    tree = client.get("/api/folders/tree").get_json()["children"]
    assert len(tree) == 8 and all(len(node["children"]) == 1 for node in tree)

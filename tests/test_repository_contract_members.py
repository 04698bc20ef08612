"""The grants repository (app/members/repo.py and sqlite_repo.py): one contract on mongomock
and SQLite."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from bson import ObjectId

from app.members.repo import GrantsRepository
from app.members.sqlite_repo import SQLiteGrantsRepository
from tests.repository_backends import BACKENDS, indexed, on_backend

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


@pytest.fixture(params=BACKENDS)
def grants(request, tmp_path):
    yield from on_backend(request, tmp_path, GrantsRepository, indexed(SQLiteGrantsRepository))


def grant(item_id, grantee, owner="alice", role="viewer", minutes=0, **fields):
    when = T0 + timedelta(minutes=minutes)
    return {"_id": ObjectId(), "owner_id": owner, "item_id": item_id, "item_type": "folder", "grantee_id": grantee,
            "role": role, "can_reshare": False, "granted_by": owner, "created_at": when, "updated_at": when, **fields}


def test_one_grant_per_item_and_grantee(grants):
    item = ObjectId()
    assert grants.insert(grant(item, "bob"))
    assert not grants.insert(grant(item, "bob", role="editor"))  # the unique index decides
    assert grants.insert(grant(item, "carol"))
    found = grants.get(item, "bob")
    assert found["role"] == "viewer" and found["can_reshare"] is False and found["created_at"] == T0
    assert grants.get(item, "dave") is None
    assert [g["grantee_id"] for g in grants.for_item(item)] == ["bob", "carol"]


def test_update_and_delete(grants):
    item = ObjectId()
    grants.insert(grant(item, "bob"))
    changed = grants.update(item, "bob", {"role": "editor", "can_reshare": True, "updated_at": T0})
    assert changed["role"] == "editor" and changed["can_reshare"] is True
    assert grants.update(item, "carol", {"role": "editor"}) is None
    with pytest.raises(AssertionError):
        grants.update(item, "bob", {"owner_id": "mallory"})  # only role and flag change
    assert grants.delete(item, "bob") and not grants.delete(item, "bob")


def test_covering_finds_the_grantees_grants_on_a_chain_of_the_owners_items(grants):
    top, middle, leaf, elsewhere = ObjectId(), ObjectId(), ObjectId(), ObjectId()
    grants.insert(grant(top, "bob"))
    grants.insert(grant(middle, "bob", role="editor"))
    grants.insert(grant(leaf, "carol"))
    grants.insert(grant(elsewhere, "bob", owner="dave"))
    found = grants.covering("bob", "alice", [leaf, middle, top])
    assert sorted((str(g["item_id"]), g["role"]) for g in found) == sorted([(str(top), "viewer"),
                                                                            (str(middle), "editor")])
    assert grants.covering("bob", "dave", [top, middle]) == []
    assert grants.covering("carol", "alice", []) == []


def test_received_is_newest_first_and_paged(grants):
    for n in range(5):
        grants.insert(grant(ObjectId(), "bob", minutes=n))
    grants.insert(grant(ObjectId(), "carol"))
    page, total = grants.received("bob", 1, 2)
    assert total == 5 and [g["created_at"] for g in page] == [T0 + timedelta(minutes=4), T0 + timedelta(minutes=3)]
    page, _ = grants.received("bob", 3, 2)
    assert [g["created_at"] for g in page] == [T0]


def test_grants_end_with_their_items_and_their_users(grants):
    a, b, c = ObjectId(), ObjectId(), ObjectId()
    grants.insert(grant(a, "bob"))
    grants.insert(grant(b, "bob"))
    grants.insert(grant(c, "alice", owner="bob"))
    grants.insert(grant(c, "carol", owner="bob"))
    assert grants.delete_for_items([a]) == 1 and grants.delete_for_items([]) == 0
    assert grants.delete_for_user("bob") == 3  # given and received
    assert grants.everything() == []

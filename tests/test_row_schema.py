"""RowSchema (app/contract.py) dumps a listing's rows without Marshmallow's per-field accessor
chain: its output must be exactly Marshmallow's, for every shape of row the API shows."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from bson import ObjectId
from marshmallow import Schema, fields, post_dump

from app.contract import RowSchema
from app.drive.schemas import ItemSchema

NOW = datetime(2026, 12, 6, 20, 30, 1, 123456, tzinfo=timezone.utc)


def marshmallow_dump(schema: Schema, rows, many: bool):
    """What Marshmallow itself makes of ``rows`` with this schema (its own per-row loop)."""
    original = type(schema)._serialize
    try:
        type(schema)._serialize = lambda self, obj, many=False: Schema._serialize(self, obj, many=many)
        return schema.dump(rows, many=many)
    finally:
        type(schema)._serialize = original


def folder(**extra) -> dict:
    return {"_id": ObjectId(), "owner_id": "u", "type": "folder", "name": "Photos", "name_key": "photos",
            "parent_id": None, "created_at": NOW, "updated_at": NOW, "starred": False, "trashed_at": None,
            "trash_root": False, **extra}


def file(**extra) -> dict:
    return folder(**{"type": "file", "name": "a.txt", "name_key": "a.txt", "parent_id": ObjectId(), "size": 12,
                     "content_type": "text/plain", "sha256": "ab" * 32, "blob_id": ObjectId(), "revision": 3,
                     "modified_at": NOW, **extra})


ROWS = [
    folder(),
    folder(starred=True, parent_id=ObjectId()),
    file(),
    file(revision=None, modified_at=None),  # a file older than revisions and modification times
    file(trashed_at=NOW, trash_root=True, trashed_by="bob"),
    file(trashed_at=NOW, trash_root=True),
    folder(trashed_at=NOW, trashed_by=None),
    file(path="/Documents/Reports"),  # a search result
    {k: v for k, v in file().items() if k not in ("starred", "size")},  # keys missing: dump_default, or left out
    file(size=0, name="", content_type=None),
]


@pytest.mark.parametrize("many", [True, False])
def test_item_rows_dump_exactly_as_marshmallow_does(app, many):
    with app.test_request_context():
        schema = ItemSchema()
        rows = ROWS if many else ROWS[2]
        ours = schema.dump(rows, many=many)
        theirs = marshmallow_dump(ItemSchema(), rows, many)
    assert ours == theirs
    if many:
        assert [list(row) for row in ours] == [list(row) for row in theirs]  # the same key order too


def test_only_exclude_data_keys_defaults_and_hooks_behave_as_in_marshmallow():
    class Row(RowSchema):
        ident = fields.String(attribute="_id", data_key="id")
        count = fields.Integer(dump_default=7)
        label = fields.Function(lambda row: row["name"].upper())
        gone = fields.String()
        secret = fields.String(load_only=True)

        @post_dump
        def _mark(self, data, **kwargs):
            data["marked"] = True
            return data
    rows = [{"_id": 1, "name": "x", "secret": "s"}, {"_id": 2, "name": "y", "count": "3", "gone": None}]
    for schema in (Row(), Row(only=("ident", "label")), Row(exclude=("count",))):
        assert schema.dump(rows, many=True) == marshmallow_dump(schema, rows, True)
    assert Row().dump(rows[0]) == {"id": "1", "count": 7, "label": "X", "marked": True}


def test_rows_that_are_not_plain_dicts_take_marshmallow_s_own_path():
    class Obj:
        _id, name = "o1", "n"

    class Row(RowSchema):
        ident = fields.String(attribute="_id")
        name = fields.String()
        keys = fields.String()  # a name a dict answers as an attribute: only utils.get_value knows
    assert Row().dump(Obj()) == {"ident": "o1", "name": "n"}
    row = {"_id": 1, "name": "x"}
    assert Row().dump(row) == marshmallow_dump(Row(), row, False)  # (Marshmallow dumps dict.keys here)

"""The audit routes' contract."""
from __future__ import annotations

from marshmallow import fields

from ..contract import ApiSchema, Id, Timestamp, text
from ..schemas import PageQuery, page_of


class EventSchema(ApiSchema):
    id = Id(attribute="_id", required=True)
    at = Timestamp(required=True)
    action = fields.String(required=True, metadata={"example": "link_downloaded"})
    actor_id = fields.String(allow_none=True, dump_default=None,
                             metadata={"description": "who did it (a user's id); null: someone with a link, or nobody "
                                                      "logged in (a failed login)"})
    target_id = fields.String(allow_none=True, dump_default=None, metadata={"description": "the file, item, token... "})
    share_id = fields.String(allow_none=True, dump_default=None)
    address = fields.String(allow_none=True, dump_default=None)
    details = fields.Dict(dump_default=dict)


EventPageSchema = page_of(EventSchema, "events", "EventPage")


class ActivityQuery(PageQuery):
    action = text(load_default=None, metadata={"description": "only this action"})


class EventQuery(ActivityQuery):
    actor_id = text(load_default=None, metadata={"description": "only what this user did"})
    since = text(load_default=None, metadata={"description": "ISO 8601: only events at or after this"})

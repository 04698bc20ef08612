"""The health check's contract."""
from __future__ import annotations

from marshmallow import fields

from ..contract import ApiSchema


class DatabaseHealthSchema(ApiSchema):
    kind = fields.String(metadata={"enum": ["mongodb", "sqlite", "mongomock"]})
    reachable = fields.Boolean()


class StatusSchema(ApiSchema):
    status = fields.String(required=True, metadata={"enum": ["ok", "degraded"]})
    version = fields.String(required=True)
    uptime_s = fields.Float(required=True)
    database = fields.Nested(DatabaseHealthSchema, required=True)

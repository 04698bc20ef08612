"""The seed's API-key routes' contract (their shapes are the seed's)."""
from __future__ import annotations

from marshmallow import fields

from ..contract import ApiSchema, Id
from ..drive.versions import revision_of


class CompatUploadedSchema(ApiSchema):
    filename = fields.String(attribute="name", required=True)
    id = Id(attribute="_id", required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    revision = fields.Function(revision_of, metadata={
        "type": "integer", "description": "the file's commit number: 1 for its first content, +1 for each replace"})


class CompatDeletedSchema(ApiSchema):
    status = fields.Constant("deleted", required=True, metadata={"type": "string", "enum": ["deleted"]})
    file = fields.String(attribute="name", required=True)


class CompatStatusSchema(ApiSchema):
    status = fields.Constant("ok", required=True, metadata={"type": "string"})
    uptime = fields.Float(required=True)

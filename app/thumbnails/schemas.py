"""The thumbnail route's query."""
from __future__ import annotations

from marshmallow import fields, validate

from ..contract import QuerySchema
from .service import DEFAULT_SIZE, SIZES


class ThumbnailQuery(QuerySchema):
    size = fields.Integer(strict=False, load_default=DEFAULT_SIZE, validate=validate.OneOf(
        SIZES, error=f"'size' must be one of: {', '.join(map(str, SIZES))}."),
        error_messages={"invalid": "'size' must be an integer."},
        metadata={"description": "the largest side in pixels: 64 or 128 for lists, 256 or 512 for grids"})

"""Schemas every feature shares: the error body, paging, sorting."""
from __future__ import annotations

from typing import Callable

from flask import current_app
from marshmallow import ValidationError, fields, validate

from .contract import ApiSchema, QuerySchema

PAGE_MAX = 1_000_000


class ErrorDetail(ApiSchema):
    code = fields.String(required=True, metadata={"description": "stable, for programs"})
    message = fields.String(required=True)


class ErrorSchema(ApiSchema):
    """Every error: ``{"error": {"code", "message"}}``."""

    error = fields.Nested(ErrorDetail, required=True)


def _bounded(name: str, minimum: int, maximum) -> Callable:
    """A range check whose maximum may come from the configuration (a callable)."""
    def check(value: int) -> None:
        top = maximum() if callable(maximum) else maximum
        if not minimum <= value <= top:
            raise ValidationError(f"'{name}' must be between {minimum} and {top}.")
    return check


def query_int(name: str, minimum: int, maximum, metadata: dict | None = None, **kwargs) -> fields.Integer:
    """An integer query parameter with the API's messages; ``maximum`` may be a callable of
    the configuration, and the document shows it as the running app has it."""
    return fields.Integer(strict=False, validate=_bounded(name, minimum, maximum),
                          error_messages={"invalid": f"'{name}' must be an integer."},
                          metadata={"range": (minimum, maximum), **(metadata or {})}, **kwargs)


def query_choice(name: str, choices, **kwargs) -> fields.String:
    choices = tuple(choices)
    return fields.String(validate=validate.OneOf(choices, error=f"'{name}' must be one of: {', '.join(choices)}."),
                         **kwargs)


def _page_size_default() -> int:
    return current_app.config["PAGE_SIZE_DEFAULT"]


def _page_size_max() -> int:
    return current_app.config["PAGE_SIZE_MAX"]


class PageQuery(QuerySchema):
    """``limit`` (1 to PAGE_SIZE_MAX, default PAGE_SIZE_DEFAULT) and ``page`` (from 1)."""

    limit = query_int("limit", 1, _page_size_max, load_default=_page_size_default,
                      metadata={"default_of": _page_size_default})
    page = query_int("page", 1, PAGE_MAX, load_default=1)


def sorted_page_query(sort_fields, default_sort: str, default_order: str, schema_name: str,
                      **more_fields: fields.Field) -> type[PageQuery]:
    """A page query with ``sort`` (one of ``sort_fields``) and ``order``, with these defaults."""
    return PageQuery.from_dict({
        "sort": query_choice("sort", sort_fields, load_default=default_sort),
        "order": query_choice("order", ("asc", "desc"), load_default=default_order),
        **more_fields,
    }, name=schema_name)


def paged(rows: list, total: int, query: dict, **extra) -> dict:
    """What a page schema (see ``page_of``) serializes."""
    return {"items": rows, "total": total, "page": query["page"], "limit": query["limit"], **extra}


def page_of(item_schema, key: str, name: str, **more_fields) -> type[ApiSchema]:
    """``{<key>: [...], page, limit, total, pages}`` of ``item_schema`` rows."""
    return ApiSchema.from_dict({
        key: fields.List(fields.Nested(item_schema), required=True, attribute="items"),
        "page": fields.Integer(required=True), "limit": fields.Integer(required=True),
        "total": fields.Integer(required=True),
        "pages": fields.Function(lambda page: (page["total"] + page["limit"] - 1) // page["limit"], required=True,
                                 metadata={"type": "integer"}),
        **more_fields,
    }, name=name)

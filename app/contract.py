"""The API contract, written once: marshmallow schemas validate a route's input and serialize
its output, and the same schemas (with the decorators' notes) make the OpenAPI document
(app/api_docs.py).

A route reads like microblog-api's::

    @bp.post("/folders")
    @authenticated
    @arguments(FolderCreate)
    @response(ItemSchema, 201, errors=(NOT_FOUND, CONFLICT))
    def create_folder(body):
        \"\"\"Create a folder.\"\"\"
        return services().drive.create_folder(current_user.id, **body)

The docstring's first line is the operation's summary, the rest its description. Invalid
input is a 400 with the shape and codes of every other error: a field's ``error_code``
metadata names its code, else ``invalid_input`` for bodies and ``invalid_query`` for query
strings; the message is the field's own.
"""
from __future__ import annotations

import functools
import inspect
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Response, current_app, jsonify, request
from flask_login import login_required
from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing, pre_load

from .errors import BAD_REQUEST, FORBIDDEN, UNAUTHORIZED, ErrorCode, ErrorResponse, InvalidInput
from .security import session_required
from .timeutil import isoformat

# Who may call a route, as the document's ``security``.
USER_SECURITY = [{"cookieAuth": []}, {"bearerAuth": []}]
SESSION_SECURITY = [{"cookieAuth": []}]
NO_SECURITY: list = []


@dataclass
class Operation:
    """What the document says about one route, gathered by the decorators."""

    tags: list[str] = field(default_factory=list)
    security: list | None = None
    arguments: list[tuple[type[Schema], str]] = field(default_factory=list)
    responses: dict[int, dict] = field(default_factory=dict)
    errors: list[ErrorResponse] = field(default_factory=list)
    path_ids: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def operation_of(view: Callable) -> Operation | None:
    return getattr(view, "__api_operation__", None)


def _operation(view: Callable) -> Operation:
    """The view's notes; functools.wraps copies the attribute to every wrapper above it."""
    if "__api_operation__" not in view.__dict__:
        view.__api_operation__ = Operation()
    return view.__api_operation__


# -- fields ------------------------------------------------------------------------------------

class Timestamp(fields.DateTime):
    """ISO 8601 in UTC (``...Z``) out; in, an ISO 8601 date or time, naive meaning UTC."""

    default_error_messages = {"invalid": "'{name}' must be an ISO 8601 date or time."}

    def _serialize(self, value, attr, obj, **kwargs):
        return isoformat(value) if value else None

    def _deserialize(self, value, attr, data, **kwargs):
        from .http import parse_datetime
        try:
            return parse_datetime(value, self.name)
        except InvalidInput:
            raise self.make_error("invalid", name=self.name) from None


class Id(fields.String):
    """A database id shown as a string."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class QueryBool(fields.Boolean):
    """``true``/``false``/``1``/``0`` in a query string, in any letter case."""

    default_error_messages = {"invalid": "'{name}' must be true or false."}

    def __init__(self, **kwargs):
        super().__init__(truthy={"true", "1"}, falsy={"false", "0"}, load_default=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = value.lower() if isinstance(value, str) else value
        if value in self.truthy or value in self.falsy:
            return value in self.truthy
        raise self.make_error("invalid", name=self.name)


class StrictBool(fields.Boolean):
    """true or false in JSON, nothing else ("0", 1 and "yes" are wrong types); in an HTML form,
    where every value is text, "true"/"false" (and "on" for a checkbox)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and not request.is_json and value.lower() in ("true", "false", "on"):
            return value.lower() != "false"
        raise self.make_error("invalid")


def text(**kwargs) -> fields.String:
    """A string field whose wrong type says so by name, as the rest of the API does."""
    return fields.String(error_messages={"invalid": "'{{name}}' must be a string."}, **kwargs)


class ApiSchema(Schema):
    """Unknown fields are ignored, as they always were; error messages may name their field."""

    class Meta:
        unknown = EXCLUDE


class RowSchema(ApiSchema):
    """A schema of flat fields dumped once per row of a listing or search (50 to 200 a
    response). Each row's fields go straight to their own ``_serialize`` with the value read
    from the row's dict: what Marshmallow's ``Field.serialize`` does, without its accessor
    chain per field (``Schema.get_attribute``, ``utils.get_value``), which was most of a
    listing's CPU: ~95 µs a row of 15 fields, a 50-row page 4.7 ms against 2.1 ms for 10 rows
    (issue 10's "≤ 3× a 10-file folder"). Hooks, ``only``/``exclude`` and ``dump_default``
    behave as in Marshmallow; anything that is not a plain dict row takes Marshmallow's own
    path. ``tests/test_row_schema.py`` compares the two outputs."""

    def _serialize(self, obj, *, many: bool = False):
        if many and obj is not None:
            return [self._serialize(row) for row in obj]
        plan = self.__dict__.get("_row_plan")
        if plan is None:
            plan = self.__dict__["_row_plan"] = self._plan()
        if not plan or type(obj) is not dict:
            return super()._serialize(obj, many=False)
        out = self.dict_class()
        for key, name, lookup, field in plan:
            if lookup is None:  # a field computed from the whole row (Function, Method, Constant)
                value = None
            else:
                value = obj.get(lookup, missing)
                if value is missing:
                    default = field.dump_default
                    value = default() if callable(default) else default
                    if value is missing:
                        continue
            value = field._serialize(value, name, obj)
            if value is not missing:  # (as Marshmallow: a field may leave itself out)
                out[key] = value
        return out

    def _plan(self) -> list | None:
        """(output key, field name, key read from the row or None, field) per dumped field;
        None (Marshmallow's own path) where a field reads a dotted path or a name a dict
        answers as an attribute (``items``, ``keys``...), which only ``utils.get_value`` does."""
        if type(self).get_attribute is not Schema.get_attribute:
            return None
        plan = []
        for name, field in self.dump_fields.items():
            lookup = (field.attribute or name) if field._CHECK_ATTRIBUTE else None
            if lookup is not None and ("." in lookup or hasattr(dict, lookup)):
                return None
            plan.append((field.data_key if field.data_key is not None else name, name, lookup, field))
        return plan


class QuerySchema(ApiSchema):
    """A query string: an empty value means the default (``?sort=``), except for booleans."""

    @pre_load
    def _drop_empty(self, data, **kwargs):
        return {k: v for k, v in data.items()
                if v != "" or isinstance(self.fields.get(k), fields.Boolean)}


# -- input -------------------------------------------------------------------------------------

def json_body(optional: bool = False) -> dict:
    """The request body as a JSON object, or a 400 that says what is wrong.
    With ``optional``, an empty body is an empty object."""
    if optional and not request.content_length and not request.data:
        return {}
    if not request.is_json:
        raise InvalidInput("Send a JSON body with Content-Type: application/json.",
                           code=ErrorCode.INVALID_CONTENT_TYPE)
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidInput("The request body is not valid JSON.", code=ErrorCode.MALFORMED_JSON)
    if not isinstance(data, dict):
        raise InvalidInput("The JSON body must be an object.", code=ErrorCode.MALFORMED_JSON)
    try:  # JSON may escape a lone surrogate ("\ud800"), which no database or header can encode
        json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("The JSON body has text that is not valid Unicode.",
                           code=ErrorCode.MALFORMED_JSON) from None
    except ValueError:  # NaN and Infinity are not JSON (RFC 8259), though Python's parser takes them
        raise InvalidInput("The request body is not valid JSON (NaN and Infinity are not numbers in JSON).",
                           code=ErrorCode.MALFORMED_JSON) from None
    return data


def json_or_form(schema: Schema | None = None) -> dict:
    """A JSON object, or the fields of an HTML form (for browsers and ``curl -d``): a field the
    schema reads as a list is every value of that (repeated) form field, the others the first."""
    if request.is_json:
        return json_body()
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        lists = {f.data_key or n for n, f in schema.fields.items() if isinstance(f, fields.List)} if schema else set()
        return {key: request.form.getlist(key) if key in lists else value for key, value in request.form.items()}
    raise InvalidInput("Send JSON or form fields.", code=ErrorCode.INVALID_CONTENT_TYPE)


# Where @arguments reads from: a loader (given the schema), the document's location, and the
# default error code.
_LOCATIONS = {
    "json": (lambda schema: json_body(), "json", ErrorCode.INVALID_INPUT),
    "optional_json": (lambda schema: json_body(optional=True), "json", ErrorCode.INVALID_INPUT),
    "json_or_form": (json_or_form, "json_or_form", ErrorCode.INVALID_INPUT),
    "query": (lambda schema: request.args.to_dict(), "query", ErrorCode.INVALID_QUERY),
}


def _first_error(schema: Schema, error: ValidationError, default: ErrorCode) -> InvalidInput:
    """The error of the first invalid field (in the schema's order), as the API's 400."""
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    order = [f.data_key or name for name, f in schema.fields.items()]
    name = min(messages, key=lambda n: order.index(n) if n in order else len(order))
    message = messages[name]
    while isinstance(message, (list, dict)):
        message = next(iter(message.values())) if isinstance(message, dict) else message[0]
    field_ = next((f for n, f in schema.fields.items() if (f.data_key or n) == name), None)
    code = field_.metadata.get("error_code", default) if field_ is not None else default
    return InvalidInput(str(message).replace("{name}", name), code=code)


def load(schema: Schema, data: dict, default_code: ErrorCode = ErrorCode.INVALID_INPUT) -> dict:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise _first_error(schema, error, default_code) from None


def arguments(schema: type[Schema], location: str = "json"):
    """Validate the request's ``location`` with ``schema``; the view gets the loaded dict as
    its next positional argument (after those of @arguments below this one)."""
    loader, documented, code = _LOCATIONS[location]
    instance = schema()

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            return view(*args, load(instance, loader(instance), code), **kwargs)
        operation = _operation(wrapper)
        operation.arguments.insert(0, (schema, documented))
        if BAD_REQUEST not in operation.errors:
            operation.errors.append(BAD_REQUEST)
        return wrapper
    return decorator


# -- output ------------------------------------------------------------------------------------

def response(schema: type[Schema] | None, status: int = 200, description: str | None = None,
             errors: tuple[ErrorResponse, ...] = (), one_of: tuple[type[Schema], ...] = ()):
    """Serialize what the view returns with ``schema`` (``None``: an empty ``status`` answer).
    A view may also return ``(object, status)``, or a finished Response (downloads) that is
    sent as it is (``one_of`` documents the other shapes such a view answers with).
    ``errors`` are the documented error answers beyond those that @authenticated and
    @arguments add."""
    instance = schema() if schema is not None else None

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            result = view(*args, **kwargs)
            if isinstance(result, Response):
                return result
            code = status
            if isinstance(result, tuple):
                result, code = result
            if instance is None:
                return "", code
            return jsonify(instance.dump(result)), code
        operation = _operation(wrapper)
        operation.responses[status] = {"schema": schema, "description": description, "one_of": one_of}
        operation.errors.extend(e for e in errors if e not in operation.errors)
        return wrapper
    return decorator


def document(tags: list[str] | None = None, security: list | None = None, errors: tuple[ErrorResponse, ...] = (),
             path_ids: dict[str, str] | None = None, **extra: Any):
    """Notes for the document only: tags, security, more error answers, path id descriptions,
    or raw OpenAPI fields (``responses_raw``/``request_body_raw``) where a schema cannot say it
    (byte streams, HTML)."""
    def decorator(view):
        operation = _operation(view)
        if tags:
            operation.tags = tags
        if security is not None:
            operation.security = security
        operation.errors.extend(e for e in errors if e not in operation.errors)
        operation.path_ids.update(path_ids or {})
        operation.extra.update(extra)
        return view
    return decorator


def authenticated(view):
    """Login required (session cookie or Bearer token); documented with its 401."""
    wrapper = login_required(view)
    document(security=USER_SECURITY, errors=(UNAUTHORIZED,))(wrapper)
    return wrapper


def session_only(view):
    """Login with a password session required (token management); a token is a 403."""
    wrapper = login_required(session_required(view))
    document(security=SESSION_SECURITY, errors=(UNAUTHORIZED, FORBIDDEN))(wrapper)
    return wrapper


def docstring_parts(view: Callable) -> tuple[str, str]:
    """The summary (first paragraph) and the description (the rest) of a view's docstring."""
    doc = inspect.cleandoc(view.__doc__ or "")
    summary, _, description = doc.partition("\n\n")
    return " ".join(summary.split()), description.strip()


def page_size_max() -> int:
    return current_app.config["PAGE_SIZE_MAX"]

"""Small helpers routes share for reading input."""
from __future__ import annotations

from flask import current_app, request

from .errors import InvalidInput


def json_object() -> dict:
    """The request body as a JSON object, or a 400 that says what is wrong."""
    if not request.is_json:
        raise InvalidInput("Send a JSON body with Content-Type: application/json.", code="invalid_content_type")
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidInput("The request body is not valid JSON.", code="malformed_json")
    if not isinstance(data, dict):
        raise InvalidInput("The JSON body must be an object.", code="malformed_json")
    return data


def json_or_form() -> dict:
    """A JSON object, or the fields of an HTML form (for browsers and ``curl -d``)."""
    if request.is_json:
        return json_object()
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.to_dict()
    raise InvalidInput("Send JSON or form fields.", code="invalid_content_type")


def query_int(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"'{name}' must be an integer.", code="invalid_query") from None
    if not minimum <= value <= maximum:
        raise InvalidInput(f"'{name}' must be between {minimum} and {maximum}.", code="invalid_query")
    return value


def query_choice(name: str, default: str, choices) -> str:
    value = request.args.get(name, default)
    if value not in choices:
        raise InvalidInput(f"'{name}' must be one of: {', '.join(choices)}.", code="invalid_query")
    return value


def page_size() -> int:
    config = current_app.config
    return query_int("limit", config["PAGE_SIZE_DEFAULT"], 1, config["PAGE_SIZE_MAX"])

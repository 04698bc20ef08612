"""Display names: what people see, kept in Unicode, never used to build a path."""
from __future__ import annotations

import mimetypes
import os
import re
import unicodedata
from urllib.parse import quote

from werkzeug.utils import secure_filename

from ..errors import ErrorCode, InvalidInput

MAX_NAME_BYTES = 255
# Bidirectional controls can disguise an extension ("gpj.exe" shown as "exe.jpg").
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


def validate_display_name(raw) -> str:
    """Return the normalised name, or raise InvalidInput saying what is wrong with it."""
    if not isinstance(raw, str):
        raise InvalidInput("A name must be a string.", code=ErrorCode.INVALID_NAME)
    name = unicodedata.normalize("NFC", raw.strip())
    if not name:
        raise InvalidInput("The file name is empty.", code=ErrorCode.INVALID_NAME)
    if "/" in name or "\\" in name:
        raise InvalidInput("A name cannot contain '/' or '\\'.", code=ErrorCode.INVALID_NAME)
    if any(unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS for ch in name):
        raise InvalidInput("A name cannot contain control characters.", code=ErrorCode.INVALID_NAME)
    if set(name) <= {"."}:
        raise InvalidInput("A name cannot consist only of dots.", code=ErrorCode.INVALID_NAME)
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise InvalidInput(f"A name can be at most {MAX_NAME_BYTES} bytes of UTF-8.", code=ErrorCode.INVALID_NAME)
    return name


def ascii_fallback(name: str) -> str:
    """An ASCII name for old clients, built with secure_filename (``تقرير.pdf`` → ``download.pdf``)."""
    stem, ext = os.path.splitext(name)
    safe_stem = secure_filename(stem) or "download"
    safe_ext = secure_filename(ext)
    return f"{safe_stem}.{safe_ext}" if safe_ext else safe_stem


def content_disposition(name: str) -> str:
    return f"attachment; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


def normalise_content_type(declared: str | None, name: str) -> str:
    """The declared type when it is well formed, else a guess from the name."""
    declared = (declared or "").split(";")[0].strip().lower()
    if declared and declared != "application/octet-stream" and _CONTENT_TYPE.fullmatch(declared):
        return declared
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def name_key(name: str) -> str:
    """The form sibling names are compared in: case-insensitive, Unicode-aware."""
    return unicodedata.normalize("NFC", name).casefold()


def numbered_name(name: str, number: int, is_file: bool) -> str:
    """``report.pdf`` → ``report (1).pdf``; folders are numbered at the end."""
    stem, ext = os.path.splitext(name) if is_file else (name, "")
    return f"{stem} ({number}){ext}"

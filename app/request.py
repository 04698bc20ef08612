"""A Request whose multipart file parts stream straight into the user's storage folder.

Werkzeug normally spools parts over 500 KB to ``TMPDIR`` and we would copy them again;
instead the upload route calls :func:`stage_uploads_into` before touching
``request.files``, and every file part is written once, hashed on the way, into a
staging file that :func:`discard_uncommitted` removes at teardown unless it was committed.
"""
from __future__ import annotations

from typing import Callable

from flask import Request, g

from .errors import InvalidInput
from .storage.base import StagedBlob


class StreamingUploadRequest(Request):
    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        factory: Callable[[], StagedBlob] | None = getattr(g, "_stage_upload", None)
        if factory is None:
            raise InvalidInput("File parts are only accepted by upload endpoints.",
                               code="unexpected_file")
        staged = factory()
        g._staged_uploads.append(staged)
        return staged


def stage_uploads_into(factory: Callable[[], StagedBlob]) -> None:
    """Route every file part of the current request into blobs made by ``factory``."""
    g._stage_upload = factory
    g._staged_uploads = []


def discard_uncommitted(_exc=None) -> None:
    for staged in g.pop("_staged_uploads", []):
        staged.discard()

"""A Request whose multipart file parts stream straight into the user's storage folder.

Werkzeug normally spools parts over 500 KB to ``TMPDIR`` and we would copy them again;
instead the upload route calls :func:`stage_uploads_into` before touching
``request.files``, and every file part is written once, hashed on the way, into a
staging file that :func:`discard_uncommitted` removes at teardown unless it was committed.
"""
from __future__ import annotations

from typing import IO, Callable

from flask import Request, g
from werkzeug.formparser import FormDataParser, MultiPartParser

from .errors import ErrorCode, InvalidInput
from .storage import StagedBlob


# The body is read in blocks this large: Gunicorn's reader recv()s up to 1 MiB ahead, and
# Werkzeug's 64 KiB reads made it copy what it had read ahead again on every read (40% of the
# worker's CPU for a large upload went into that).
BODY_READ_SIZE = 1024 * 1024
# The first block is smaller, and each block that arrives full doubles the next one up to
# BODY_READ_SIZE: a fast upload reaches 1 MiB blocks within its first 2 MiB, while each of the
# hundreds of uploads a gevent worker may hold open for slow clients keeps only 64 KiB.
BODY_READ_FIRST = 64 * 1024
# Werkzeug's decoder gets the block in slices this large; its buffer may never hold more than
# MAX_FORM_MEMORY_SIZE, so a slice stays well under it (never smaller than Werkzeug's 64 KiB).
DECODER_FEED_MAX = 256 * 1024
DECODER_FEED_MIN = 64 * 1024


class _BlockReader:
    """``read(n)`` for Werkzeug's multipart parser, served from blocks of BODY_READ_SIZE read
    from the request stream into one reused buffer (no 1 MiB allocation per block).

    The pieces are views of that buffer: valid only until the next ``read``. Werkzeug's parser
    hands each one straight to ``MultipartDecoder.receive_data``, which copies it into the
    decoder's own buffer before asking for more.
    """

    def __init__(self, stream: IO[bytes]):
        self._stream = stream
        self._block = memoryview(bytearray(BODY_READ_FIRST))
        self._end = 0
        self._pos = 0

    def _fill(self) -> int:
        readinto = getattr(self._stream, "readinto", None)
        if readinto is not None:  # Werkzeug's LimitedStream, BytesIO
            return readinto(self._block) or 0
        data = self._stream.read(len(self._block))  # a server's own stream, without a limit set
        self._block[:len(data)] = data
        return len(data)

    def read(self, size: int) -> memoryview:
        if self._pos >= self._end:
            if self._end == len(self._block) < BODY_READ_SIZE:
                self._block = memoryview(bytearray(min(2 * len(self._block), BODY_READ_SIZE)))
            self._end = self._fill()
            self._pos = 0
        piece = self._block[self._pos:min(self._pos + size, self._end)]
        self._pos += len(piece)
        return piece


class UploadFormDataParser(FormDataParser):
    """Werkzeug's form parser with the same multipart decoder, limits and events, reading the
    body in 1 MiB blocks instead of 64 KiB reads."""

    def _parse_multipart(self, stream, mimetype, content_length, options):
        feed = DECODER_FEED_MAX
        if self.max_form_memory_size is not None:
            feed = max(DECODER_FEED_MIN, min(DECODER_FEED_MAX, self.max_form_memory_size // 2))
        parser = MultiPartParser(stream_factory=self.stream_factory, max_form_memory_size=self.max_form_memory_size,
                                 max_form_parts=self.max_form_parts, cls=self.cls, buffer_size=feed)
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(_BlockReader(stream), boundary, content_length)
        return stream, form, files


class StreamingUploadRequest(Request):
    form_data_parser_class = UploadFormDataParser

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        factory: Callable[[], StagedBlob] | None = getattr(g, "_stage_upload", None)
        if factory is None:
            raise InvalidInput("File parts are only accepted by upload endpoints.",
                               code=ErrorCode.UNEXPECTED_FILE)
        staged = factory()
        g._staged_uploads.append(staged)
        return staged

    def get_json(self, force=False, silent=False, cache=True):
        """As Werkzeug's, but JSON nested deeper than the parser's stack is malformed (400),
        not a RecursionError (500); Werkzeug only handles ValueError."""
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError as exc:
            if silent:
                return None
            return self.on_json_loading_failed(ValueError(str(exc)))


def stage_uploads_into(factory: Callable[[], StagedBlob]) -> None:
    """Route every file part of the current request into blobs made by ``factory``."""
    g._stage_upload = factory
    g._staged_uploads = []


def discard_uncommitted(_exc=None) -> None:
    for staged in g.pop("_staged_uploads", []):
        staged.discard()

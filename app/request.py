"""A Request whose multipart file parts stream straight into the user's storage folder.

Werkzeug normally spools parts over 500 KB to ``TMPDIR`` and we would copy them again;
instead the upload route calls :func:`stage_uploads_into` before touching
``request.files``, and every file part is written once, hashed on the way, into a
staging file that :func:`discard_uncommitted` removes at teardown unless it was committed.
"""
from __future__ import annotations

import functools
import re
import types
from typing import IO, Callable

import werkzeug.formparser
from flask import Request, g
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.sansio.multipart import LINE_BREAK, MultipartDecoder, State

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


# Werkzeug's boundary patterns (werkzeug.sansio.multipart.MultipartDecoder.__init__), with the
# boundary itself replaced by "any n bytes" (group 1 stays the part after the boundary).
_BOUNDARY_TAIL = rb"(--[^\S\n\r]*%s?|[^\S\n\r]*%s)" % (LINE_BREAK, LINE_BREAK)


@functools.lru_cache(maxsize=64)
def _boundary_pattern(length: int, preamble: bool) -> re.Pattern[bytes]:
    return re.compile(rb"%s%s--(?s:.{%d})%s" % (LINE_BREAK, b"?" if preamble else b"", length, _BOUNDARY_TAIL),
                      re.MULTILINE)


class _BoundarySearch:
    """``search(buffer, pos)`` as that of Werkzeug's regex for one boundary, from a pattern
    compiled once per boundary length: a candidate whose n bytes are not the boundary is
    skipped. The line break before the boundary can be read only one way (the "--" after it
    fixes it), so a skipped candidate is never a match of Werkzeug's pattern, and the first
    match kept is the one Werkzeug's search would return (same start, end and group 1)."""

    def __init__(self, boundary: bytes, preamble: bool):
        self._boundary = boundary
        self._pattern = _boundary_pattern(len(boundary), preamble)

    def search(self, buffer, pos: int = 0) -> re.Match[bytes] | None:
        boundary, end = self._boundary, len(self._boundary)
        match = self._pattern.search(buffer, pos)
        while match is not None and buffer[match.start(1) - end:match.start(1)] != boundary:
            match = self._pattern.search(buffer, match.start() + 1)
        return match


class _BoundaryDecoder(MultipartDecoder):
    """Werkzeug's decoder without its two ``re.compile`` calls per request: each request has
    a boundary of its own, so they always missed ``re``'s cache and cost about 0.2 ms, 4-5% of
    the worker's CPU for a 4 KiB upload (py-spy, issue 10). Same attributes as Werkzeug 3.1's
    ``__init__`` (tests/test_upload_streaming.py compares them)."""

    def __init__(self, boundary: bytes, max_form_memory_size: int | None = None, *,
                 max_parts: int | None = None) -> None:
        self.buffer = bytearray()
        self.complete = False
        self.max_form_memory_size = max_form_memory_size
        self.max_parts = max_parts
        self.state = State.PREAMBLE
        self.boundary = boundary
        self.preamble_re = _BoundarySearch(boundary, preamble=True)
        self.boundary_re = _BoundarySearch(boundary, preamble=False)
        self._search_position = 0
        self._parts_decoded = 0


class _MultiPartParser(MultiPartParser):
    # Werkzeug's own parse(), unchanged, reading MultipartDecoder from a copy of its module's
    # globals where the name is _BoundaryDecoder: no copied code, nothing patched for others.
    parse = types.FunctionType(MultiPartParser.parse.__code__,
                               {**vars(werkzeug.formparser), "MultipartDecoder": _BoundaryDecoder},
                               "parse", MultiPartParser.parse.__defaults__, MultiPartParser.parse.__closure__)


class UploadFormDataParser(FormDataParser):
    """Werkzeug's form parser with the same multipart decoder, limits and events, reading the
    body in 1 MiB blocks instead of 64 KiB reads."""

    def _parse_multipart(self, stream, mimetype, content_length, options):
        feed = DECODER_FEED_MAX
        if self.max_form_memory_size is not None:
            feed = max(DECODER_FEED_MIN, min(DECODER_FEED_MAX, self.max_form_memory_size // 2))
        parser = _MultiPartParser(stream_factory=self.stream_factory, max_form_memory_size=self.max_form_memory_size,
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

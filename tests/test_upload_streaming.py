"""The upload path's own pieces: the multipart parser that reads the body in 1 MiB blocks
(checked against Werkzeug's stock parser on awkward bodies) and the staging file's early
writeback."""
import errno
import hashlib
import io
import random

import pytest
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.sansio.multipart import Epilogue, MultipartDecoder, NeedData

from app import request as upload_request
from app.request import BODY_READ_FIRST, BODY_READ_SIZE, DECODER_FEED_MAX, StreamingUploadRequest, UploadFormDataParser
from app.storage import local
from app.storage.base import UploadBudget
from tests.conftest import upload

BOUNDARY = b"----test-boundary-7MA4YWxkTrZu0gW"
MARKER = b"\r\n--" + BOUNDARY


class Sink(io.BytesIO):
    """A file part's container that stays readable after the parser rewinds it."""


def sink_factory(**_kwargs):
    return Sink()


def body_of(parts) -> bytes:
    out = []
    for kind, name, data in parts:
        disposition = f'form-data; name="{name}"' + ('; filename="f.bin"' if kind == "file" else "")
        out.append(b"--" + BOUNDARY + f"\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n")
    out.append(b"--" + BOUNDARY + b"--\r\n")
    return b"".join(out)


def parse(parser_class, body: bytes, **limits):
    parser = parser_class(sink_factory, max_form_memory_size=limits.get("memory", 500 * 1024),
                          max_form_parts=limits.get("parts", 1000))
    _, form, files = parser.parse(io.BytesIO(body), "multipart/form-data", len(body),
                                  {"boundary": BOUNDARY.decode()})
    return ([(k, v) for k, v in form.items(multi=True)],
            [(k, f.stream.getvalue()) for k, f in files.items(multi=True)])


def awkward(size: int, rng: random.Random, tail: bytes) -> bytes:
    """``size`` bytes, mostly random, full of CR/LF and pieces of the boundary marker, ending in
    ``tail`` so the bytes right before the real boundary look like its start."""
    chunks, total = [], 0
    while total < size:
        chunks.append(rng.choice([rng.randbytes(rng.randint(1, 4000)), b"\r", b"\n", b"\r\n", b"--",
                                  MARKER[: rng.randint(1, len(MARKER) - 1)]]))
        total += len(chunks[-1])
    data = b"".join(chunks)[: max(0, size - len(tail))] + tail
    data = data[:size] if size < len(tail) else data
    # Pieces of the marker next to random bytes can make the real delimiter: a part's bytes
    # never contain it (a client picks a boundary that does not occur).
    while (at := data.find(b"--" + BOUNDARY)) >= 0:
        data = data[:at] + b"-+" + data[at + 2:]
    return data


def edge_sizes():
    """Sizes putting a part's end (and so its boundary) on and around the block and feed edges."""
    preamble = len(b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n')
    sizes = set()
    for edge in (DECODER_FEED_MAX, 2 * DECODER_FEED_MAX, BODY_READ_SIZE, 2 * BODY_READ_SIZE):
        for delta in range(-len(MARKER) - 3, len(MARKER) + 4):
            sizes.add(edge - preamble + delta)
    return sorted(sizes)


@pytest.mark.parametrize("size", edge_sizes()[::3] + [0, 1, 2])
def test_a_part_ending_at_any_block_or_feed_edge_is_parsed_as_werkzeug_does(size):
    rng = random.Random(size)
    tail = rng.choice([b"", b"\r", b"\r\n", b"\r\n-", MARKER[:-1]])
    data = awkward(size, rng, tail)
    body = body_of([("file", "file", data), ("field", "folder_id", b"root")])
    ours = parse(UploadFormDataParser, body)
    assert ours == parse(FormDataParser, body)
    assert ours[1] == [("file", data)]
    assert ours[0] == [("folder_id", "root")]


def test_many_parts_of_random_sizes_match_werkzeugs_parser():
    rng = random.Random(7)
    parts = []
    for i in range(24):
        kind = "file" if rng.random() < 0.7 else "field"
        size = rng.choice([0, 1, rng.randint(2, 5000), rng.randint(200_000, 1_300_000)])
        data = awkward(size if kind == "file" else min(size, 2000), rng, rng.choice([b"", b"\r", b"\r\n--"]))
        parts.append((kind, f"p{i}", data))
    body = body_of(parts)
    assert parse(UploadFormDataParser, body) == parse(FormDataParser, body)


def test_the_form_limits_still_apply():
    too_many = body_of([("field", f"f{i}", b"x") for i in range(20)])
    with pytest.raises(RequestEntityTooLarge):
        parse(UploadFormDataParser, too_many, parts=10)
    big_field = body_of([("field", "f", b"y" * 300_000)])
    with pytest.raises(RequestEntityTooLarge):
        parse(UploadFormDataParser, big_field, memory=100_000)
    # A file part is not held in memory, so the memory limit does not apply to it.
    big_file = body_of([("file", "file", b"z" * 300_000)])
    assert parse(UploadFormDataParser, big_file, memory=100_000)[1] == [("file", b"z" * 300_000)]


def test_a_body_cut_short_is_not_a_complete_upload():
    body = body_of([("file", "file", b"a" * 3_000_000)])[:2_500_000]
    form, files = parse(UploadFormDataParser, body)
    assert (form, files) == parse(FormDataParser, body)
    assert files == []


def test_the_body_is_read_in_blocks_not_64k_steps():
    reads = []

    class Counting(io.BytesIO):
        def readinto(self, buffer):
            reads.append(len(buffer))
            return super().readinto(buffer)

    body = body_of([("file", "file", b"q" * (5 * BODY_READ_SIZE))])
    parser = UploadFormDataParser(sink_factory, max_form_memory_size=500 * 1024)
    parser.parse(Counting(body), "multipart/form-data", len(body), {"boundary": BOUNDARY.decode()})
    assert StreamingUploadRequest.form_data_parser_class is UploadFormDataParser
    ramp = [BODY_READ_FIRST << i for i in range(4)]  # 64 KiB doubling: a body that comes fast gets 1 MiB blocks
    assert reads[:4] == ramp and set(reads[4:]) == {BODY_READ_SIZE} and len(reads) <= 11


def test_uploads_of_awkward_sizes_store_the_exact_bytes(client, auth):
    auth.signup()
    rng = random.Random(3)
    for size in (DECODER_FEED_MAX - 1, BODY_READ_SIZE + 17, 3 * BODY_READ_SIZE - 40):
        data = awkward(size, rng, b"\r\n-")
        response = upload(client, (f"{size}.bin", data))
        assert response.status_code == 201, response.get_data(as_text=True)
        [record] = response.get_json()["files"]
        assert record["size"] == size and record["sha256"] == hashlib.sha256(data).hexdigest()
        response = client.get(f"/api/files/{record['id']}")
        assert response.get_data() == data
        response.close()


# -- early writeback of the staging file ---------------------------------------------------

def staged_blob(tmp_path, remaining=None):
    return local.LocalStagedBlob(str(tmp_path), UploadBudget(remaining))


def test_writeback_is_started_in_steps_and_the_bytes_are_unchanged(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(local, "WRITEBACK_STEP", 1000)
    monkeypatch.setattr(local, "_sync_file_range", lambda fd, offset, nbytes, flags: calls.append((offset, nbytes)) or 0)
    blob = staged_blob(tmp_path)
    data = random.Random(1).randbytes(5500)
    for i in range(0, len(data), 700):
        blob.write(data[i:i + 700])
    blob.finish()
    assert calls == [(0, 1400), (1400, 1400), (2800, 1400), (4200, 1300)]
    with open(blob.path, "rb") as fh:
        assert fh.read() == data
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    blob.discard()


def test_a_file_system_without_writeback_hints_just_skips_them(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(local, "WRITEBACK_STEP", 10)

    def unsupported(fd, offset, nbytes, flags):
        calls.append(offset)
        monkeypatch.setattr(local.ctypes, "get_errno", lambda: errno.EINVAL)
        return -1
    monkeypatch.setattr(local, "_sync_file_range", unsupported)
    blob = staged_blob(tmp_path)
    for _ in range(5):
        blob.write(b"x" * 20)
    blob.finish()
    assert calls == [0] and blob.size == 100
    blob.discard()


def test_a_write_error_reported_by_writeback_fails_the_upload(tmp_path, monkeypatch):
    monkeypatch.setattr(local, "WRITEBACK_STEP", 10)
    monkeypatch.setattr(local, "_sync_file_range", lambda *args: -1)
    monkeypatch.setattr(local.ctypes, "get_errno", lambda: errno.ENOSPC)
    blob = staged_blob(tmp_path)
    with pytest.raises(OSError) as failure:
        blob.write(b"x" * 20)
    assert failure.value.errno == errno.ENOSPC
    blob.discard()
    assert list(tmp_path.iterdir()) == []


def test_the_real_writeback_call_works_here(tmp_path, monkeypatch):
    if local._sync_file_range is None:
        pytest.skip("sync_file_range is not available on this platform")
    monkeypatch.setattr(local, "WRITEBACK_STEP", 64 * 1024)
    blob = staged_blob(tmp_path)
    data = random.Random(2).randbytes(300 * 1024)
    for i in range(0, len(data), 50 * 1024):
        blob.write(data[i:i + 50 * 1024])
    assert blob._written_back == len(data)  # 100, 200 and 300 KiB: each step of 64 KiB or more
    blob.finish()
    with open(blob.path, "rb") as fh:
        assert fh.read() == data
    blob.discard()


class ReadOnly:
    """A stream with ``read`` only, as a WSGI server's own input stream may be."""

    def __init__(self, data: bytes):
        self._inner = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._inner.read(min(size, 100_000))  # short reads, as a socket gives


@pytest.mark.parametrize("wrap", [io.BytesIO, ReadOnly])
def test_block_reader_pieces_cover_the_stream_exactly(wrap):
    data = random.Random(4).randbytes(3 * BODY_READ_SIZE + 123)
    reader = upload_request._BlockReader(wrap(data))
    out = bytearray()
    while piece := reader.read(DECODER_FEED_MAX):
        assert len(piece) <= DECODER_FEED_MAX
        out += piece
    assert bytes(out) == data


def decoded_events(decoder_class, boundary: bytes, body: bytes, step: int) -> list:
    """Every event a decoder gives for ``body`` fed ``step`` bytes at a time (or its error)."""
    decoder, events = decoder_class(boundary, max_form_memory_size=None), []
    try:
        for at in range(0, len(body) + 1, step):
            decoder.receive_data(body[at:at + step] if at < len(body) else None)
            while not isinstance(event := decoder.next_event(), (NeedData, Epilogue)):
                events.append(event)
            if isinstance(event, Epilogue):
                return events + [event]
    except ValueError as exc:
        return events + [f"ValueError: {exc}"]
    return events


def lookalike_bodies(boundary: bytes, rng: random.Random) -> list[bytes]:
    """Bodies with every line break Werkzeug accepts, preambles with and without one, white space
    after boundaries, and boundaries' lookalikes (same length, one byte off, a prefix) in the data."""
    near = [bytes([boundary[0] ^ 1]) + boundary[1:], boundary[:-1] + b"\x00", boundary[:-3], boundary + b"x"]
    bodies = []
    for newline in (b"\r\n", b"\n", b"\r"):
        for preamble in (b"", b"junk" + newline, newline):
            data = newline.join(b"--" + rng.choice(near) for _ in range(rng.randint(0, 6))) + rng.randbytes(50)
            part = (b"--" + boundary + rng.choice([b"", b" \t"]) + newline
                    + b'Content-Disposition: form-data; name="f"; filename="a"' + newline + newline + data + newline)
            bodies.append(preamble + part * rng.randint(1, 3) + b"--" + boundary + b"--" + rng.choice([b"", b"  ", newline]))
    bodies.append(b"--" + boundary + b"--\r\n")  # an empty form
    bodies.append(b"--" + boundary + b"\r\nContent-Disposition: form-data; name=x\r\n\r\nno end")
    return bodies


@pytest.mark.parametrize("boundary", [BOUNDARY, b"a", b"x.y+z(*)?[]", b"-" * 70, b"9" * 40])
def test_our_decoder_gives_werkzeugs_events_for_every_line_break_and_lookalike(boundary):
    rng = random.Random(boundary)
    for body in lookalike_bodies(boundary, rng):
        for step in (1, 7, 64, len(body) or 1):
            ours = decoded_events(upload_request._BoundaryDecoder, boundary, body, step)
            assert ours == decoded_events(MultipartDecoder, boundary, body, step), (body, step)


def test_our_decoder_sets_what_werkzeugs_own_constructor_sets():
    """_BoundaryDecoder mirrors MultipartDecoder.__init__ (Werkzeug 3.1): an upgrade that adds
    state there fails here, not in production."""
    theirs, ours = MultipartDecoder(BOUNDARY, 1000, max_parts=5), upload_request._BoundaryDecoder(BOUNDARY, 1000, max_parts=5)
    assert vars(ours).keys() == vars(theirs).keys()
    assert {k: v for k, v in vars(ours).items() if not k.endswith("_re")} == \
        {k: v for k, v in vars(theirs).items() if not k.endswith("_re")}

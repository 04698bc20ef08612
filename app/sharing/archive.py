"""A ZIP archive streamed while it is built: no temporary copy, memory bounded by one chunk."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime
from typing import Callable, Iterable, Iterator

CHUNK = 1024 * 1024


class _Sink(io.RawIOBase):
    """An unseekable file that hands out what was written so far (zipfile then writes
    data descriptors after each member instead of seeking back)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def _zip_time(moment: datetime) -> tuple:
    return max(moment.timetuple()[:6], (1980, 1, 1, 0, 0, 0))


def stream_zip(members: Iterable[tuple[str, datetime, Callable[[], io.BufferedReader] | None]]) -> Iterator[bytes]:
    """Yield a ZIP of ``(name, modified, opener)`` members; a None opener is a directory."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, modified, opener in members:
            info = zipfile.ZipInfo(name, date_time=_zip_time(modified))
            if opener is None:
                info.external_attr = 0o40755 << 16 | 0x10
                archive.writestr(info, b"")
            else:
                info.external_attr = 0o644 << 16
                with opener() as source, archive.open(info, "w", force_zip64=True) as target:
                    while chunk := source.read(CHUNK):
                        target.write(chunk)
                        yield sink.drain()
            yield sink.drain()
    yield sink.drain()

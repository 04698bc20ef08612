"""A ZIP archive streamed while it is built: no temporary copy, memory bounded by one chunk.
Members are read through the storage (:class:`Download`), never opened here."""
from __future__ import annotations

import io
import os
import re
import zipfile
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:
    from ..drive.blobs import Download

CHUNK = 1024 * 1024

# Characters Windows refuses in a file name (and '/', which a ZIP reads as a folder).
_REFUSED = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
# Device names Windows reserves, with or without an extension ("con.txt", "COM1.tar.gz").
_DEVICES = ({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
            | {f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3"})
NAME_MAX = 255


def windows_safe_name(name: str) -> str:
    """One path component that Windows, macOS and Linux all accept as it is.

    Characters Windows refuses (``<>:"/\\|?*`` and control characters) become ``_``; trailing
    dots and spaces (which Windows drops) are removed; a reserved device name (``CON``, ``NUL``,
    ``COM1``, ``LPT9``, ... in any case, with any extension) gets a ``_`` prefix; an empty
    result is ``_``. Names are cut to 255 characters, keeping the extension.
    """
    name = _REFUSED.sub("_", name).rstrip(" .") or "_"
    if name.split(".", 1)[0].rstrip(" ").upper() in _DEVICES:
        name = "_" + name
    return _fit(name)


def _fit(name: str, suffix: str = "") -> str:
    """``name`` with ``suffix`` before its extension, within NAME_MAX characters."""
    stem, ext = os.path.splitext(name)
    if len(ext) > NAME_MAX // 2:
        stem, ext = name, ""
    return (stem[:NAME_MAX - len(ext) - len(suffix)] + suffix + ext).rstrip(" .") or "_"


def safe_archive_names(names: list[str]) -> list[str]:
    """Windows-safe names for the entries of one folder, distinct ignoring case.

    Each name goes through :func:`windows_safe_name`. Names that are safe as they are and
    unique keep their name; any other name that would then clash with another one (Windows
    ignores case) gets `` (2)``, `` (3)``, ... before its extension. The result is in the order
    of ``names`` and the same for the same input.
    """
    safe = [windows_safe_name(n) for n in names]
    result: list[str | None] = [None] * len(names)
    taken: set[str] = set()
    for index in sorted(range(len(names)), key=lambda i: (safe[i] != names[i], names[i])):
        candidate, n = safe[index], 1
        while candidate.casefold() in taken:
            n += 1
            candidate = _fit(safe[index], f" ({n})")
        taken.add(candidate.casefold())
        result[index] = candidate
    return result  # type: ignore[return-value]


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


def stream_zip(members: Iterable[tuple[str, datetime, Download | bytes | None]]) -> Iterator[bytes]:
    """Yield a ZIP of ``(name, modified, content)`` members; a None content is a directory,
    bytes are written as they are. Each stored content is opened only when its turn comes,
    and closed after."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, modified, content in members:
            info = zipfile.ZipInfo(name, date_time=_zip_time(modified))
            if content is None:
                info.external_attr = 0o40755 << 16 | 0x10
                archive.writestr(info, b"")
            elif isinstance(content, bytes):
                info.external_attr = 0o644 << 16
                archive.writestr(info, content)
            else:
                info.external_attr = 0o644 << 16
                with content.open() as source, archive.open(info, "w", force_zip64=True) as target:
                    while chunk := source.file.read(CHUNK):
                        target.write(chunk)
                        yield sink.drain()
            yield sink.drain()
    yield sink.drain()

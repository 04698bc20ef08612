"""Drawing one thumbnail: an image with Pillow, a PDF's first page with PDFium (pypdfium2), a
video's frame with FFmpeg (PyAV). Pure CPU work on a readable, seekable binary file, run by the
service off the event loop (app/thumbnails/service.py); nothing here knows users or storage.

Each decoder reads a header first and is refused before it decodes what a header says is too big:
an image over ``max_pixels`` (Pillow's own check only warns up to twice its limit: the service
makes that warning an error, and the explicit check below does not depend on it), a video frame
over it, a page always drawn at the thumbnail's size. Pillow only opens the one format the
file's type names, so a file calling itself an image never reaches a decoder it did not ask for
(EPS would start Ghostscript). A video is read no further than a small number of packets.
"""
from __future__ import annotations

import io
import time
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from ..errors import AppError, ErrorCode

IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP",
                 "image/bmp": "BMP", "image/tiff": "TIFF", "image/avif": "AVIF"}
PDF_TYPE = "application/pdf"
IMAGE, PDF, VIDEO = "image", "pdf", "video"
MIMETYPE = "image/webp"  # one format for every thumbnail: small, with alpha, shown by every current browser
WEBP_QUALITY = 80
# A video: the frame at 10% of its length (past a black first frame), else its first one;
# decoding stops after this many packets or seconds whatever it found.
VIDEO_POSITION = 0.1
VIDEO_MAX_PACKETS = 300
VIDEO_MAX_SECONDS = 10.0


class ThumbnailUnavailable(AppError):
    code = ErrorCode.THUMBNAIL_UNAVAILABLE


@dataclass(frozen=True)
class Limits:
    max_pixels: int  # THUMBNAIL_MAX_PIXELS
    max_source_bytes: int  # THUMBNAIL_MAX_SOURCE_BYTES


def kind_of(content_type: str) -> str | None:
    """What draws a file of this type: IMAGE, PDF, VIDEO, or None (no thumbnail)."""
    if content_type in IMAGE_FORMATS:
        return IMAGE
    if content_type == PDF_TYPE:
        return PDF
    return VIDEO if content_type.startswith("video/") else None


def configure_pillow(max_pixels: int) -> None:
    """Pillow's process-wide bomb limit: at least ours, so its check never refuses what the
    configuration allows; above it, its warning is an error (our own check refuses first)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, max_pixels)
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


def too_many_pixels() -> ThumbnailUnavailable:
    return ThumbnailUnavailable("This image has more pixels than thumbnails are drawn for (THUMBNAIL_MAX_PIXELS).")


def unreadable(what: str) -> ThumbnailUnavailable:
    return ThumbnailUnavailable(f"This {what} could not be read to draw a thumbnail.")


def render(kind: str, content_type: str, source: BinaryIO, size: int, limits: Limits) -> bytes:
    """The thumbnail (WebP, within ``size``×``size``, aspect kept) of the file in ``source``;
    ThumbnailUnavailable when it cannot be drawn within the limits."""
    from PIL import Image

    try:
        if kind == IMAGE:
            image = _image(source, IMAGE_FORMATS[content_type], size, limits.max_pixels)
        elif kind == PDF:
            image = _pdf_page(source, size)
        else:
            image = _video_frame(source, size, limits.max_pixels)
    except ThumbnailUnavailable:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many_pixels() from None
    except Exception as exc:  # every decoder has its own errors for a corrupt or truncated file
        raise unreadable(kind) from exc
    return _webp(image)


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise too_many_pixels()


def _image(source: BinaryIO, pillow_format: str, size: int, max_pixels: int):
    from PIL import Image, ImageOps

    image = Image.open(source, formats=[pillow_format])  # reads the header only
    _check_pixels(image.width, image.height, max_pixels)
    image.draft(None, (2 * size, 2 * size))  # JPEG: decode at 1/2, 1/4 or 1/8 scale when that is enough
    if image.mode not in ("RGB", "RGBA", "L"):
        has_alpha = "A" in image.mode or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((size, size), Image.Resampling.LANCZOS)  # the first frame of an animation
    return ImageOps.exif_transpose(image)


def _pdf_page(source: BinaryIO, size: int):
    import pypdfium2

    document = pypdfium2.PdfDocument(source)
    try:
        page = document[0]
        width, height = page.get_size()  # points
        bitmap = page.render(scale=size / max(width, height, 1.0))
        image = bitmap.to_pil()
        image.thumbnail((size, size))  # rounding may leave a pixel over
        return image
    finally:
        document.close()


def _video_frame(source: BinaryIO, size: int, max_pixels: int):
    import av

    with av.open(source, mode="r", metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1  # one core: THUMBNAIL_CONCURRENCY bounds the rest
        _check_pixels(stream.codec_context.width, stream.codec_context.height, max_pixels)
        frame = None
        if container.duration:
            try:
                container.seek(int(container.duration * VIDEO_POSITION))  # the keyframe before that point
                frame = _first_frame(container, stream)
            except av.error.FFmpegError:
                frame = None
        if frame is None:
            container.seek(0)
            frame = _first_frame(container, stream)
        if frame is None:
            raise unreadable(VIDEO)
        _check_pixels(frame.width, frame.height, max_pixels)
        scale = min(1.0, size / max(frame.width, frame.height))
        return frame.to_image(width=max(1, round(frame.width * scale)), height=max(1, round(frame.height * scale)))


def _first_frame(container, stream):
    deadline = time.monotonic() + VIDEO_MAX_SECONDS
    for count, packet in enumerate(container.demux(stream)):
        for frame in packet.decode():
            return frame
        if count >= VIDEO_MAX_PACKETS or time.monotonic() > deadline:
            return None
    return None


def _webp(image) -> bytes:
    out = io.BytesIO()
    image.save(out, "WEBP", quality=WEBP_QUALITY)
    return out.getvalue()


class CappedReader(io.RawIOBase):
    """A seekable file read through, refusing to give more than ``limit`` bytes in all (a video
    is read no further than THUMBNAIL_MAX_SOURCE_BYTES, however it seeks)."""

    def __init__(self, file: BinaryIO, limit: int):
        super().__init__()
        self._file = file
        self._left = limit

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._file.read(len(view))
        self._left -= len(data)
        if self._left < 0:
            raise ThumbnailUnavailable("Drawing this thumbnail would read more than THUMBNAIL_MAX_SOURCE_BYTES.")
        view[:len(data)] = data
        return len(data)

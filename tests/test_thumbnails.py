"""Thumbnails for the grid and list views (issue 18): drawn on the server from images, a PDF's
first page and a video's frame; cached by content and size; refused (415, nothing decoded) for
other types and for files over the limits; behind the one access rule like every file route."""
from __future__ import annotations

import io
import os
import resource
import struct
import time
import zlib

import av
import pytest
from PIL import Image

from app.db import close_database
from app.services import services
from app.thumbnails import service as thumbnail_service
from app.thumbnails.cache import DiskCache, MemoryCache
from tests.conftest import AuthActions, make_app, upload

PASSWORD = "correct horse"
RED, BLUE, GREEN = (220, 20, 20), (20, 20, 220), (20, 200, 40)


# -- files to draw -------------------------------------------------------------------------------

def jpeg_turned_on_its_side() -> bytes:
    """400×200 stored, red left half, blue right; EXIF orientation 6: shown turned 90° clockwise."""
    image = Image.new("RGB", (400, 200), RED)
    image.paste(BLUE, (200, 0, 400, 200))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def png_with_alpha() -> bytes:
    """600×200, transparent left half, opaque red right half."""
    image = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    image.paste((*RED, 255), (300, 0, 600, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), GREEN).save(out, "PNG")
    return out.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG of a few bytes whose header claims ``width``×``height`` pixels (a decompression bomb
    needs no more: a decoder that trusted it would allocate width×height×3 bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def red_pdf() -> bytes:
    """One landscape page (200×100 pt) filled red, then a second, blue, page never drawn."""
    pages = [b"1 0 0 rg 0 0 200 100 re f", b"0 0 1 rg 0 0 200 100 re f"]
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>"]
    for n, content in enumerate(pages):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents {4 + 2 * n} 0 R >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def green_video(frames: int = 12, noise: bool = False) -> bytes:
    """A short MP4 (MPEG-4 Part 2) of a solid green picture, 96×64 (or of noise: hardly compressed)."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=12)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for _ in range(frames):
            picture = Image.frombytes("RGB", (96, 64), os.urandom(96 * 64 * 3)) if noise else Image.new(
                "RGB", (96, 64), GREEN)
            for packet in stream.encode(av.VideoFrame.from_image(picture)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


# -- helpers --------------------------------------------------------------------------------------

@pytest.fixture
def alice(client, auth):
    auth.signup()
    return client


def put(client, name: str, data: bytes, content_type: str) -> dict:
    response = upload(client, (name, data, content_type))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["files"][0]


def thumbnail(client, file_id: str, size: int | None = None, **headers):
    query = "" if size is None else f"?size={size}"
    return client.get(f"/api/files/{file_id}/thumbnail{query}", headers=headers)


def picture(response) -> Image.Image:
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "image/webp"
    image = Image.open(io.BytesIO(response.get_data()))
    assert image.format == "WEBP"
    return image


def near(pixel, colour, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def refused(response, status=415, code="thumbnail_unavailable"):
    assert response.status_code == status, response.get_data()
    assert response.get_json()["error"]["code"] == code
    return response


@pytest.fixture
def drawn(monkeypatch):
    """Counts the thumbnails actually drawn (not served from the cache)."""
    calls = []
    real = thumbnail_service.render

    def counting(*args):
        calls.append(args[0])
        return real(*args)
    monkeypatch.setattr(thumbnail_service, "render", counting)
    return calls


def cache_root(app) -> str:
    return os.path.join(app.instance_path, "thumbnails")


def cached_files(app) -> list[str]:
    return sorted(os.path.relpath(os.path.join(folder, name), cache_root(app))
                  for folder, _, names in os.walk(cache_root(app)) for name in names)


# -- what is drawn ------------------------------------------------------------------------------------

def test_a_photo_is_turned_as_its_exif_says_and_fits_the_size(alice):
    photo = put(alice, "photo.jpg", jpeg_turned_on_its_side(), "image/jpeg")
    image = picture(thumbnail(alice, photo["id"], 128)).convert("RGB")
    assert image.size == (64, 128)  # 400×200 stored, shown upright as 200×400
    assert near(image.getpixel((32, 20)), RED) and near(image.getpixel((32, 108)), BLUE)
    response = thumbnail(alice, photo["id"])
    assert picture(response).size == (128, 256)  # the default size is 256
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_png_keeps_its_transparency(alice):
    logo = put(alice, "logo.png", png_with_alpha(), "image/png")
    image = picture(thumbnail(alice, logo["id"], 64))
    assert image.mode == "RGBA" and image.size == (64, 21)
    assert image.getpixel((5, 10))[3] == 0
    assert near(image.getpixel((60, 10)), (*RED, 255))


def test_a_pdf_shows_its_first_page(alice):
    pdf = put(alice, "report.pdf", red_pdf(), "application/pdf")
    image = picture(thumbnail(alice, pdf["id"], 256)).convert("RGB")
    assert max(image.size) == 256 and abs(image.size[1] - 128) <= 1
    assert near(image.getpixel((128, 64)), (255, 0, 0))


def test_a_video_shows_a_frame(alice):
    video = put(alice, "clip.mp4", green_video(), "video/mp4")
    image = picture(thumbnail(alice, video["id"], 64)).convert("RGB")
    assert image.size == (64, 43)
    assert near(image.getpixel((32, 21)), GREEN)
    small = picture(thumbnail(alice, video["id"], 512))
    assert small.size == (96, 64)  # never enlarged


# -- what is refused ----------------------------------------------------------------------------------

def test_a_text_file_has_no_thumbnail(alice, drawn):
    notes = put(alice, "notes.txt", b"just words\n", "text/plain")
    body = refused(thumbnail(alice, notes["id"])).get_json()
    assert "text/plain" in body["error"]["message"]
    assert drawn == []


@pytest.mark.parametrize("width,height", [(100_000, 100_000),  # over twice Pillow's limit: its own error
                                          (10_000, 10_000)])  # between once and twice: its warning, made an error
def test_a_decompression_bomb_is_refused_without_decoding(alice, width, height):
    bomb = put(alice, "bomb.png", png_header_claiming(width, height), "image/png")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    body = refused(thumbnail(alice, bomb["id"])).get_json()
    assert time.monotonic() - started < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024  # KiB: nothing allocated
    assert "THUMBNAIL_MAX_PIXELS" in body["error"]["message"]


def test_the_pixel_and_byte_limits_come_from_the_configuration(tmp_path):
    app = make_app(tmp_path, THUMBNAIL_MAX_PIXELS=200 * 200, THUMBNAIL_MAX_SOURCE_BYTES=20_000)
    try:
        client = app.test_client()
        AuthActions(client).signup()
        fits, over = put(client, "fits.png", png(200, 200), "image/png"), put(client, "over.png", png(201, 200),
                                                                           "image/png")
        assert picture(thumbnail(client, fits["id"])).size == (200, 200)
        assert "THUMBNAIL_MAX_PIXELS" in refused(thumbnail(client, over["id"])).get_json()["error"]["message"]
        big = put(client, "big.bmp", Image.new("RGB", (100, 100)).tobytes() + b"x" * 20_000, "image/bmp")
        assert "THUMBNAIL_MAX_SOURCE_BYTES" in refused(thumbnail(client, big["id"])).get_json()["error"]["message"]
        # A video is read only as far as the limit, however long it is.
        short_video, long_video = (put(client, "short.mp4", green_video(), "video/mp4"),
                                   put(client, "long.mp4", green_video(frames=40, noise=True), "video/mp4"))
        assert short_video["size"] < 20_000 < long_video["size"]
        assert picture(thumbnail(client, short_video["id"])).size == (96, 64)
        body = refused(thumbnail(client, long_video["id"])).get_json()
        assert "THUMBNAIL_MAX_SOURCE_BYTES" in body["error"]["message"]
    finally:
        close_database(app)


def test_a_corrupt_image_is_refused(alice):
    broken = put(alice, "broken.jpg", jpeg_turned_on_its_side()[:300], "image/jpeg")
    refused(thumbnail(alice, broken["id"]))
    fake = put(alice, "fake.png", b"%!PS-Adobe-3.0 EPSF-3.0\n", "image/png")  # never handed to Ghostscript
    refused(thumbnail(alice, fake["id"]))


@pytest.mark.parametrize("size", ["100", "1024", "big", "0"])
def test_only_the_fixed_sizes_are_drawn(alice, size):
    photo = put(alice, "photo.jpg", jpeg_turned_on_its_side(), "image/jpeg")
    refused(alice.get(f"/api/files/{photo['id']}/thumbnail?size={size}"), 400, "invalid_query")


# -- the cache and revalidation ----------------------------------------------------------------------

def test_a_thumbnail_is_drawn_once_per_content_and_size(app, alice, drawn):
    photo = put(alice, "photo.jpg", jpeg_turned_on_its_side(), "image/jpeg")
    first = thumbnail(alice, photo["id"], 256)
    owner = alice.get("/api/me").get_json()["id"]
    sha = photo["sha256"]
    assert cached_files(app) == [os.path.join(owner, sha[:2], f"{sha}-256.webp")]
    second = thumbnail(alice, photo["id"], 256)
    assert drawn == ["image"] and second.get_data() == first.get_data()
    copy = put(alice, "same bytes.jpg", jpeg_turned_on_its_side(), "image/jpeg")
    thumbnail(alice, copy["id"], 256)
    assert drawn == ["image"]  # the same content: the same entry
    thumbnail(alice, photo["id"], 64)
    assert drawn == ["image", "image"] and len(cached_files(app)) == 2


def test_a_torn_cache_entry_is_drawn_again(app, alice, drawn):
    photo = put(alice, "photo.jpg", jpeg_turned_on_its_side(), "image/jpeg")
    good = thumbnail(alice, photo["id"]).get_data()
    (entry,) = cached_files(app)
    with open(os.path.join(cache_root(app), entry), "r+b") as file:
        file.truncate(len(good) // 2)
    assert thumbnail(alice, photo["id"]).get_data() == good
    assert len(drawn) == 2


def test_if_none_match_is_a_304_that_draws_nothing(app, alice, drawn):
    photo = put(alice, "photo.jpg", jpeg_turned_on_its_side(), "image/jpeg")
    etag = thumbnail(alice, photo["id"]).headers["ETag"]
    assert photo["sha256"] in etag and "256" in etag
    with app.app_context():
        services().thumbnails.cache.forget_owner(alice.get("/api/me").get_json()["id"])
    response = thumbnail(alice, photo["id"], **{"If-None-Match": etag})
    assert response.status_code == 304 and response.get_data() == b""
    assert drawn == ["image"] and cached_files(app) == []
    other_size = thumbnail(alice, photo["id"], 64, **{"If-None-Match": etag})
    assert other_size.status_code == 200 and other_size.headers["ETag"] != etag


def test_a_changed_file_gets_a_new_thumbnail(alice):
    photo = put(alice, "photo.png", png(50, 50), "image/png")
    before = thumbnail(alice, photo["id"])
    upload(alice, ("photo.png", png_with_alpha(), "image/png"), query="?on_conflict=replace")
    after = thumbnail(alice, photo["id"], **{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and picture(after).size == (256, 85)


def test_purge_removes_thumbnails_of_content_no_longer_stored(app, alice):
    keep = put(alice, "keep.png", png(50, 50), "image/png")
    gone = put(alice, "gone.png", png(60, 60), "image/png")
    thumbnail(alice, keep["id"]), thumbnail(alice, gone["id"])
    assert alice.delete(f"/api/files/{gone['id']}?permanent=true").status_code == 204
    result = app.test_cli_runner().invoke(args=["purge-trash"])
    assert "removed 1 thumbnail(s)" in result.output, result.output
    assert [name.rsplit(os.sep, 1)[1] for name in cached_files(app)] == [f"{keep['sha256']}-256.webp"]


# -- who may see it ------------------------------------------------------------------------------------

def test_another_users_file_is_404(app, alice, drawn):
    photo = put(alice, "photo.jpg", jpeg_turned_on_its_side(), "image/jpeg")
    bob = app.test_client()
    AuthActions(bob).signup("bob", PASSWORD)
    refused(thumbnail(bob, photo["id"]), 404, "file_not_found")
    refused(thumbnail(bob, "not-an-id"), 404, "file_not_found")
    assert drawn == [] and cached_files(app) == []


def test_a_viewer_of_a_shared_folder_sees_thumbnails(app, alice):
    folder = alice.post("/api/folders", json={"name": "Holiday"}).get_json()["id"]
    response = upload(alice, ("beach.jpg", jpeg_turned_on_its_side(), "image/jpeg"), query=f"?folder_id={folder}")
    photo = response.get_json()["files"][0]
    bob = app.test_client()
    AuthActions(bob).signup("bob", PASSWORD)
    refused(thumbnail(bob, photo["id"]), 404, "file_not_found")
    granted = alice.post(f"/api/items/{folder}/members", json={"username": "bob", "role": "viewer"})
    assert granted.status_code == 201, granted.get_json()
    assert picture(thumbnail(bob, photo["id"], 64)).size == (32, 64)
    owner = alice.get("/api/me").get_json()["id"]
    assert all(name.startswith(owner + os.sep) for name in cached_files(app))  # the owner's cache
    assert alice.delete(f"/api/items/{folder}/members/bob").status_code == 204
    refused(thumbnail(bob, photo["id"], 64), 404, "file_not_found")


def test_deleting_the_account_removes_its_thumbnails(app, alice):
    photo = put(alice, "photo.jpg", jpeg_turned_on_its_side(), "image/jpeg")
    owner = alice.get("/api/me").get_json()["id"]
    thumbnail(alice, photo["id"])
    assert os.path.isdir(os.path.join(cache_root(app), owner))
    assert alice.delete("/api/me", json={"password": PASSWORD}).status_code == 204
    assert not os.path.exists(os.path.join(cache_root(app), owner))


def test_with_encryption_at_rest_nothing_reaches_the_disk(tmp_path, drawn):
    app = make_app(tmp_path, ENCRYPTION_KEY=bytes(range(32)))
    try:
        client = app.test_client()
        AuthActions(client).signup()
        photo = put(client, "photo.jpg", jpeg_turned_on_its_side(), "image/jpeg")
        video = put(client, "clip.mp4", green_video(), "video/mp4")
        first = thumbnail(client, photo["id"])
        assert picture(first).size == (128, 256)
        assert thumbnail(client, photo["id"]).get_data() == first.get_data()
        assert near(picture(thumbnail(client, video["id"], 64)).convert("RGB").getpixel((32, 21)), GREEN)
        assert drawn == ["image", "video"]  # the second look came from memory
        with app.app_context():
            assert isinstance(services().thumbnails.cache, MemoryCache)
        assert not os.path.exists(cache_root(app))
        written = [name for folder, _, names in os.walk(tmp_path) for name in names if name.endswith(".webp")]
        assert written == []
    finally:
        close_database(app)


def test_the_disk_cache_is_the_default(app):
    with app.app_context():
        assert isinstance(services().thumbnails.cache, DiskCache)

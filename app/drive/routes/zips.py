"""ZIP downloads for logged-in users: a folder, or a selection of files and folders (which the
web app sends as a form post). Every id goes through the one access rule before a byte is sent;
the archive is streamed as it is built, as share links' ZIPs are (app/drive/zips.py). The routes
live on the folders blueprint (:func:`add_zip_routes`)."""
from __future__ import annotations

from flask import Blueprint, request

from ...audit.record import audit
from ...contract import arguments, authenticated, document
from ...errors import FORBIDDEN, NOT_FOUND, ZIP_TOO_LARGE
from ...http import ZIP_RESPONSES, send_zip
from ...members.access import access_to
from ...services import services
from ...sharing.archive import stream_zip
from ..schemas import ZipSelectionSchema

AUDITED_IDS_MAX = 100  # ids named in one audit event; its count says how many there were


@authenticated
@document(errors=(NOT_FOUND, ZIP_TOO_LARGE), responses_raw=ZIP_RESPONSES)
def download_folder_zip(folder_id: str):
    """Download a folder as a ZIP, streamed as it is built.

    Laid out as a share link's ZIP: everything not in the trash, below a top directory named
    after the folder, empty folders included, names made safe for Windows, macOS and Linux.
    A folder shared with you works too (a viewer's as well); `root` gives your whole drive.
    More than `ZIP_MAX_ENTRIES` files and folders is 413 `zip_too_large`, before any byte.
    """
    access = access_to(folder_id, "folder")
    zips = services().zips
    if access.item is None:
        members, name = zips.of_root(access.owner_id), zips.archive_name(None, [])
    else:
        members, name = zips.of_folder(access.item), zips.archive_name(None, [access.item])
    if request.method != "HEAD":
        audit("zip_downloaded", owner_id=access.owner_id, target_id=folder_id, count=1)
    return send_zip(stream_zip(members), name)


@authenticated
@arguments(ZipSelectionSchema, "json_or_form")
@document(tags=["files"], errors=(NOT_FOUND, ZIP_TOO_LARGE, FORBIDDEN), responses_raw={
    **ZIP_RESPONSES, "204": {"description": "With `check`: every id can be zipped; nothing is sent."}})
def download_selection_zip(body: dict):
    """Download files and folders, mixed, as one ZIP, streamed as it is built.

    JSON `{"ids": [...], "name"?: "Holiday"}`, or an HTML form post with one `ids` field per
    id (the web app's download of a selection; like every cookie-authenticated POST it must
    come from this site's pages, else 403 `cross_site_request`). The chosen items sit at the
    top of the archive, folders with everything below them; names that clash get ` (2)`,
    ` (3)`, ... before their extension. Items shared with you work too. Every id is checked
    first: one that is not yours, not shared with you, or in the trash is a 404 and nothing
    is sent. More than `ZIP_MAX_ENTRIES` files and folders is 413 `zip_too_large`. The file
    is `<name>.zip`; without `name`, the only item's name, or `Download`. With `check: true`
    the same checks run and a 204 says they passed; nothing is sent or recorded.
    """
    zips = services().zips
    ids = list(dict.fromkeys(body["ids"]))
    zips.check_count(len(ids))
    chosen = [access_to(item_id, None) for item_id in ids]
    members = zips.of_selection([access.item for access in chosen])
    if body["check"]:
        return "", 204
    for owner_id in dict.fromkeys(access.owner_id for access in chosen):
        mine = [str(access.item["_id"]) for access in chosen if access.owner_id == owner_id]
        audit("zip_downloaded", owner_id=owner_id, target_id=mine[0] if len(mine) == 1 else None,
              count=len(mine), ids=mine[:AUDITED_IDS_MAX])
    return send_zip(stream_zip(members), zips.archive_name(body["name"], [access.item for access in chosen]))


def add_zip_routes(bp: Blueprint) -> None:
    """``GET /folders/<folder_id>/zip`` and ``POST /zip`` on ``bp`` (mounted at /api)."""
    bp.add_url_rule("/folders/<folder_id>/zip", view_func=download_folder_zip, methods=["GET"])
    bp.add_url_rule("/zip", view_func=download_selection_zip, methods=["POST"])

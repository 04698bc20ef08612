"""Files and folders: upload, download, create, rename, move, copy, star, list."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, ContextManager

from bson import ObjectId

from ..errors import AppError, Conflict, ErrorCode, InvalidInput
from ..storage import StagedBlob, UploadBudget
from ..timeutil import utcnow
from .blobs import BlobStore, BytesNeeded, Download
from .names import name_key, normalise_content_type, validate_display_name
from .repo import FILE, FOLDER, ItemsRepository, NameTaken
from .tree import Tree, conflict_policy, not_found
from .versions import VersionsService, content_of

log = logging.getLogger(__name__)
_MISSING = object()
_PLACE_ATTEMPTS = 100


@dataclass
class UploadPart:
    """One received file part: the client's name, type and modification time (None: now),
    and the bytes already staged."""

    name: str | None
    content_type: str | None
    staged: StagedBlob
    modified_at: datetime | None = None


MAX_RELATIVE_DEPTH = 64


def _relative_segments(path: str, field: str, folders_at_most: int) -> list[str]:
    """The segments of a relative path (at most ``folders_at_most`` of them folders), each
    checked: no empty, ``.`` or ``..`` one (400 ``invalid_name``). Always below the upload's
    folder: one leading ``/`` (Uppy sends a dropped folder's entries as ``/Photos/a.jpg``) does
    not mean the root."""
    path = path.replace("\\", "/")
    if path.startswith("/") and not path.startswith("//"):
        path = path[1:]
    segments = path.split("/")
    if segments[0] == "" or len(segments) > folders_at_most:
        raise InvalidInput(f"{field} is a relative path of at most {MAX_RELATIVE_DEPTH} folders, like "
                           "'Photos/2026/a.jpg'.", code=ErrorCode.INVALID_NAME)
    for segment in segments:
        if segment in ("", ".", ".."):
            raise InvalidInput(f"{field} cannot have empty, '.' or '..' segments.", code=ErrorCode.INVALID_NAME)
    return segments


def relative_folders(path: str | None, field: str = "relativePath") -> tuple[list[str], str | None]:
    """``Photos/2026/a.jpg`` (a browser's ``webkitRelativePath``, Uppy's ``relativePath``) →
    (["Photos", "2026"], "a.jpg"): the folders to place the file in, each a valid display name,
    and its last segment (the file's name, checked by the caller)."""
    if path is None or path == "":
        return [], None
    segments = _relative_segments(path, field, MAX_RELATIVE_DEPTH + 1)
    return [validate_display_name(s) for s in segments[:-1]], segments[-1]


def folder_names(path: str, field: str) -> list[str]:
    """``Photos/2026`` (or ``Photos/2026/``) → ["Photos", "2026"], each a valid display name;
    ``/`` alone names no folder."""
    path = path.rstrip("/")
    return [validate_display_name(s) for s in _relative_segments(path, field, MAX_RELATIVE_DEPTH)] if path else []


def modification_time(value: str | None, field: str = "last_modified") -> datetime | None:
    """A client's modification time for a file: milliseconds since the epoch (what browsers'
    ``File.lastModified`` and tus ``lastModified`` give) or ISO 8601 (UTC unless it names a
    zone). None when absent; anything else is a 400 naming ``field``."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if re.fullmatch(r"-?\d+", text):
            return datetime.fromtimestamp(int(text) / 1000, timezone.utc)
        when = datetime.fromisoformat(text)
        return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise InvalidInput(f"{field} must be milliseconds since the epoch or an ISO 8601 time.",
                           code=ErrorCode.INVALID_INPUT) from None


class DriveService:
    def __init__(self, items: ItemsRepository, blobs: BlobStore, versions: VersionsService):
        self.items = items
        self.tree = Tree(items)
        self.blobs = blobs
        self.versions = versions

    # -- uploads ----------------------------------------------------------------------------

    def folder_path(self, owner_id: str, folder_id, names: list[str]) -> str:
        """The id (``root`` for the root) of the folder ``names`` below ``folder_id``, made as
        needed (see Tree.folders_along)."""
        found = self.tree.folders_along(owner_id, self.tree.folder_id(owner_id, folder_id), names, utcnow())
        return "root" if found is None else str(found)

    def check_free(self, owner_id: str, folder_id, names: list[str], name: str) -> None:
        """409 ``name_conflict`` now when ``name`` is already taken at ``names`` below the
        folder (an upload with the ``fail`` policy that could only end in that error is
        refused before its bytes are sent; the final check stays where the file is placed)."""
        parent_id = self.tree.folder_id(owner_id, folder_id)
        for folder in names:
            found = self.items.at_name(owner_id, parent_id, name_key(folder), live_only=True)
            if found is None or found["type"] != FOLDER:
                return  # made when the upload finishes (or a 409 then)
            parent_id = found["_id"]
        if self.items.at_name(owner_id, parent_id, name_key(name), live_only=True) is not None:
            raise Conflict(f"An item named '{name}' already exists in this folder.", code=ErrorCode.NAME_CONFLICT)

    def stager_for(self, owner_id: str) -> Callable[[], StagedBlob]:
        """A factory staging the parts of one upload request against the owner's free space
        (refused at once, before any byte is read, when the quota is used up; see
        BlobStore.upload_budget)."""
        budget = self.blobs.upload_budget(owner_id)
        return lambda: self.blobs.stage(owner_id, budget)

    def anonymous_stager(self) -> Callable[[], StagedBlob]:
        """Staging for a request whose owner is known only after its body (quota checked after)."""
        return lambda: self.blobs.stage(None, UploadBudget(None))

    def store_uploads(self, owner_id: str, parts: list[UploadPart], folder_id=None, on_conflict=None,
                      check: Callable[[dict | None], None] | None = None) -> list[dict]:
        """Store every part in one folder; all or nothing. ``check`` (If-Match) must accept
        the file each part replaces (it goes with ``replace``; a new file fails it)."""
        policy = conflict_policy(on_conflict)
        if check is not None and policy != "replace":
            raise InvalidInput("If-Match applies to replacing a file: send on_conflict=replace.",
                               code=ErrorCode.INVALID_INPUT)
        parent_id = self.tree.folder_id(owner_id, folder_id)
        if not parts:
            raise InvalidInput("Send the file in a multipart field named 'file'.", code=ErrorCode.MISSING_FILE)
        checked = []
        for part in parts:
            if not part.name and part.staged.size == 0:
                raise InvalidInput("A 'file' part is empty: choose a file to upload.", code=ErrorCode.EMPTY_FILE_PART)
            name = validate_display_name(part.name or "")
            checked.append((part, name, normalise_content_type(part.content_type, name)))
        self.blobs.check_quota(owner_id, [part.staged for part, _, _ in checked])
        if self.items.batches_writes:
            stored, replaced = self._store_in_one_transaction(owner_id, parent_id, checked, policy, check)
            for file in replaced:
                self.versions.trim_quietly(owner_id, file)
            return stored

        undo: list[Callable[[], None]] = []
        stored, replaced = [], []
        try:
            for part, name, content_type in checked:
                item, was_replaced = self._store_one(owner_id, parent_id, part, name, content_type, policy, undo,
                                                     check)
                stored.append(item)
                if was_replaced:
                    replaced.append(item)
        except BaseException:
            for step in reversed(undo):
                try:
                    step()
                except Exception:  # keep undoing; repair finds what is left
                    log.exception("could not undo part of a failed upload")
            raise
        for file in replaced:
            self.versions.trim_quietly(owner_id, file)
        return stored

    def store_staged(self, owner_id: str, staged: StagedBlob, name: str, content_type: str | None = None,
                     folder_id=None, on_conflict=None, modified_at: datetime | None = None) -> dict:
        """Place one finished staged blob (a resumable upload's) as a multipart upload of it
        would be: dedup, versions on replace, reference counts, quota; all or nothing."""
        part = UploadPart(name, content_type, staged, modified_at)
        return self.store_uploads(owner_id, [part], folder_id, on_conflict)[0]

    def _store_in_one_transaction(self, owner_id, parent_id, checked, policy, check) -> tuple[list, list]:
        """Where the store batches writes (SQLite): the bytes of every content the owner does
        not have yet are made durable first, then the blob records, the usage charge, the
        items and the versions of all parts are one write transaction (one commit). An error or
        a crash anywhere leaves none of those writes, and the new bytes are removed (a crash
        leaves them unreferenced, for ``flask repair``)."""
        new_keys: dict[str, str] = {}  # sha256 -> key of the bytes this request stored
        committed: set[int] = set()  # the staged parts whose bytes went to those keys

        def store_bytes(staged: StagedBlob) -> None:
            new_keys[staged.sha256] = self.blobs.storage.commit(staged, owner_id)
            committed.add(id(staged))

        def record_all() -> tuple[list[tuple[dict, bool]], set, list]:
            placed, used, dead = [], set(), []  # placed: (item, whether it replaced a file)
            for part, name, content_type in checked:
                blob, new = self.blobs.record(owner_id, part.staged, new_keys.get(part.staged.sha256), dead)
                if new:
                    used.add(blob["sha256"])
                placed.append(self._place(owner_id, parent_id, part, blob, name, content_type, policy,
                                          [lambda: None], check))
            return placed, used, dead

        try:
            known = self.blobs.blobs.known_contents(owner_id, [part.staged.sha256 for part, _, _ in checked])
            for part, _, _ in checked:
                if part.staged.sha256 not in known and part.staged.sha256 not in new_keys:
                    store_bytes(part.staged)
            while True:
                try:
                    placed, used, dead = self.tree.in_transaction(owner_id, record_all)
                    break
                except BytesNeeded as needed:  # the content went meanwhile: store its bytes after all
                    store_bytes(needed.staged)
        except BaseException:
            self.blobs.remove_bytes(owner_id, new_keys.values())
            raise
        self.blobs.remove_bytes(owner_id, [key for sha, key in new_keys.items() if sha not in used] + dead)
        for part, _, _ in checked:
            if id(part.staged) not in committed:
                part.staged.discard()  # content the owner has already: nothing more to keep
        for item, was_replaced in placed:  # once committed (a replace logged its new version)
            if not was_replaced:
                log.info("upload user_id=%s file_id=%s size=%d", owner_id, item["_id"], item["size"])
        return [item for item, _ in placed], [item for item, was_replaced in placed if was_replaced]

    def _store_one(self, owner_id, parent_id, part: UploadPart, name, content_type, policy,
                   undo, check=None) -> tuple[dict, bool]:
        blob = self.blobs.adopt(owner_id, part.staged)
        undo.append(lambda: self.blobs.release(owner_id, blob["_id"]))
        item, was_replaced = self._place(owner_id, parent_id, part, blob, name, content_type, policy, undo, check)
        if not was_replaced:
            log.info("upload user_id=%s file_id=%s size=%d", owner_id, item["_id"], item["size"])
        return item, was_replaced

    def _place(self, owner_id, parent_id, part: UploadPart, blob: dict, name, content_type, policy,
               undo, check=None) -> tuple[dict, bool]:
        """Make the content (whose blob reference the last step of ``undo`` releases) a new
        file named ``name``, or the new commit of the file it replaces."""
        content = {"blob_id": blob["_id"], "size": blob["size"], "sha256": blob["sha256"],
                   "content_type": content_type, "modified_at": part.modified_at or utcnow()}
        for _ in range(_PLACE_ATTEMPTS):
            if policy == "replace":
                existing = self.items.at_name(owner_id, parent_id, name_key(name), live_only=True)
                if check is not None and (existing is None or existing["type"] != FILE):
                    check(None)  # If-Match names a file that is not there (any more)
                if existing and existing["type"] == FILE:
                    replaced = self.versions.replace_content(owner_id, existing, content, undo, check)
                    if replaced is not None:
                        return replaced, True
                    continue  # the file left its name meanwhile: place ours there
                if existing:
                    raise NameTaken(f"A folder named '{name}' already exists here.")
            try:
                item = self.tree.create(owner_id, FILE, parent_id, name, policy, utcnow(), revision=1, **content)
            except NameTaken:
                if policy == "replace":
                    continue  # a parallel upload created it first: replace that one (If-Match fails it)
                raise
            undo[-1] = lambda: self._uncreate(owner_id, item["_id"])  # the file holds the reference now
            return item, False
        raise AppError("Too many changes to this name at once; try again.", code=ErrorCode.TRY_AGAIN)

    # -- reading ----------------------------------------------------------------------------

    def get(self, owner_id: str, item_id: str, kind: str) -> dict:
        return self.tree.live(owner_id, item_id, kind)

    def open_download(self, owner_id: str, file_id: str) -> Download:
        """The owner's own file: may be served by a signed redirect where the storage offers one."""
        return self.blobs.download(self.tree.live(owner_id, file_id, FILE), redirect_allowed=True)

    def download(self, file: dict, redirect_allowed: bool = False) -> Download:
        """The current content of a file record already checked by the caller (the access
        rule, a share link, the compatibility API); only the drive's own routes allow a
        signed redirect."""
        return self.blobs.download(file, redirect_allowed=redirect_allowed)

    def file_named(self, owner_id: str, folder_id, name) -> dict:
        """A live file found by its name (any case) in a folder, or 404."""
        parent_id = self.tree.folder_id(owner_id, folder_id)
        try:
            key = name_key(validate_display_name(name))
        except InvalidInput:
            key = None
        found = self.items.at_name(owner_id, parent_id, key, kind=FILE) if key else None
        if found is None:
            raise not_found(FILE)
        return found

    def file_names(self, owner_id: str, folder_id, limit: int) -> list[str]:
        return self.items.file_names(owner_id, self.tree.folder_id(owner_id, folder_id), limit)

    def list_files(self, owner_id: str, sort: str, descending: bool, page: int, limit: int):
        return self.items.all_files(owner_id, sort, descending, page, limit)

    def list_children(self, owner_id: str, folder_id, sort: str, descending: bool, page: int, limit: int,
                      name: str | None = None):
        """A page of a folder's live items; ``name`` keeps only the one with that name (any case)."""
        parent_id = self.tree.folder_id(owner_id, folder_id)
        return self.items.children(owner_id, parent_id, sort, descending, page, limit,
                                   name_key=None if name is None else name_key(name))

    def list_starred(self, owner_id: str, page: int, limit: int):
        return self.items.starred(owner_id, page, limit)

    def folder_tree(self, owner_id: str) -> list[dict]:
        """Every live folder, nested; children sorted by name."""
        folders = self.items.live_folders(owner_id)
        nodes = {f["_id"]: {"id": str(f["_id"]), "name": f["name"], "children": []} for f in folders}
        roots = []
        for folder in folders:
            parent = nodes.get(folder["parent_id"])
            (parent["children"] if parent else roots).append(nodes[folder["_id"]])
        return roots

    def breadcrumbs(self, owner_id: str, folder_id) -> list[dict]:
        crumbs = [{"id": "root", "name": ""}]
        parent_id = self.tree.folder_id(owner_id, folder_id)
        if parent_id is not None:
            crumbs += [{"id": str(f["_id"]), "name": f["name"]} for f in self.tree.ancestors(owner_id, parent_id)]
        return crumbs

    def lineages(self, owner_id: str, item_ids) -> dict[ObjectId, list[ObjectId]]:
        """The folders above each of the owner's items among ``item_ids`` (see Tree.lineages)."""
        return self.tree.lineages(owner_id, item_ids)

    # -- many changes in a row (bulk requests) ------------------------------------------------

    def holding_tree(self, owner_id: str) -> ContextManager[None]:
        """The owner's tree lock held across many changes (each takes it again, re-entrantly);
        call :meth:`between_changes` between steps so other requests wait for one step only."""
        return self.tree.locked(owner_id)

    def between_changes(self, owner_id: str) -> None:
        self.tree.hand_over_if_wanted(owner_id)

    @property
    def batches_writes(self) -> bool:
        return self.items.batches_writes

    def batch(self) -> ContextManager[None]:
        """Writes in the block commit together where the store can (see ItemsRepository.batch)."""
        return self.items.batch()

    # -- changing ---------------------------------------------------------------------------

    def create_folder(self, owner_id: str, name, parent=None, on_conflict=None) -> dict:
        policy = conflict_policy(on_conflict, ("fail", "rename"))
        name = validate_display_name(name)
        parent_id = self.tree.folder_id(owner_id, parent)
        folder = self.tree.create(owner_id, FOLDER, parent_id, name, policy, utcnow())
        log.info("folder created user_id=%s folder_id=%s", owner_id, folder["_id"])
        return folder

    def update(self, owner_id: str, item_id: str, kind: str, name=None, parent=_MISSING, on_conflict=None,
               check: Callable[[dict], None] | None = None) -> dict:
        """Rename and/or move: metadata only, no bytes move on disk. ``check`` (If-Match)
        sees the item under the tree lock."""
        policy = conflict_policy(on_conflict, ("fail", "rename"))
        new_name = None if name is None else validate_display_name(name)

        def change() -> dict:  # one record changes, even for a folder: one transaction where batched
            item = self.tree.live(owner_id, item_id, kind)
            if check is not None:
                check(item)
            name = new_name or item["name"]
            parent_id = item["parent_id"] if parent is _MISSING else self.tree.folder_id(owner_id, parent)
            if kind == FOLDER and parent_id != item["parent_id"]:
                self.tree.check_not_inside(owner_id, item["_id"], parent_id)
            if name == item["name"] and parent_id == item["parent_id"]:
                return item
            return self.tree.relocate(owner_id, item, parent_id, name, policy, updated_at=utcnow())
        return self.tree.in_transaction(owner_id, change)

    def set_starred(self, owner_id: str, item_id: str, kind: str, starred: bool) -> dict:
        item = self.tree.live(owner_id, item_id, kind)
        updated = self.items.update(owner_id, item["_id"], {"starred": starred}, live_only=True)
        if updated is None:  # trashed or deleted meanwhile
            raise not_found(kind)
        return updated

    def copy(self, owner_id: str, item_id: str, kind: str, parent=_MISSING, name=None, on_conflict=None) -> dict:
        """Copy a file or a whole folder; bytes are shared, never duplicated on disk."""
        policy = conflict_policy(on_conflict, ("fail", "rename"), default="rename")
        new_name = None if name is None else validate_display_name(name)
        undo: list[Callable[[], None]] = []
        with self.tree.locked(owner_id):  # the source as of one moment: a copy is whole or absent
            source = self.tree.live(owner_id, item_id, kind)
            parent_id = source["parent_id"] if parent is _MISSING else self.tree.folder_id(owner_id, parent)
            if kind == FOLDER:
                self.tree.check_not_inside(owner_id, source["_id"], parent_id)
            try:
                top = self._copy_item(owner_id, source, parent_id, new_name or source["name"], policy, undo)
                if kind == FOLDER:
                    mapping = {source["_id"]: top["_id"]}
                    for child in self.tree.subtree(owner_id, source["_id"], "live"):
                        self.tree.keep_lock(owner_id)
                        copied = self._copy_item(owner_id, child, mapping[child["parent_id"]], child["name"], "fail",
                                                 undo)
                        mapping[child["_id"]] = copied["_id"]
            except BaseException:
                for step in reversed(undo):
                    step()
                raise
        log.info("copied user_id=%s from=%s to=%s", owner_id, source["_id"], top["_id"])
        return top

    def copy_across(self, source_owner: str, item_id: str, kind: str, target_owner: str, parent=None, name=None,
                    on_conflict=None) -> dict:
        """Copy a file or folder into another user's drive (a member's "copy to my drive"):
        the bytes are stored again there, deduplicated and charged like an upload of them
        (507 when they do not fit); all or nothing. The source is read as of one moment (its
        records under the source's tree lock, its contents held by a reference while they are
        read), and no lock is held while bytes move."""
        policy = conflict_policy(on_conflict, ("fail", "rename"), default="rename")
        new_name = None if name is None else validate_display_name(name)
        with self.tree.locked(source_owner):
            source = self.tree.live(source_owner, item_id, kind)
            inside = self.tree.subtree(source_owner, source["_id"], "live") if source["type"] == FOLDER else []
            held: dict = {}
            try:
                for record in [source, *inside]:
                    if record["type"] == FILE:
                        held[record["_id"]] = self._reference_content(source_owner, record)
            except BaseException:
                for file in held.values():
                    self.blobs.release(source_owner, file["blob_id"])
                raise
        staged: dict = {}
        undo: list[Callable[[], None]] = []
        try:
            parent_id = self.tree.folder_id(target_owner, parent)
            budget = self.blobs.upload_budget(target_owner)
            for file_id, file in held.items():
                blob = self.blobs.stage(target_owner, budget)
                staged[file_id] = blob
                with self.blobs.download(file).open() as opened:
                    blob.append(opened.file)
            self.blobs.check_quota(target_owner, staged.values())
            with self.tree.locked(target_owner):
                top = self._place_copy(target_owner, source if kind == FOLDER else held[source["_id"]], parent_id,
                                       new_name or source["name"], policy, staged, undo)
                mapping = {source["_id"]: top["_id"]}
                for child in inside:
                    self.tree.keep_lock(target_owner)
                    record = held.get(child["_id"], child)
                    copied = self._place_copy(target_owner, record, mapping[child["parent_id"]], child["name"], "fail",
                                              staged, undo)
                    mapping[child["_id"]] = copied["_id"]
        except BaseException:
            for step in reversed(undo):
                try:
                    step()
                except Exception:  # keep undoing; repair finds what is left
                    log.exception("could not undo part of a failed copy")
            raise
        finally:
            for blob in staged.values():  # as at an upload's teardown: a no-op for what was kept
                blob.discard()
            for file in held.values():
                self.blobs.release(source_owner, file["blob_id"])
        log.info("copied across from_user=%s to_user=%s from=%s to=%s", source_owner, target_owner, source["_id"],
                 top["_id"])
        return top

    def _place_copy(self, owner_id: str, record: dict, parent_id, name: str, policy: str, staged: dict,
                    undo: list) -> dict:
        if record["type"] == FOLDER:
            folder = self.tree.create(owner_id, FOLDER, parent_id, name, policy, utcnow())
            undo.append(lambda: self.items.delete(folder["_id"]))
            return folder
        part = UploadPart(name, record.get("content_type"), staged[record["_id"]], record.get("modified_at"))
        item, _ = self._store_one(owner_id, parent_id, part, name, record.get("content_type"), policy, undo)
        return item

    def _reference_content(self, owner_id: str, file: dict) -> dict:
        """Take a reference to the file's current content; a replace may have moved it on
        (and trimmed the old content) since ``file`` was read, so read it again then."""
        for _ in range(_PLACE_ATTEMPTS):
            if self.blobs.add_ref(file["blob_id"]):
                return file
            file = self.items.get(owner_id, file["_id"], kind=FILE)
            if file is None:
                raise not_found(FILE)
        raise AppError("Too many changes to this file at once; try again.", code=ErrorCode.TRY_AGAIN)

    def _copy_item(self, owner_id, source: dict, parent_id, name: str, policy: str, undo) -> dict:
        extra = {"dav_props": source["dav_props"]} if source.get("dav_props") else {}  # WebDAV: a copy keeps them
        if source["type"] == FOLDER:
            item = self.tree.create(owner_id, FOLDER, parent_id, name, policy, utcnow(), **extra)
            undo.append(lambda: self.items.delete(item["_id"]))
            return item
        source = self._reference_content(owner_id, source)
        undo.append(lambda: self.blobs.release(owner_id, source["blob_id"]))
        fields = content_of(source)  # a copy keeps the content's modification time
        item = self.tree.create(owner_id, FILE, parent_id, name, policy, utcnow(), revision=1, **fields, **extra)
        undo[-1] = lambda: self._uncreate(owner_id, item["_id"])  # the copy holds the reference now
        return item

    def _uncreate(self, owner_id: str, file_id) -> None:
        """Undo a file this request created: while it holds its first content, the file goes;
        if a later commit (a parallel replace) owns it, that commit's 2xx stands and only our
        content (its version 1) goes; if it was deleted meanwhile, that released our reference."""
        gone = self.items.take_first_commit(file_id)
        if gone is not None:
            self.versions.delete_all(owner_id, gone)
            self.blobs.release(owner_id, gone["blob_id"])
            return
        current = self.items.get(owner_id, file_id, kind=FILE, live=None)
        if current is not None:  # a later commit made our content its version 1: drop that
            self.versions.drop_first(owner_id, current)


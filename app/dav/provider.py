"""The drive as a WebDAV resource tree (wsgidav's provider interface): each resource is one of
our items, read through the repositories and changed through the drive's services, never a
directory on disk.

Paths are ``/<username>/<names...>`` below the mount point (/dav) for the user's own drive, and
``/Shared with me/<shared item>/<names...>`` for what other users shared with them (issue 16: a
name no username can take, as usernames have no spaces). Names are resolved as the API compares
them (any case, NFC). Inside a share every change asks the one access rule
(app.members.access) as the API's routes do: a viewer's writes are 403, the shared item itself
is the owner's to move or delete, bytes count against the owner's quota, and what a member puts
in the trash goes to the owner's (naming who did it). What WebDAV methods do here:

- PUT stages the body as it arrives (quota and MAX_CONTENT_LENGTH as it streams) and places it
  at the end as an upload with ``replace`` does: a new file, or a new version of the existing
  one; a body cut off or refused leaves nothing (the staging is discarded);
- DELETE moves to the trash; MKCOL, MOVE and COPY are the drive's create, rename/move
  (metadata only) and copy (bytes shared);
- dead properties live on the item (moved and copied with it); locks in the database
  (app.dav.locks).

A folder listing (PROPFIND Depth 1) reads the folder's children in one query, their MD5s in a
second and nothing per child. Within one request, resolved paths are cached until a change.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator
from urllib.parse import unquote

from wsgidav import util, xml_tools
from wsgidav.dav_error import HTTP_BAD_REQUEST, HTTP_CONFLICT, HTTP_FORBIDDEN, HTTP_METHOD_NOT_ALLOWED, DAVError
from wsgidav.dav_provider import DAVCollection, DAVNonCollection, DAVProvider
from wsgidav.lock_man.lock_manager import normalize_lock_root
from wsgidav.util import etree

from ..auth.models import User
from ..drive.names import name_key, validate_display_name
from ..drive.repo import FILE, FOLDER
from ..drive.versions import modified_time
from ..errors import AppError, ErrorCode, InvalidInput, too_large_message
from ..audit.record import audit
from ..members.access import WRITE, Access
from ..members.service import RECEIVED_AT_MOST
from ..services import Services

OWNCLOUD_NS = "http://owncloud.org/ns"
CHECKSUMS = "{%s}checksums" % OWNCLOUD_NS
_PROTECTED = (CHECKSUMS,)
# Dead properties are metadata, not a second file store: bounded per item.
DEAD_PROPERTY_MAX = 16 * 1024
DEAD_PROPERTIES_MAX = 100
NO_MD5 = ""  # looked up: the content has no MD5 yet (stored before the drive kept them)
SHARED = "Shared with me"  # /dav/Shared with me/: what others shared with the user
SHARED_KEY = name_key(SHARED)


@dataclass
class Share:
    """An item another user shared with this one, as it appears in /dav/Shared with me/."""

    name: str  # its name there: the item's, with its owner's name added when two would clash
    item: dict
    owner_id: str
    owner: str  # the owner's username
    lock_prefix: list[str] | None = field(default=None, repr=False)


def share_names(rows: list[dict]) -> dict[str, Share]:
    """Shared items by the key of the name each shows under: its own name, or (when another
    shared item has it already, oldest grant first) ``name (owner).ext``, ``name (owner 2).ext``..."""
    shares: dict[str, Share] = {}
    for row in sorted(rows, key=lambda r: (r["shared_at"], str(r["item"]["_id"]))):
        item = row["item"]
        stem, ext = (item["name"], "") if item["type"] == FOLDER else os.path.splitext(item["name"])
        if not stem:
            stem, ext = ext, ""
        name, n = item["name"], 1
        while name_key(name) in shares or name_key(name) == SHARED_KEY:
            name = f"{stem} ({row['owner']}{'' if n == 1 else f' {n}'}){ext}"
            n += 1
        shares[name_key(name)] = Share(name, item, item["owner_id"], row["owner"] or "")
    return shares


@dataclass(frozen=True)
class View:
    """The drive a resource is in, as the requesting user reaches it: their own (``share``
    None), or another user's through a share."""

    owner_id: str
    share: Share | None = None


class DavRequest:
    """What one request knows: who it is for, and the items its paths resolved to."""

    def __init__(self, user: User, services: Services, max_size: int | None):
        self.user = user
        self.user_id = user.id
        self.username = user.username
        self.services = services
        self.max_size = max_size
        self.items: dict[str, dict | None] = {}
        self._usage: dict | None = None
        self._shares: dict[str, Share] | None = None

    def changed(self) -> None:
        self.items.clear()
        self._usage = None

    def audit(self, action: str, owner_id: str, **fields) -> None:
        """An event of this WebDAV request (its user, in ``owner_id``'s drive; marked as WebDAV)."""
        audit(action, actor_id=self.user_id, owner_id=owner_id, via="webdav", **fields)

    def usage(self) -> dict:
        if self._usage is None:
            self._usage = self.services.search.usage(self.user_id)
        return self._usage

    def shares(self) -> dict[str, Share]:
        """What is shared with the user now (the API's "Shared with me"), by name key."""
        if self._shares is None:
            rows, _ = self.services.members.received(self.user_id, 1, RECEIVED_AT_MOST)
            self._shares = share_names(rows)
        return self._shares

    def lock_key(self, path: str) -> str:
        """The key a lock on ``path`` is kept under: one per item, whoever reaches it and how, so
        a lock alice takes on /alice/Project/a.txt holds against bob writing it through
        /Shared with me/Project/a.txt (and the other way round). Each segment is decoded and
        compared as names are (NFC, case-folded); a path through a share becomes its owner's."""
        keys = [name_key(unquote(segment)) for segment in normalize_lock_root(path).split("/")]
        if len(keys) < 2 or keys[1] != SHARED_KEY:
            return "/".join(keys)
        share = self.shares().get(keys[2]) if len(keys) > 2 else None
        if share is None:  # the collection itself, or nothing: a key of this user's alone
            return "/".join(["", SHARED_KEY, f"~{self.user_id}", *keys[2:]])
        if share.lock_prefix is None:
            above = self.services.drive.tree.ancestors(share.owner_id, share.item["parent_id"])
            share.lock_prefix = [name_key(share.owner)] + [name_key(a["name"]) for a in above] + [
                name_key(share.item["name"])]
        return "/".join(["", *share.lock_prefix, *keys[3:]])


def request_of(environ: dict) -> DavRequest:
    return environ["drive.dav"]


@contextmanager
def dav_errors() -> Iterator[None]:
    """Our errors as WebDAV status answers (507 quota, 413 too large, 409 name taken, ...)."""
    try:
        yield
    except AppError as error:
        raise DAVError(error.status, context_info=error.message) from error


def _timestamp(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def property_key(name: str) -> str:
    """A dead property's name (Clark notation) as a key safe in any database field name."""
    return name.encode("utf-8").hex()


def property_name(key: str) -> str:
    return bytes.fromhex(key).decode("utf-8")


def mtime_of(environ: dict) -> datetime | None:
    """``X-OC-Mtime`` (seconds since the epoch; ownCloud clients, rclone) as a time; 400 if malformed."""
    value = environ.get("HTTP_X_OC_MTIME")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
        if not 0 <= seconds < 253402300800:  # up to the year 9999
            raise ValueError(value)
        return datetime.fromtimestamp(seconds, timezone.utc)
    except ValueError:
        raise DAVError(HTTP_BAD_REQUEST, "X-OC-Mtime must be seconds since the epoch.") from None


class _Resource:
    """What files and folders share: the item, its times, its dead properties."""

    item: dict | None
    environ: dict
    provider: DriveProvider
    view: View

    @property
    def req(self) -> DavRequest:
        return request_of(self.environ)

    @property
    def owner_id(self) -> str:
        """Whose drive the item is in (and whose quota its bytes count against)."""
        return self.view.owner_id

    @property
    def shared(self) -> bool:
        return self.view.share is not None

    @property
    def item_id(self):
        return self.item["_id"] if self.item else None

    def _write_access(self) -> Access | None:
        """In a share, the access rule's answer for changing this item (a folder: also what is
        made inside it): 403 ``read_only`` for a viewer, 404 once access has ended."""
        if not self.shared:
            return None
        req = self.req
        with dav_errors():
            return req.services.access.resolve(req.user_id, str(self.item_id), self._kind(), WRITE)

    def _may_change_place(self, what: str) -> None:
        """Moving, renaming or trashing changes the folder that holds the item: in a share, the
        member must edit that folder too, and the shared item itself stays the owner's."""
        access = self._write_access()
        if access is not None:
            with dav_errors():
                self.req.services.access.may_change_place(self.req.user_id, access, what)

    def _by(self) -> str | None:
        """Who did it, as the owner's trash shows it (None: the owner)."""
        return self.req.username if self.shared else None

    def get_creation_date(self):
        return _timestamp(self.item["created_at"]) if self.item else None

    def get_display_name(self):
        return self.item["name"] if self.item else self.req.username

    def _dead_properties(self) -> dict[str, str]:
        if not self.item:
            return {}
        return {property_name(k): v for k, v in (self.item.get("dav_props") or {}).items()}

    def get_property_names(self, *, is_allprop):
        return super().get_property_names(is_allprop=is_allprop) + list(self._dead_properties())

    def get_property_value(self, name):
        if not name.startswith("{DAV:}") and name not in _PROTECTED:
            value = self._dead_properties().get(name)
            if value is None:
                raise DAVError(404)
            return xml_tools.string_to_xml(value)
        return super().get_property_value(name)

    def set_property_value(self, name, value, *, dry_run=False):
        if name.startswith("{DAV:}") or name in _PROTECTED:
            return super().set_property_value(name, value, dry_run=dry_run)  # refused: live or protected
        if not self.item:
            raise DAVError(HTTP_FORBIDDEN, "The top folder of a drive keeps no properties.")
        text = None if value is None else etree.tostring(value).decode("utf-8")
        if text is not None:
            props = self.item.get("dav_props") or {}
            if len(text.encode("utf-8")) > DEAD_PROPERTY_MAX or (
                    property_key(name) not in props and len(props) >= DEAD_PROPERTIES_MAX):
                raise DAVError(507, f"At most {DEAD_PROPERTIES_MAX} properties of {DEAD_PROPERTY_MAX // 1024} KiB "
                                    "each on one item.")
        if dry_run:
            return
        self._write_access()
        if not self.req.services.drive.items.set_dead_property(self.owner_id, self.item_id,
                                                              property_key(name), text):
            raise DAVError(404)
        props = dict(self.item.get("dav_props") or {})
        if text is None:
            props.pop(property_key(name), None)
        else:
            props[property_key(name)] = text
        self.item = {**self.item, "dav_props": props}  # what a PROPFIND later in this request sees

    def remove_all_properties(self, *, recursive):
        """The item goes to the trash with its properties (a restore brings them back)."""

    # -- changes: the drive's operations ---------------------------------------------------------

    def _check_unlocked(self) -> None:
        """423 when a lock the request did not present covers this resource or anything below."""
        lock_manager = self.provider.lock_manager
        if "wsgidav.conditions.if" not in self.environ:
            util.parse_if_header_dict(self.environ)
        lock_manager.check_write_permission(url=self.get_ref_url(), depth="infinity",
                                            token_list=self.environ["wsgidav.ifLockTokenList"],
                                            principal=self.environ["wsgidav.user_name"])

    def _forget_locks(self) -> None:
        self.provider.lock_manager.remove_all_locks_from_url(self.get_ref_url(), recursive=True)

    def _kind(self) -> str:
        return FOLDER if self.is_collection else FILE

    def handle_delete(self):
        if not self.item:
            raise DAVError(HTTP_FORBIDDEN, "The top folder of a drive cannot be deleted.")
        self._check_unlocked()
        self._may_change_place("put in the trash")
        with dav_errors():
            self.req.services.trash.trash(self.owner_id, str(self.item_id), self._kind(), by=self._by())
        self.req.audit("trashed", self.owner_id, target_id=self.item_id, kind=self._kind())
        self._forget_locks()
        self.req.changed()
        return True

    def _destination(self, dest_path: str) -> tuple[FolderResource, str, _Resource | None]:
        parent = self.provider.get_resource_inst(util.get_uri_parent(dest_path), self.environ)
        if not isinstance(parent, FolderResource):
            raise DAVError(HTTP_CONFLICT, "The destination's folder does not exist.")
        name = util.get_uri_name(dest_path)
        try:
            name = validate_display_name(name)
        except InvalidInput as error:
            raise DAVError(HTTP_BAD_REQUEST, error.message) from None
        return parent, name, self.provider.get_resource_inst(dest_path, self.environ)

    def _clear_destination(self, existing: _Resource | None) -> None:
        """Overwrite: T (wsgidav refused F already): what is at the destination goes to the trash,
        unless it holds the source or is inside it (409: nothing is changed)."""
        if existing is not None:
            if not existing.item:
                raise DAVError(HTTP_FORBIDDEN, "The top folder of a drive cannot be overwritten.")
            if existing.owner_id == self.owner_id:
                tree = self.req.services.drive.tree
                above_source = {a["_id"] for a in tree.ancestors(self.owner_id, self.item["parent_id"])}
                above_existing = {a["_id"] for a in tree.ancestors(self.owner_id, existing.item["parent_id"])}
                if existing.item_id in above_source or self.item_id in above_existing:
                    raise DAVError(HTTP_CONFLICT, "The destination holds the source, or is inside it.")
            existing._may_change_place("overwrite")
            with dav_errors():
                self.req.services.trash.trash(existing.owner_id, str(existing.item_id), existing._kind(),
                                              by=existing._by())
            existing._forget_locks()
        self.environ["drive.dav.created"] = existing is None

    def handle_move(self, dest_path):
        if not self.item:
            raise DAVError(HTTP_FORBIDDEN, "The top folder of a drive cannot be moved.")
        parent, name, existing = self._destination(dest_path)
        if parent.owner_id != self.owner_id:
            raise DAVError(HTTP_FORBIDDEN, "Items move only within one drive: copy them there, then delete "
                                           "the original.")
        self._may_change_place("rename or move")
        parent._write_access()
        if existing is not None and existing.item_id == self.item_id:
            existing = None  # the same item under another case: a rename
            self.environ["drive.dav.created"] = False
        else:
            self._clear_destination(existing)
        with dav_errors():
            self.req.services.drive.update(self.owner_id, str(self.item_id), self._kind(), name=name,
                                           parent=parent.folder_arg, on_conflict="fail")
        if self.shared:
            self.req.audit("member_changed_item", self.owner_id, target_id=self.item_id, kind=self._kind())
        self._forget_locks()
        self.req.changed()
        return True

    def handle_copy(self, dest_path, *, depth_infinity):
        if not self.item:
            raise DAVError(HTTP_FORBIDDEN, "Copy the folders inside the top folder instead.")
        parent, name, existing = self._destination(dest_path)
        if existing is not None and existing.item_id == self.item_id:
            raise DAVError(HTTP_FORBIDDEN, "Cannot copy an item onto itself.")
        parent._write_access()
        self._clear_destination(existing)
        drive = self.req.services.drive
        with dav_errors():
            if self.is_collection and not depth_infinity:
                drive.create_folder(parent.owner_id, name, parent=parent.folder_arg, on_conflict="fail")
            elif parent.owner_id == self.owner_id:
                drive.copy(self.owner_id, str(self.item_id), self._kind(), parent=parent.folder_arg, name=name,
                           on_conflict="fail")
            else:  # into another drive (a share's owner's, or the user's own): stored and charged there
                drive.copy_across(self.owner_id, str(self.item_id), self._kind(), parent.owner_id,
                                  parent.folder_arg, name=name, on_conflict="fail")
                self.req.audit("copied_from_share" if self.shared else "copied_into_share", self.owner_id,
                               target_id=self.item_id, kind=self._kind())
        self.req.changed()
        return True


class FolderResource(_Resource, DAVCollection):
    """A folder, or (``item`` None) the top of the user's drive."""

    def __init__(self, path: str, environ: dict, item: dict | None, view: View):
        DAVCollection.__init__(self, path, environ)
        self.item = item
        self.view = view
        self._children: list[_Resource] | None = None

    @property
    def folder_arg(self) -> str | None:
        """How the drive's services name this folder (None: the root)."""
        return str(self.item["_id"]) if self.item else None

    def get_last_modified(self):
        return _timestamp(self.item["updated_at"]) if self.item else None

    def get_used_bytes(self):
        if self.shared:
            return None  # the owner's usage is theirs to know
        return self.req.usage()["used_bytes"]

    def get_available_bytes(self):
        if self.shared:
            return None
        usage = self.req.usage()
        quota = usage["quota_bytes"]
        return None if not quota else max(quota - usage["used_bytes"], 0)

    def get_member_list(self):
        if self._children is None:
            req = self.req
            children = req.services.drive.items.live_children(self.owner_id, self.item_id)
            md5s = req.services.drive.blobs.blobs.md5s(
                self.owner_id, [c["blob_id"] for c in children if c["type"] == FILE])
            self._children = []
            for child in children:
                path = util.join_uri(self.path, child["name"])
                req.items[_path_key(path)] = child
                self._children.append(self.provider.resource_for(path, self.environ, child, self.view,
                                                                 md5s.get(child.get("blob_id"), NO_MD5)))
        return self._children

    def get_member_names(self):
        return [member.name for member in self.get_member_list()]

    def get_member(self, name):
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def _checked_name(self, name: str) -> str:
        try:
            return validate_display_name(name)
        except InvalidInput as error:
            raise DAVError(HTTP_BAD_REQUEST, error.message) from None

    def create_empty_resource(self, name):
        name = self._checked_name(name)
        path = util.join_uri(self.path, name)
        self._write_access()
        if self.environ["REQUEST_METHOD"] == "PUT":  # made by end_write, once the body is all there
            return FileResource(path, self.environ, None, self, self.view)
        # LOCK on an unmapped URL (RFC 4918 section 7.3): an empty file, locked.
        req = self.req
        drive = req.services.drive
        with dav_errors():
            staged = drive.stager_for(self.owner_id)()
            try:
                item = drive.store_staged(self.owner_id, staged, name, folder_id=self.folder_arg, on_conflict="fail")
            finally:
                staged.discard()
        req.changed()
        return FileResource(path, self.environ, item, self, self.view)

    def create_collection(self, name):
        name = self._checked_name(name)
        self._write_access()
        try:
            with dav_errors():
                self.req.services.drive.create_folder(self.owner_id, name, parent=self.folder_arg,
                                                      on_conflict="fail")
        except DAVError as error:
            if isinstance(error.__cause__, AppError) and error.__cause__.code == ErrorCode.NAME_CONFLICT:
                # A parallel MKCOL made it first: as if it had been there (RFC 4918 9.3.1).
                raise DAVError(HTTP_METHOD_NOT_ALLOWED, "Something by that name is there already.") from None
            raise
        self.req.changed()


class _Body:
    """The writable stream wsgidav copies a PUT body into: staged as it arrives, refused with
    413 beyond MAX_CONTENT_LENGTH and 507 beyond the quota."""

    def __init__(self, staged, max_size: int | None):
        self.staged = staged
        self.max_size = max_size

    def write(self, data: bytes) -> int:
        if self.max_size is not None and self.staged.size + len(data) > self.max_size:
            raise DAVError(413, too_large_message(self.max_size))
        with dav_errors():
            return self.staged.write(data)

    def close(self) -> None:
        pass


class FileResource(_Resource, DAVNonCollection):
    """A file, or (``item`` None) the one a PUT is creating."""

    def __init__(self, path: str, environ: dict, item: dict | None, parent: FolderResource | None, view: View,
                 md5: str | None = None):
        DAVNonCollection.__init__(self, path, environ)
        self.item = item
        self.parent = parent
        self.view = view
        self.md5 = md5
        self._staged = None

    def get_content_length(self):
        return self.item["size"] if self.item else None

    def get_content_type(self):
        return self.item["content_type"] if self.item else None

    def get_etag(self):
        return self.item["sha256"] if self.item else None

    def get_last_modified(self):
        return _timestamp(modified_time(self.item)) if self.item else None

    def support_etag(self):
        return True

    def support_ranges(self):
        return True

    def support_content_length(self):
        return True

    def support_modified(self):
        return True

    def get_property_value(self, name):
        if name == "{DAV:}getetag" and self.item:
            return f'"{self.item["sha256"]}"'  # an entity tag, quoted as in the ETag header (RFC 4918 15.6)
        if name == CHECKSUMS and self.item:
            md5 = self._md5()
            element = etree.Element(name)
            etree.SubElement(element, "{%s}checksum" % OWNCLOUD_NS).text = " ".join(
                ([f"MD5:{md5}"] if md5 else []) + [f"SHA256:{self.item['sha256']}"])
            return element
        return super().get_property_value(name)

    def _md5(self) -> str | None:
        if self.md5 is None and self.item:
            self.md5 = self.req.services.drive.blobs.blobs.md5s(self.owner_id, [self.item["blob_id"]]).get(
                self.item["blob_id"], NO_MD5)
        return self.md5 or None

    def get_content(self):
        with dav_errors():
            return self.req.services.drive.download(self.item).open().file

    # -- PUT ----------------------------------------------------------------------------------------

    def _folder_arg(self) -> str | None:
        if self.parent is not None:
            return self.parent.folder_arg
        return str(self.item["parent_id"]) if self.item["parent_id"] else None

    def begin_write(self, *, content_type=None):
        req = self.req
        declared = self.environ.get("CONTENT_LENGTH")
        if declared and req.max_size is not None and declared.isdigit() and int(declared) > req.max_size:
            raise DAVError(413, too_large_message(req.max_size))
        mtime_of(self.environ)  # a malformed X-OC-Mtime is refused before the body is read
        if self.item:
            self._write_access()  # a new file's folder was asked in create_empty_resource
        with dav_errors():
            self._staged = req.services.drive.stager_for(self.owner_id)()  # 507 now when the quota is used up
        return _Body(self._staged, req.max_size)

    def end_write(self, *, with_errors):
        staged, self._staged = self._staged, None
        if staged is None:
            return
        req = self.req
        try:
            if with_errors:
                return
            declared = self.environ.get("CONTENT_LENGTH")
            if declared and declared.isdigit() and staged.size != int(declared):
                raise DAVError(HTTP_BAD_REQUEST, f"The body ended after {staged.size} of {declared} bytes.")
            mtime = mtime_of(self.environ)
            with dav_errors():
                self.item = req.services.drive.store_staged(
                    self.owner_id, staged, self.item["name"] if self.item else self.name,
                    self.environ.get("CONTENT_TYPE"), folder_id=self._folder_arg(), on_conflict="replace",
                    modified_at=mtime)
            self.md5 = None
            self.environ["drive.dav.mtime_accepted"] = mtime is not None
            req.audit("file_uploaded", self.owner_id, target_id=self.item["_id"], size=self.item["size"])
            req.changed()
        finally:
            staged.discard()  # safe after the commit; removes the bytes of a refused or cut-off body


def _path_key(path: str) -> str:
    return "/".join(name_key(segment) for segment in path.rstrip("/").split("/"))


class _VirtualCollection(DAVCollection):
    """A collection that is no item: nothing is written, moved or deleted in it."""

    refusal = "Nothing can be changed here."

    def get_member(self, name):
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def create_empty_resource(self, name):
        raise DAVError(HTTP_FORBIDDEN, self.refusal)

    def create_collection(self, name):
        raise DAVError(HTTP_FORBIDDEN, self.refusal)

    def handle_delete(self):
        raise DAVError(HTTP_FORBIDDEN, self.refusal)

    def handle_move(self, dest_path):
        raise DAVError(HTTP_FORBIDDEN, self.refusal)

    def handle_copy(self, dest_path, *, depth_infinity):
        raise DAVError(HTTP_FORBIDDEN, self.refusal)


class UsersRoot(_VirtualCollection):
    """``/dav/`` itself: the user's own drive and what others shared with them."""

    refusal = "Files and folders go inside your drive: /dav/<username>/."

    def get_member_names(self):
        return [request_of(self.environ).username, SHARED]

    def get_display_name(self):
        return "dav"


class SharesRoot(_VirtualCollection):
    """``/dav/Shared with me/``: one member per item shared with the user (the API's
    /api/shared-with-me), each reached and changed as its owner's grant allows."""

    refusal = "Shared items are added by their owners; work inside one of them."

    def get_member_names(self):
        return [share.name for share in request_of(self.environ).shares().values()]

    def get_display_name(self):
        return SHARED


class DriveProvider(DAVProvider):
    def __repr__(self) -> str:
        return "DriveProvider"

    def is_readonly(self):
        return False

    def resource_for(self, path: str, environ: dict, item: dict, view: View, md5: str | None = None):
        """The resource of an item; ``md5``: its content's MD5 when already looked up (NO_MD5:
        looked up, there is none yet), None to look it up if asked."""
        if item["type"] == FOLDER:
            return FolderResource(path, environ, item, view)
        return FileResource(path, environ, item, None, view, md5)

    def get_resource_inst(self, path: str | None, environ: dict):
        if path is None:  # the parent of the root (wsgidav asks)
            return None
        req = request_of(environ)
        segments = path.strip("/").split("/") if path.strip("/") else []
        if not segments:
            return UsersRoot("/", environ)
        first = name_key(segments[0])
        if first == SHARED_KEY:
            return self._shared(path, segments, environ, req)
        if first != name_key(req.username):
            return None  # another user's drive: not found, whether it exists or not
        view = View(req.user_id)
        if len(segments) == 1:
            return FolderResource("/" + segments[0], environ, None, view)
        item = self._resolved(req, path, view, None, segments[1:])
        return None if item is None else self.resource_for(path, environ, item, view)

    def _shared(self, path: str, segments: list[str], environ: dict, req: DavRequest):
        if len(segments) == 1:
            return SharesRoot("/" + segments[0], environ)
        share = req.shares().get(name_key(segments[1]))
        if share is None:
            return None
        view = View(share.owner_id, share)
        if len(segments) == 2:
            return self.resource_for(path, environ, share.item, view)
        if share.item["type"] != FOLDER:
            return None
        item = self._resolved(req, path, view, share.item, segments[2:])
        return None if item is None else self.resource_for(path, environ, item, view)

    @staticmethod
    def _resolved(req: DavRequest, path: str, view: View, within: dict | None, names: list[str]) -> dict | None:
        """The live item ``names`` lead to from ``within`` (None: the top of the drive), cached
        for the request; None when there is none."""
        key = _path_key(path)
        if key not in req.items:
            try:
                req.items[key] = req.services.drive.tree.resolve(view.owner_id, "/" + "/".join(names), within=within)
            except AppError as error:
                if error.code in (ErrorCode.INVALID_INPUT, ErrorCode.INVALID_NAME) or error.status == 404:
                    req.items[key] = None
                else:
                    raise DAVError(error.status, context_info=error.message) from error
        return req.items[key]

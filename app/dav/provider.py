"""The drive as a WebDAV resource tree (wsgidav's provider interface): each resource is one of
our items, read through the repositories and changed through the drive's services, never a
directory on disk.

Paths are ``/<username>/<names...>`` below the mount point (/dav). Names are resolved as the
API compares them (any case, NFC). What WebDAV methods do here:

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

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from wsgidav import util, xml_tools
from wsgidav.dav_error import HTTP_BAD_REQUEST, HTTP_CONFLICT, HTTP_FORBIDDEN, HTTP_METHOD_NOT_ALLOWED, DAVError
from wsgidav.dav_provider import DAVCollection, DAVNonCollection, DAVProvider
from wsgidav.util import etree

from ..auth.models import User
from ..drive.names import name_key, validate_display_name
from ..drive.repo import FILE, FOLDER
from ..drive.versions import modified_time
from ..errors import AppError, ErrorCode, InvalidInput, too_large_message
from ..audit.record import audit
from ..services import Services

OWNCLOUD_NS = "http://owncloud.org/ns"
CHECKSUMS = "{%s}checksums" % OWNCLOUD_NS
_PROTECTED = (CHECKSUMS,)
# Dead properties are metadata, not a second file store: bounded per item.
DEAD_PROPERTY_MAX = 16 * 1024
DEAD_PROPERTIES_MAX = 100
NO_MD5 = ""  # looked up: the content has no MD5 yet (stored before the drive kept them)


class DavRequest:
    """What one request knows: who it is for, and the items its paths resolved to."""

    def __init__(self, user: User, services: Services, max_size: int | None):
        self.user = user
        self.owner_id = user.id
        self.username = user.username
        self.services = services
        self.max_size = max_size
        self.items: dict[str, dict | None] = {}
        self._usage: dict | None = None

    def changed(self) -> None:
        self.items.clear()
        self._usage = None

    def audit(self, action: str, **fields) -> None:
        """An event of this WebDAV request (its user; marked as WebDAV)."""
        audit(action, actor_id=self.owner_id, owner_id=self.owner_id, via="webdav", **fields)

    def usage(self) -> dict:
        if self._usage is None:
            self._usage = self.services.search.usage(self.owner_id)
        return self._usage


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

    @property
    def req(self) -> DavRequest:
        return request_of(self.environ)

    @property
    def item_id(self):
        return self.item["_id"] if self.item else None

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
        if not self.req.services.drive.items.set_dead_property(self.req.owner_id, self.item_id,
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
        with dav_errors():
            self.req.services.trash.trash(self.req.owner_id, str(self.item_id), self._kind())
        self.req.audit("trashed", target_id=self.item_id, kind=self._kind())
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
            tree = self.req.services.drive.tree
            above_source = {a["_id"] for a in tree.ancestors(self.req.owner_id, self.item["parent_id"])}
            above_existing = {a["_id"] for a in tree.ancestors(self.req.owner_id, existing.item["parent_id"])}
            if existing.item_id in above_source or self.item_id in above_existing:
                raise DAVError(HTTP_CONFLICT, "The destination holds the source, or is inside it.")
            with dav_errors():
                self.req.services.trash.trash(self.req.owner_id, str(existing.item_id), existing._kind())
            existing._forget_locks()
        self.environ["drive.dav.created"] = existing is None

    def handle_move(self, dest_path):
        if not self.item:
            raise DAVError(HTTP_FORBIDDEN, "The top folder of a drive cannot be moved.")
        parent, name, existing = self._destination(dest_path)
        if existing is not None and existing.item_id == self.item_id:
            existing = None  # the same item under another case: a rename
            self.environ["drive.dav.created"] = False
        else:
            self._clear_destination(existing)
        with dav_errors():
            self.req.services.drive.update(self.req.owner_id, str(self.item_id), self._kind(), name=name,
                                           parent=parent.folder_arg, on_conflict="fail")
        self._forget_locks()
        self.req.changed()
        return True

    def handle_copy(self, dest_path, *, depth_infinity):
        if not self.item:
            raise DAVError(HTTP_FORBIDDEN, "Copy the folders inside the top folder instead.")
        parent, name, existing = self._destination(dest_path)
        if existing is not None and existing.item_id == self.item_id:
            raise DAVError(HTTP_FORBIDDEN, "Cannot copy an item onto itself.")
        self._clear_destination(existing)
        drive = self.req.services.drive
        with dav_errors():
            if self.is_collection and not depth_infinity:
                drive.create_folder(self.req.owner_id, name, parent=parent.folder_arg, on_conflict="fail")
            else:
                drive.copy(self.req.owner_id, str(self.item_id), self._kind(), parent=parent.folder_arg, name=name,
                           on_conflict="fail")
        self.req.changed()
        return True


class FolderResource(_Resource, DAVCollection):
    """A folder, or (``item`` None) the top of the user's drive."""

    def __init__(self, path: str, environ: dict, item: dict | None):
        DAVCollection.__init__(self, path, environ)
        self.item = item
        self._children: list[_Resource] | None = None

    @property
    def folder_arg(self) -> str | None:
        """How the drive's services name this folder (None: the root)."""
        return str(self.item["_id"]) if self.item else None

    def get_last_modified(self):
        return _timestamp(self.item["updated_at"]) if self.item else None

    def get_used_bytes(self):
        return self.req.usage()["used_bytes"]

    def get_available_bytes(self):
        usage = self.req.usage()
        quota = usage["quota_bytes"]
        return None if not quota else max(quota - usage["used_bytes"], 0)

    def get_member_list(self):
        if self._children is None:
            req = self.req
            children = req.services.drive.items.live_children(req.owner_id, self.item_id)
            md5s = req.services.drive.blobs.blobs.md5s(
                req.owner_id, [c["blob_id"] for c in children if c["type"] == FILE])
            self._children = []
            for child in children:
                path = util.join_uri(self.path, child["name"])
                req.items[_path_key(path)] = child
                self._children.append(self.provider.resource_for(path, self.environ, child,
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
        if self.environ["REQUEST_METHOD"] == "PUT":  # made by end_write, once the body is all there
            return FileResource(path, self.environ, None, self)
        # LOCK on an unmapped URL (RFC 4918 section 7.3): an empty file, locked.
        req = self.req
        drive = req.services.drive
        with dav_errors():
            staged = drive.stager_for(req.owner_id)()
            try:
                item = drive.store_staged(req.owner_id, staged, name, folder_id=self.folder_arg, on_conflict="fail")
            finally:
                staged.discard()
        req.changed()
        return FileResource(path, self.environ, item, self)

    def create_collection(self, name):
        name = self._checked_name(name)
        try:
            with dav_errors():
                self.req.services.drive.create_folder(self.req.owner_id, name, parent=self.folder_arg,
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

    def __init__(self, path: str, environ: dict, item: dict | None, parent: FolderResource | None,
                 md5: str | None = None):
        DAVNonCollection.__init__(self, path, environ)
        self.item = item
        self.parent = parent
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
            self.md5 = self.req.services.drive.blobs.blobs.md5s(self.req.owner_id, [self.item["blob_id"]]).get(
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
        with dav_errors():
            self._staged = req.services.drive.stager_for(req.owner_id)()  # 507 now when the quota is used up
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
                    req.owner_id, staged, self.item["name"] if self.item else self.name,
                    self.environ.get("CONTENT_TYPE"), folder_id=self._folder_arg(), on_conflict="replace",
                    modified_at=mtime)
            self.md5 = None
            self.environ["drive.dav.mtime_accepted"] = mtime is not None
            req.audit("file_uploaded", target_id=self.item["_id"], size=self.item["size"])
            req.changed()
        finally:
            staged.discard()  # safe after the commit; removes the bytes of a refused or cut-off body


def _path_key(path: str) -> str:
    return "/".join(name_key(segment) for segment in path.rstrip("/").split("/"))


class UsersRoot(DAVCollection):
    """``/dav/`` itself: a collection holding one member, the user's own drive."""

    def get_member_names(self):
        return [request_of(self.environ).username]

    def get_member(self, name):
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def get_display_name(self):
        return "dav"

    def create_empty_resource(self, name):
        raise DAVError(HTTP_FORBIDDEN, "Files go inside your drive: /dav/<username>/.")

    def create_collection(self, name):
        raise DAVError(HTTP_FORBIDDEN, "Folders go inside your drive: /dav/<username>/.")

    def handle_delete(self):
        raise DAVError(HTTP_FORBIDDEN)

    def handle_move(self, dest_path):
        raise DAVError(HTTP_FORBIDDEN)

    def handle_copy(self, dest_path, *, depth_infinity):
        raise DAVError(HTTP_FORBIDDEN)


class DriveProvider(DAVProvider):
    def __repr__(self) -> str:
        return "DriveProvider"

    def is_readonly(self):
        return False

    def resource_for(self, path: str, environ: dict, item: dict, md5: str | None = None):
        """The resource of an item; ``md5``: its content's MD5 when already looked up (NO_MD5:
        looked up, there is none yet), None to look it up if asked."""
        if item["type"] == FOLDER:
            return FolderResource(path, environ, item)
        return FileResource(path, environ, item, None, md5)

    def get_resource_inst(self, path: str | None, environ: dict):
        if path is None:  # the parent of the root (wsgidav asks)
            return None
        req = request_of(environ)
        segments = path.strip("/").split("/") if path.strip("/") else []
        if not segments:
            return UsersRoot("/", environ)
        if name_key(segments[0]) != name_key(req.username):
            return None  # another user's drive: not found, whether it exists or not
        home = "/" + segments[0]
        if len(segments) == 1:
            return FolderResource(home, environ, None)
        key = _path_key(path)
        if key not in req.items:
            try:
                req.items[key] = req.services.drive.tree.resolve(req.owner_id, "/" + "/".join(segments[1:]))
            except AppError as error:
                if error.code in (ErrorCode.INVALID_INPUT, ErrorCode.INVALID_NAME) or error.status == 404:
                    req.items[key] = None
                else:
                    raise DAVError(error.status, context_info=error.message) from error
        item = req.items[key]
        return None if item is None else self.resource_for(path, environ, item)


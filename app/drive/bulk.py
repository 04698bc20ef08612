"""Bulk operations (issue 18): one action on up to BULK_MAX_IDS files and folders in one
request, for the logged-in caller, with one result per id.

Each item goes through the very function its single route calls (app.drive.actions): the
same access rule, checks, service call and audit event, and the same error it would answer
with, as that item's ``error``. What the caller may not reach is ``item_not_found``, as for
an id that does not exist.

- Per item, not all or nothing: each item is changed whole or not at all (the services make
  each change atomic under its owner's tree lock); the others go on.
- In chunks (speed at 10,000 items): the caller's own items are done in chunks of up to
  CHUNK_ITEMS items or CHUNK_SECONDS, under one hold of the caller's tree lock (handed over
  between chunks to a request that waits for it, so that request waits for one chunk at most,
  never for the whole batch). For the actions that change records only (BATCHED: no bytes are
  released), a chunk's writes are one transaction where the store has them (SQLite: one
  commit instead of several per item; a crash leaves the chunk undone, never an item half
  done; a short pause after it lets other writers of the database in), and its audit events
  are recorded once it committed. Items in other people's drives (shared with the caller) are
  done one by one, each under its own owner's lock, as before: one request never holds two
  owners' locks.
- A repeated id is done once; each of its places in the answer carries that one result.
- ``move``, ``trash``, ``delete`` and ``restore`` carry what is inside a folder: they handle
  folders before what is inside them, and an item whose folder (or a folder above it) is in
  the same request and succeeded went along with it: ``ok`` with ``note: with_folder`` (a move
  leaves it inside its folder rather than taking it out). When that folder failed, the item is
  handled on its own. ``copy``, ``star`` and ``unstar`` take each id on its own, in order.
- Domain errors (404, 403, 409, 507...) are per item; anything else (the database gone) ends
  the request with its error, as on any route, after the items done so far (a BATCHED
  action's current chunk is undone then, with its audit events).
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from flask_login import current_user

from ..errors import AppError, NotFound
from ..ids import parse_object_id
from ..members.access import READ, access_to
from ..services import services
from . import actions
from .schemas import WITH_FOLDER

log = logging.getLogger(__name__)
CARRYING = ("move", "trash", "delete", "restore")
BATCHED = ("move", "trash", "restore", "star", "unstar")
CHUNK_ITEMS = 100
CHUNK_SECONDS = 0.05
PAUSE_SHARE = 0.2  # after a batched chunk, a pause of this share of its time (other writers' turn)


def _delete_for_good(item_id: str) -> dict:
    """A trashed item as ``DELETE /api/trash/<id>``, a live one as ``DELETE ...?permanent=true``."""
    try:
        actions.delete_trashed(item_id)
    except NotFound:
        actions.delete_item(item_id, None, permanent=True)
    return {}


def _per_item(action: str, body: dict) -> Callable[[str], dict]:
    """The action on one id, as the fields of its result beside ``ok``."""
    if action == "move":
        return lambda item_id: {"item": actions.update_item(item_id, None, body)}
    if action == "copy":
        return lambda item_id: {"item": actions.copy_item(item_id, None, body)}
    if action == "trash":
        return lambda item_id: actions.delete_item(item_id, None, permanent=False) or {}
    if action == "delete":
        return _delete_for_good
    if action == "restore":
        return actions.restore_item
    return lambda item_id: {"item": actions.set_star(item_id, None, action == "star")}


def _folders_above(item_ids: list[str], carrying: bool) -> tuple[dict[str, set[str]], set[str]]:
    """Which ids are the caller's own, and (``carrying``) the folders above each id the caller
    can reach: the caller's own items in a few queries; another's, through the access rule, up
    to the item shared with the caller."""
    parsed = {item_id: parse_object_id(item_id) for item_id in item_ids}
    own = services().drive.lineages(current_user.id, [oid for oid in parsed.values() if oid is not None])
    above: dict[str, set[str]] = {}
    for item_id, oid in parsed.items() if carrying else ():
        if oid in own:
            above[item_id] = {str(folder) for folder in own[oid]}
        elif oid is not None:
            try:
                above[item_id] = {str(folder["_id"]) for folder in access_to(item_id, None, READ, live=None).chain[1:]}
            except AppError:
                pass  # the item's own action answers for it
    return above, {item_id for item_id, oid in parsed.items() if oid in own}


def _failed(error: AppError) -> dict:
    return {"ok": False, "error": {"code": str(error.code), "message": error.message}}


def _one(do: Callable[[str], dict], item_id: str, carried: bool, moving: bool) -> dict:
    """One item's result; ``carried``: a folder above it succeeded in this request."""
    if carried and moving:  # it moved with its folder; moving it again would take it out
        return {"ok": True, "note": WITH_FOLDER}
    try:
        return {"ok": True, **{name: value for name, value in do(item_id).items() if value is not None}}
    except NotFound as error:  # trash, delete, restore: done already if its folder's action took it along
        return {"ok": True, "note": WITH_FOLDER} if carried else _failed(error)
    except AppError as error:
        return _failed(error)


class _Run:
    """One bulk request's items in their order, each done once (see the module docstring)."""

    def __init__(self, action: str, order: list[str], above: dict[str, set[str]], own: set[str], body: dict):
        self.action, self.order, self.above, self.own = action, order, above, own
        self.do = _per_item(action, body)
        self.done: dict[str, dict] = {}
        self.succeeded: set[str] = set()
        self.position = 0

    def all(self) -> dict[str, dict]:
        drive = services().drive
        while self.position < len(self.order):
            if self.order[self.position] not in self.own:
                self._next()  # another owner's: under that owner's lock, alone
                continue
            with drive.holding_tree(current_user.id):
                self._chunk()
                while self.position < len(self.order) and self.order[self.position] in self.own:
                    drive.between_changes(current_user.id)
                    self._chunk()
        return self.done

    def _next(self) -> None:
        item_id = self.order[self.position]
        self.done[item_id] = _one(self.do, item_id, carried=not self.above.get(item_id, set()).isdisjoint(
            self.succeeded), moving=self.action == "move")
        if self.done[item_id]["ok"]:
            self.succeeded.add(item_id)
        self.position += 1

    def _chunk(self) -> None:
        """The caller's own items from here, up to CHUNK_ITEMS or CHUNK_SECONDS."""
        started, end = time.monotonic(), self.position + CHUNK_ITEMS
        if self.action in BATCHED and services().drive.batches_writes:
            with services().audit.held(), services().drive.batch():  # events once committed
                self._own_items(started, end)
            time.sleep((time.monotonic() - started) * PAUSE_SHARE)
        else:
            self._own_items(started, end)

    def _own_items(self, started: float, end: int) -> None:
        while (self.position < min(end, len(self.order)) and self.order[self.position] in self.own
               and time.monotonic() - started < CHUNK_SECONDS):
            self._next()


def run(action: str, ids: list[str], body: dict) -> dict:
    """``{"results": [{"id", "ok", "item"?, "note"?, "error"?}...], "succeeded", "failed"}``,
    a result per id in the order given; ``body`` holds ``parent_id`` and ``on_conflict``."""
    unique = list(dict.fromkeys(ids))
    above, own = _folders_above(unique, action in CARRYING)
    order = sorted(unique, key=lambda item_id: len(above.get(item_id, ())))  # stable: folders first
    done = _Run(action, order, above, own, {name: body[name] for name in ("parent_id", "on_conflict")
                                             if name in body}).all()
    results = [{"id": item_id, **done[item_id]} for item_id in ids]
    succeeded = sum(result["ok"] for result in results)
    log.info("bulk action=%s user_id=%s items=%d succeeded=%d", action, current_user.id, len(unique), succeeded)
    return {"results": results, "succeeded": succeeded, "failed": len(results) - succeeded}

"""Deleting an account with everything it owns (issue 15): by the user (with their password)
or by an administrator, and ``flask delete-user`` to finish one that was interrupted.

Order matters, and every step can run again: the account is disabled first (nothing of it
answers from then on: sessions, tokens, WebDAV, share links), then its sessions, tokens, links
(with their resume allowances), unfinished uploads (staging and reservations), WebDAV locks, and
its files and folders go: everything is moved to the trash and the trash emptied, which is the
drive's own delete for good (versions, reference counts, then the bytes nothing else uses).
What is left over (a blob whose count a crash left high) is removed with its bytes, then the
usage counter, the thumbnails drawn of its files (this node's), and last the account record.
Interrupted, it is resumed by running it again; until the record is gone the account stays
disabled.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from ..dav.locks import path_key
from ..errors import ErrorCode, NotFound
from ..uploads.repo import ACTIVE, COMPLETED, COMPLETING

log = logging.getLogger(__name__)


@dataclass
class DeletionReport:
    sessions: int = 0
    tokens: int = 0
    links: int = 0
    uploads: int = 0
    items: int = 0
    leftover_blobs: int = 0

    def line(self) -> str:
        return (f"{self.items} item tree(s), {self.links} link(s), {self.tokens} token(s), {self.sessions} "
                f"session(s), {self.uploads} unfinished upload(s), {self.leftover_blobs} leftover blob(s)")


class AccountDeletion:
    def __init__(self, services):
        self.services = services

    def delete(self, user_id: str) -> DeletionReport:
        found = self.services
        users = found.auth.users
        user = users.get(user_id)
        if user is None:
            raise NotFound("No such user.", code=ErrorCode.USER_NOT_FOUND)
        report = DeletionReport()
        users.update(user_id, {"disabled": True})
        report.sessions = found.auth.sessions.delete_for_user(user_id)
        report.tokens = found.tokens.revoke_all(user_id)
        found.recovery.links.delete_for_user(user_id)  # reset and verification links
        report.links = found.shares.shares.delete_for_owner(user_id)
        found.members.grants.delete_for_user(user_id)  # what they shared with others, and others with them
        uploads = found.uploads.uploads
        for upload in uploads.for_owner(user_id, states=(ACTIVE, COMPLETING, COMPLETED)):
            if upload["state"] == COMPLETED:
                uploads.delete(upload["_id"])  # its file goes with the files below
                continue
            try:
                found.uploads.terminate(user_id, str(upload["_id"]))  # 423 while a request writes: run again
                report.uploads += 1
            except NotFound:
                pass  # finished or gone meanwhile
        for upload in uploads.into_drive(user_id):  # others' uploads into folders they shared
            if upload["state"] == COMPLETED:
                uploads.delete(upload["_id"])
                continue
            try:
                found.uploads.terminate(upload["owner_id"], str(upload["_id"]))  # 423 while written: run again
            except NotFound:
                pass
        home = path_key("/" + user["username"])
        for lock in found.dav_locks.at(home) + found.dav_locks.below(home):
            found.dav_locks.delete(lock["_id"])
        drive, trash = found.drive, found.trash
        for root in drive.items.live_children(user_id, None):
            trash.trash(user_id, str(root["_id"]), None)
        report.items = trash.empty(user_id)
        for blob in drive.blobs.blobs.of_owner(user_id):  # a count left high by a crash
            drive.blobs.storage.delete(user_id, blob["storage_key"])
            drive.blobs.blobs.delete(blob["_id"])
            report.leftover_blobs += 1
        drive.blobs.blobs.forget_owner(user_id)
        found.thumbnails.forget_owner(user_id)
        users.delete(user_id)
        log.info("account deleted user_id=%s %s", user_id, report.line())
        return report

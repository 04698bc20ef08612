"""The storage interface: stage bytes while hashing them, commit atomically, stream back."""
from __future__ import annotations

import abc
from typing import BinaryIO

from ..errors import AppError, QuotaExceeded


class StorageUnavailable(AppError):
    """The storage refused to work through something it does not trust (a symlink below the
    uploads folder): a server fault the client cannot fix and a retry will not cure."""

    status, code = 500, "storage_unavailable"


class UploadBudget:
    """Bytes a request may still write before the user's quota is exceeded (None = unlimited)."""

    def __init__(self, remaining: int | None, refusal: QuotaExceeded | None = None):
        self.remaining = remaining
        self.refusal = refusal or QuotaExceeded("This upload would exceed your storage quota.")

    def spend(self, nbytes: int) -> None:
        if self.remaining is None:
            return
        self.remaining -= nbytes
        if self.remaining < 0:
            raise self.refusal


class StagedBlob(abc.ABC):
    """A file being received: written once, hashed on the way, invisible until committed."""

    size: int
    sha256: str

    @abc.abstractmethod
    def write(self, data: bytes) -> int: ...

    @abc.abstractmethod
    def seek(self, offset: int, whence: int = 0) -> int: ...

    @abc.abstractmethod
    def discard(self) -> None:
        """Remove the staged bytes (safe to call twice, and after commit)."""


class BlobStorage(abc.ABC):
    @abc.abstractmethod
    def stage(self, user_id: str | None, budget: UploadBudget) -> StagedBlob:
        """Start receiving bytes into a temporary location: the user's, or a shared one when
        the user is not known yet (a form that names its API key in the body)."""

    @abc.abstractmethod
    def commit(self, staged: StagedBlob, user_id: str) -> str:
        """Make staged bytes durable as ``user_id``'s, under a new server-generated key."""

    @abc.abstractmethod
    def delete(self, user_id: str, key: str) -> None:
        """Remove a committed blob; a missing blob is not an error."""

    @abc.abstractmethod
    def path_for(self, user_id: str, key: str) -> str:
        """Local path of a committed blob, for zero-copy streaming (raises FileNotFoundError).
        Serve it through :meth:`open_path`, never by opening the path directly."""

    @abc.abstractmethod
    def open_path(self, path: str) -> BinaryIO:
        """Open a path :meth:`path_for` returned, checked again as it is opened."""

    @abc.abstractmethod
    def open(self, user_id: str, key: str) -> BinaryIO:
        """Open a committed blob for reading."""

"""Where file bytes live. Services talk to :class:`BlobStorage`; nothing else opens user files.

The backend is chosen by ``STORAGE_BACKEND`` from :data:`BACKENDS` (CTFd's ``UPLOADERS``):
a backend is a :class:`BlobStorage` subclass registered here under its ``name``.
"""
from __future__ import annotations

from typing import Mapping

from config import ConfigError

from .base import (Anomaly, BlobStorage, ByteStream, LocalFile, OpenedBlob, SignedRedirect, StagedBlob,
                   StorageUnavailable, StoredEntry, UploadBudget)
from .encrypted import EncryptedBlobStorage, data_key_store_for
from .local import LocalBlobStorage
from .s3 import S3BlobStorage

BACKENDS: dict[str, type[BlobStorage]] = {backend.name: backend for backend in (LocalBlobStorage, S3BlobStorage)}


def storage_from_config(config: Mapping) -> BlobStorage:
    """The backend ``STORAGE_BACKEND`` names, built from the configuration; sealed by
    :class:`EncryptedBlobStorage` when ``ENCRYPTION_KEY`` is set."""
    name = config.get("STORAGE_BACKEND", "local")
    try:
        backend = BACKENDS[name]
    except KeyError:
        raise ConfigError(f"STORAGE_BACKEND must be one of {sorted(BACKENDS)}, got {name!r}") from None
    storage = backend.from_config(config)
    master_key = config.get("ENCRYPTION_KEY")
    if not master_key:
        return storage
    try:
        keys = data_key_store_for(storage)
    except NotImplementedError as exc:
        raise ConfigError(f"ENCRYPTION_KEY: {exc} yet") from None
    return EncryptedBlobStorage(storage, keys, master_key, config.get("ENCRYPTION_SERVE_PLAINTEXT", True))


__all__ = ["BACKENDS", "Anomaly", "BlobStorage", "ByteStream", "LocalBlobStorage", "LocalFile", "OpenedBlob",
           "SignedRedirect", "StagedBlob", "StorageUnavailable", "StoredEntry", "UploadBudget", "storage_from_config"]

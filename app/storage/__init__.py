"""Where file bytes live. Services talk to :class:`BlobStorage`; nothing else opens user files."""
from __future__ import annotations

from .base import BlobStorage, StagedBlob, UploadBudget
from .local import LocalBlobStorage

__all__ = ["BlobStorage", "StagedBlob", "UploadBudget", "LocalBlobStorage"]

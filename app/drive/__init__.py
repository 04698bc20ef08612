"""The drive: files and folders as one tree of items, blobs shared by content, versions, trash."""

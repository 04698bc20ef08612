"""Sharing with other users of the server (issue 16): grants on a file or folder, the one access
rule every item route goes through, and the recipient's "Shared with me"."""

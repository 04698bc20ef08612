"""Cloud Drive's command-line client (``clouddrive``), installable on its own."""
from __future__ import annotations

import os


def _version() -> str:
    """The project's one version number, kept in the VERSION file beside this module (the
    server's /api/status reads the same file)."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "VERSION"), encoding="ascii") as fh:
        return fh.read().strip()


__version__ = _version()

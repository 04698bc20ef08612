"""The version /api/status reports. Its one source is ``cli/clouddrive/VERSION``, shipped with
the command-line client (installed on its own) and read here, so ``clouddrive --version``
and the server always agree."""
from __future__ import annotations

import os
from importlib import metadata

_VERSION_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cli", "clouddrive", "VERSION")


def _version() -> str:
    try:
        with open(_VERSION_FILE, encoding="ascii") as fh:
            return fh.read().strip()
    except FileNotFoundError:  # installed from a wheel (pip install .), where the checkout is gone
        return metadata.version("clouddrive-server")


__version__ = _version()

"""The installed server's commands (pyproject.toml's scripts), usable from any directory:
``clouddrive-server [gunicorn options]`` runs Gunicorn with the drive's settings (as
``gunicorn -c gunicorn.conf.py wsgi:app`` does in a checkout), and ``clouddrive-admin COMMAND``
runs a maintenance command (``flask --app wsgi COMMAND``: create-admin, backup, restore,
repair, purge-trash, ...). Both read the same environment variables as the service."""
from __future__ import annotations

import os
import sys


def serve() -> None:
    from gunicorn.app.wsgiapp import run
    sys.argv = [sys.argv[0], "-c", "python:gunicorn_conf", *sys.argv[1:], "wsgi:app"]
    run()


def admin() -> None:
    from flask.cli import main
    os.environ["FLASK_APP"] = "wsgi"
    main()

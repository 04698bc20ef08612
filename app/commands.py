"""Maintenance commands, run outside Gunicorn (cron, systemd timers):
``flask --app wsgi purge-trash``."""
from __future__ import annotations

import click
from flask import Flask

from .services import services


def register_commands(app: Flask) -> None:
    @app.cli.command("purge-trash")
    def purge_trash() -> None:
        """Delete for good what has been in the trash longer than TRASH_RETENTION_DAYS."""
        removed = services().trash.purge_expired()
        click.echo(f"purged {removed} trashed item(s) older than {app.config['TRASH_RETENTION_DAYS']} days")

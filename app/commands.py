"""Maintenance commands, run outside Gunicorn (cron, systemd timers):
``flask --app wsgi purge-trash``, ``flask --app wsgi repair [--fix] [--verify]``."""
from __future__ import annotations

import sys

import click
from flask import Flask
from pymongo.errors import ConnectionFailure

from .services import embedded_path, services


def register_commands(app: Flask) -> None:
    @app.cli.command("migrate-store")
    @click.option("--again", is_flag=True, help="Copy again what is missing even if a migration finished.")
    def migrate_store(again: bool) -> None:
        """Copy an embedded store of earlier versions (litemongo) into the SQLite engine. The
        service does this by itself at start-up; this shows what was copied."""
        from .db import get_db
        from .migrate_store import migrate
        database = get_db()
        if database.kind != "sqlite":
            raise click.ClickException("migrate-store copies into the SQLite engine: leave MONGO_URI unset")
        for line in migrate(database, embedded_path(app), app.config["MONGO_DB_NAME"], force=again).lines():
            click.echo(line)

    @app.cli.command("purge-trash")
    def purge_trash() -> None:
        """Delete for good what has been in the trash longer than TRASH_RETENTION_DAYS."""
        removed = services().trash.purge_expired()
        click.echo(f"purged {removed} trashed item(s) older than {app.config['TRASH_RETENTION_DAYS']} days")

    @app.cli.command("repair")
    @click.option("--fix", is_flag=True, help="Repair what is found (stop the service first).")
    @click.option("--verify", is_flag=True, help="Hash every stored byte against its record (reads everything).")
    def repair(fix: bool, verify: bool) -> None:
        """Find bytes without a record, records without bytes and wrong reference counts.
        Exit status 0 when clean (after --fix: when everything was fixed), 1 otherwise."""
        service = services().repair
        try:
            report = service.scan(verify=verify)
            for line in report.lines():
                click.echo(line)
            if fix and not report.clean:
                click.echo("fixing:")
                for line in service.fix(report):
                    click.echo(f"  {line}")
                report = service.scan(verify=verify)
                click.echo("after repair: " + ("clean" if report.clean else f"{report.problems} problem(s) left"))
                if not report.clean:
                    for line in report.lines():
                        click.echo(f"  {line}")
        except ConnectionFailure as exc:
            raise click.ClickException(f"the database cannot be reached ({type(exc).__name__})") from None
        if not report.clean:
            if not fix:
                click.echo("run again with --fix to repair (stop the service first)")
            sys.exit(1)

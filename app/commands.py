"""Maintenance commands, run outside Gunicorn (cron, systemd timers):
``flask --app wsgi purge-trash``, ``flask --app wsgi repair [--fix] [--verify]``."""
from __future__ import annotations

import os
import sys

import click
from flask import Flask
from pymongo.errors import ConnectionFailure

from .errors import AppError
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
        """Delete for good what has been in the trash longer than TRASH_RETENTION_DAYS,
        resumable uploads left unfinished longer than TUS_EXPIRY_HOURS, audit events older
        than AUDIT_RETENTION_DAYS, and this node's thumbnails of content no longer stored."""
        removed = services().trash.purge_expired()
        click.echo(f"purged {removed} trashed item(s) older than {app.config['TRASH_RETENTION_DAYS']} days")
        expired = services().uploads.sweep_expired()
        click.echo(f"removed {expired} unfinished upload(s) idle longer than {app.config['TUS_EXPIRY_HOURS']} hours")
        events = services().audit.purge(app.config["AUDIT_RETENTION_DAYS"])
        click.echo(f"removed {events} audit event(s) older than {app.config['AUDIT_RETENTION_DAYS']} days")
        thumbnails = services().thumbnails.purge_orphans(services().drive.blobs.content_hashes)
        click.echo(f"removed {thumbnails} thumbnail(s) of content no longer stored")

    @app.cli.command("rotate-key")
    @click.option("--new-key-file", required=True, type=click.Path(exists=True, dir_okay=False),
                  help="The new master key (32 bytes: hex, base64 or raw).")
    @click.option("--old-key-file", type=click.Path(exists=True, dir_okay=False),
                  help="The master key the data keys are wrapped with now (default: ENCRYPTION_KEY).")
    def rotate_key(new_key_file: str, old_key_file: str | None) -> None:
        """Rewrap every user's data key with a new master key; content is not touched. Stop the
        service first; then start it with ENCRYPTION_KEY set to the new key. Safe to run again."""
        from config import ConfigError, read_key_file
        from .storage.encrypted import EncryptedBlobStorage, WrongMasterKey
        storage = _encrypted_storage()
        try:
            old_key = read_key_file(old_key_file, "--old-key-file") if old_key_file else None
            new_key = read_key_file(new_key_file, "--new-key-file")
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        if old_key is not None:
            storage = EncryptedBlobStorage(storage.inner, storage.keys, old_key)
        counts = {"rewrapped": 0, "already": 0}
        try:
            for user_id, outcome in storage.rotate(new_key):
                counts[outcome] += 1
                click.echo(f"user {user_id}: {outcome}")
        except WrongMasterKey as exc:
            raise click.ClickException(f"{exc}; nothing more was changed (run again with the right --old-key-file)")
        click.echo(f"{counts['rewrapped']} data key(s) rewrapped, {counts['already']} already under the new key; "
                   "now set ENCRYPTION_KEY to the new key and start the service")

    @app.cli.command("encrypt-existing")
    def encrypt_existing() -> None:
        """Seal content stored in plaintext before encryption was turned on (stop the service
        first; resumable). Afterwards set ENCRYPTION_SERVE_PLAINTEXT=false."""
        from .storage.encrypted import seal_existing_blobs
        storage = _encrypted_storage()
        sealed = 0
        for line in seal_existing_blobs(storage, services().repair.blobs):
            sealed += line.endswith(": sealed")
            click.echo(line)
        click.echo(f"{sealed} blob(s) sealed; everything stored is now encrypted unless listed above")

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
    def create_admin(username: str, password_stdin: bool) -> None:
        """Make USERNAME an administrator: create the account (asks for its password, or reads
        it with --password-stdin), or promote an existing one (a password given replaces its own;
        an empty answer keeps it)."""
        admin = services().admin
        exists = admin.users.get_by_username(username) is not None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            prompt = "New password (empty: keep the current one)" if exists else "Password"
            password = click.prompt(prompt, hide_input=True, confirmation_prompt=True, default="" if exists else None,
                                    show_default=False)
        try:
            user, created = admin.make_admin(username, password or None)
        except AppError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"{'created' if created else 'promoted'} administrator {user['username']}")

    @app.cli.command("delete-user")
    @click.argument("username")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def delete_user(username: str, yes: bool) -> None:
        """Delete USERNAME with everything it owns (files and their bytes, links, tokens,
        sessions, uploads), or finish a deletion that was interrupted. No undo."""
        found = services()
        user = found.auth.users.get_by_username(username)
        if user is None:
            raise click.ClickException(f"no user {username}")
        if not yes:
            click.confirm(f"Delete {user['username']} and all their files for good?", abort=True)
        report = found.deletion.delete(str(user["_id"]))
        click.echo(f"deleted {user['username']}: {report.line()}")

    @app.cli.command("fill-digests")
    def fill_digests() -> None:
        """Compute the MD5 of content stored before the drive kept one (WebDAV clients such as
        rclone compare it). Safe while the service runs; resumable: run it again after a stop."""
        filled = missing = 0
        for blob, md5 in services().drive.blobs.fill_md5():
            if md5 is None:
                missing += 1
                click.echo(f"blob {blob['_id']} of user {blob['owner_id']}: bytes missing or damaged (see repair)")
            else:
                filled += 1
        click.echo(f"{filled} blob(s) given an MD5; {missing} could not be read")

    @app.cli.command("backup")
    @click.argument("dest", type=click.Path(file_okay=False))
    def backup_command(dest: str) -> None:
        """Copy the installation (database, stored bytes, audit files) into DEST while the
        service runs; run it again to resume, or later to copy only what is new."""
        from .backup import BackupError, backup
        from .db import get_db
        if get_db().kind != "sqlite" or app.config["STORAGE_BACKEND"] != "local":
            raise click.ClickException("flask backup copies the embedded database and local storage; with MongoDB "
                                       "or S3 use their own tools (README, \"Backups\")")
        try:
            manifest = backup(get_db().path, app.config["UPLOAD_FOLDER"], os.path.join(app.instance_path, "audit"),
                              dest, app.config.get("ENCRYPTION_KEY"), click.echo)
        except BackupError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"backup done: {manifest['blobs']} blobs ({manifest['bytes'] / 2**20:.1f} MiB, "
                   f"{manifest['copied']} copied now), {manifest['audit_files']} audit file(s)")
        if manifest["missing"]:
            click.echo(f"{len(manifest['missing'])} blob(s) deleted while the backup ran are not in it "
                       "(their records are dropped on restore)")

    @app.cli.command("restore")
    @click.argument("src", type=click.Path(exists=True, file_okay=False))
    def restore_command(src: str) -> None:
        """Restore a backup made by `flask backup` into this empty installation (stop the
        service first); run it again to resume."""
        from .backup import BackupError, restore
        from .db import close_database, get_db
        database = get_db()
        if database.kind != "sqlite" or app.config["STORAGE_BACKEND"] != "local":
            raise click.ClickException("flask restore restores into the embedded database and local storage")
        found = services()

        def is_empty() -> bool:
            return not found.auth.users.page(None, 1, 1)[1] and not found.repair.blobs.all_records()
        path = database.path
        try:
            empty = is_empty()
            close_database(app)
            manifest = restore(src, path, app.config["UPLOAD_FOLDER"], os.path.join(app.instance_path, "audit"),
                               app.config.get("ENCRYPTION_KEY"), lambda: empty, click.echo)
        except BackupError as error:
            raise click.ClickException(str(error)) from None
        from . import create_app
        restored = create_app(dict(app.config))  # opens the restored database (and migrates it if it is older)
        with restored.app_context():
            repair = services().repair
            report = repair.scan()
            if not report.clean:
                for line in repair.fix(report):
                    click.echo(f"repair: {line}")
            left = repair.scan()
        close_database(restored)
        os.remove(manifest["marker"])
        click.echo(f"restore done: {manifest['restored_blobs']} blobs, backup of {manifest['started_at']}"
                   + ("" if left.clean else f"; repair still reports {left.problems} problem(s): run flask repair"))

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


def _encrypted_storage():
    """The app's storage, which must be encrypted (ENCRYPTION_KEY set) for the key commands."""
    from .storage.encrypted import EncryptedBlobStorage
    storage = services().storage
    if not isinstance(storage, EncryptedBlobStorage):
        raise click.ClickException("encryption is off: set ENCRYPTION_KEY (or ENCRYPTION_KEY_FILE) first")
    return storage

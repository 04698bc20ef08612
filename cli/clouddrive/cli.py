"""``clouddrive``: the drive from a terminal, for people who script.

    clouddrive login --server http://127.0.0.1:8000 --username john
    clouddrive ls /Documents
    clouddrive upload big.iso --to /Backups     # resumable above 8 MiB: run it again after a cut
    clouddrive upload -r Photos --to /          # a whole tree
    clouddrive download /Backups/big.iso        # resumes an interrupted download
    clouddrive mkdir -p /Photos/2026
    clouddrive mv /notes.txt /Documents/notes-old.txt
    clouddrive rm /Documents/notes-old.txt
    clouddrive share /Photos --expires-in 48 --max-downloads 10

It talks to the JSON API only, with a personal access token (``login`` with a username
creates one and keeps it in the config file, mode 0600). ``CLOUDDRIVE_SERVER`` and
``CLOUDDRIVE_TOKEN`` override the config file. It imports nothing from the server: its only
dependencies are requests and tqdm.
"""
from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import json
import os
import socket
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Iterator

import requests
from tqdm import tqdm

from . import __version__

CHUNK = 1024 * 1024
TIMEOUT = (10, 300)
RESUMABLE_ABOVE = 8 * 1024 * 1024  # larger files go through tus (resumable), in chunks of
TUS_CHUNK = 8 * 1024 * 1024        # this size, each checked by SHA-256 on the server
RETRIES = (1, 2, 4, 8, 15)         # seconds between attempts after a network error or a 5xx


class CliError(Exception):
    """A failure to report in one line, without a traceback."""


def config_path() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "clouddrive", "cli.json")


def load_config(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            config = json.load(fh)
    except FileNotFoundError:
        config = {}
    if os.environ.get("CLOUDDRIVE_SERVER"):
        config["server"] = os.environ["CLOUDDRIVE_SERVER"]
    if os.environ.get("CLOUDDRIVE_TOKEN"):
        config["token"] = os.environ["CLOUDDRIVE_TOKEN"]
    return config


def save_config(path: str, config: dict) -> None:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(config, fh, indent=2)
    os.replace(path + ".tmp", path)


class Api:
    """The HTTP side: every non-2xx answer becomes a CliError with the server's message."""

    def __init__(self, server: str, token: str | None = None):
        self.server = server.rstrip("/")
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, expect=(200, 201, 204), **kwargs) -> requests.Response:
        try:
            response = self.http.request(method, self.server + path, timeout=TIMEOUT, **kwargs)
        except requests.ConnectionError:
            raise CliError(f"cannot reach the server at {self.server}") from None
        except requests.Timeout:
            raise CliError("the server did not answer in time") from None
        if response.status_code not in expect:
            raise CliError(_describe(response))
        return response

    def json(self, method: str, path: str, **kwargs):
        response = self.call(method, path, **kwargs)
        return response.json() if response.content else None

    # -- paths -------------------------------------------------------------------------------

    def child(self, folder_id: str, name: str) -> dict | None:
        found = self.json("GET", f"/api/folders/{folder_id}/children", params={"name": name, "limit": 1})
        return found["items"][0] if found["items"] else None

    def resolve(self, path: str) -> dict:
        """The item at ``/a/b/c``; the root is ``{"id": "root", "type": "folder"}``."""
        item = {"id": "root", "type": "folder", "name": ""}
        for part in _parts(path):
            if item["type"] != "folder":
                raise CliError(f"{path}: '{item['name']}' is not a folder")
            found = self.child(item["id"], part)
            if found is None:
                raise CliError(f"{path}: no such file or folder")
            item = found
        return item

    def folder(self, path: str, create: bool = False) -> str:
        """The id of the folder at ``path``, made (with its parents) when ``create``."""
        folder_id = "root"
        for part in _parts(path):
            found = self.child(folder_id, part)
            if found is None and create:
                found = self.json("POST", "/api/folders", json={"name": part, "parent_id": folder_id})
            if found is None or found["type"] != "folder":
                raise CliError(f"{path}: no such folder")
            folder_id = found["id"]
        return folder_id


def _parts(path: str) -> list[str]:
    return [p for p in path.strip().split("/") if p not in ("", ".")]


def _describe(response: requests.Response) -> str:
    try:
        error = response.json()["error"]
        return f"{error['message']} ({error['code']}, HTTP {response.status_code})"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code} from the server"


class MultipartFile:
    """A multipart body read from disk as it is sent, with a known length (no chunked encoding)."""

    def __init__(self, path: str, name: str, progress: tqdm):
        self.path = path
        self.boundary = uuid.uuid4().hex
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        self.head = (f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{quoted}\"\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n").encode("utf-8")
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.size = os.path.getsize(path)
        self.progress = progress

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        with open(self.path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                self.progress.update(len(chunk))
                yield chunk
        yield self.tail


# -- commands --------------------------------------------------------------------------------------

def cmd_login(args, config: dict, path: str) -> None:
    server = (args.server or config.get("server") or "").rstrip("/")
    if not server:
        raise CliError("give the server: login --server http://host:8000")
    if args.token:
        token = args.token
    else:
        username = args.username or input("username: ")
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
        session = Api(server)
        session.json("POST", "/api/login", json={"username": username, "password": password})
        made = session.json("POST", "/api/tokens", json={"name": f"cli on {socket.gethostname()}",
                                                          "scope": "read-write"})
        session.call("POST", "/api/logout")
        token = made["secret"]
    me = Api(server, token).json("GET", "/api/me")
    save_config(path, {"server": server, "token": token})
    print(f"logged in to {server} as {me['username']}")


def cmd_logout(args, config: dict, path: str) -> None:
    if os.path.exists(path):
        os.unlink(path)
    print("logged out (the token stays valid until revoked in the web app or with DELETE /api/tokens/<id>)")


def cmd_whoami(api: Api, args) -> None:
    me = api.json("GET", "/api/me")
    print(f"{me['username']}: {_human(me['used_bytes'])} used of "
          f"{_human(me['quota_bytes']) if me['quota_bytes'] else 'unlimited'}, {me['file_count']} files")


def cmd_ls(api: Api, args) -> None:
    item = api.resolve(args.path)
    if item["type"] == "file":
        print(_line(item))
        return
    page = 1
    while True:
        listing = api.json("GET", f"/api/folders/{item['id']}/children", params={"page": page, "limit": 200})
        for child in listing["items"]:
            print(_line(child))
        if page >= listing["pages"]:
            break
        page += 1


def _upload_plan(args) -> list[tuple[str, str]]:
    """(local file, remote folder path) for every file to send; with ``-r`` a directory
    stands for its whole tree, placed under ``--to/<its name>``."""
    plan = []
    for local in args.files:
        if os.path.isdir(local):
            if not args.recursive:
                raise CliError(f"{local}: is a directory (use -r to upload a tree)")
            top = os.path.basename(os.path.normpath(os.path.abspath(local)))
            for here, dirs, files in os.walk(local):
                dirs.sort()
                rel = os.path.relpath(here, local)
                remote = "/".join([args.to.rstrip("/"), top] + ([] if rel == "." else rel.split(os.sep)))
                plan.append((None, remote))  # the folder itself, also when it is empty
                plan += [(os.path.join(here, f), remote) for f in sorted(files)
                         if os.path.isfile(os.path.join(here, f))]
        elif os.path.isfile(local):
            plan.append((local, args.to))
        else:
            raise CliError(f"{local}: not a file")
    return plan


def cmd_upload(api: Api, args) -> None:
    folders: dict[str, str] = {}
    for local, remote in _upload_plan(args):
        if remote not in folders:
            folders[remote] = api.folder(remote, create=True)
        if local is None:
            continue
        name = os.path.basename(local)
        size = os.path.getsize(local)
        resumed = 0
        with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=name,
                  disable=args.quiet or None) as progress:
            stored = None
            if size > RESUMABLE_ABOVE:
                try:
                    stored, resumed = _tus_upload(api, args, local, name, folders[remote], progress)
                except ResumableUnavailable:  # e.g. encryption at rest: one request instead
                    progress.reset()
            if stored is None:
                body = MultipartFile(local, name, progress)
                result = api.json("POST", "/api/upload", data=body, headers={"Content-Type": body.content_type},
                                  params={"folder_id": folders[remote], "on_conflict": args.on_conflict,
                                          "last_modified": _millis(local)})
                stored = result["files"][0]
        print(f"uploaded {local} → {remote.rstrip('/')}/{stored['name']} ({_human(stored['size'])}, "
              f"sha256 {stored['sha256'][:12]}…)" + (f" (resumed at {_human(resumed)})" if resumed else ""))


def _millis(local: str) -> str:
    return str(int(os.path.getmtime(local) * 1000))


# -- resumable uploads (tus 1.0) ---------------------------------------------------------------

TUS = {"Tus-Resumable": "1.0.0"}
RETRIED = (423, 500, 502, 503, 504)  # a cut-off request's lease, a failing or restarting server


class ResumableUnavailable(Exception):
    """The server's storage cannot resume uploads (501 resumable_unavailable)."""


class UploadState:
    """Where each unfinished resumable upload is, in ``uploads.json`` beside the config file:
    running the same upload again (same file, size, modification time, server and target)
    continues it instead of starting over."""

    def __init__(self, path: str):
        self.path = path

    def _load(self) -> dict:
        try:
            with open(self.path, encoding="utf-8") as fh:
                return json.load(fh)
        except (FileNotFoundError, ValueError):
            return {}

    def get(self, key: str) -> str | None:
        return self._load().get(key)

    def put(self, key: str, url: str | None) -> None:
        state = self._load()
        if url is None:
            state.pop(key, None)
        else:
            state[key] = url
        save_config(self.path, state)


def _metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode('utf-8')).decode()}" for k, v in values.items())


def _tus_upload(api: Api, args, local: str, name: str, folder_id: str, progress) -> tuple[dict, int]:
    """Send ``local`` through /api/tus/, resuming a previous run's upload of the same file;
    network errors and 5xx answers are retried (with back-off) from the server's offset."""
    stat = os.stat(local)
    key = "|".join([api.server, os.path.abspath(local), str(stat.st_size), str(stat.st_mtime_ns), folder_id, name,
                    args.on_conflict])
    state = UploadState(args.uploads_state)
    url, offset, file_id = state.get(key), None, None
    if url:
        head = _tus_call(api, "HEAD", url, expect=(200, 404, 410), headers=TUS)
        if head.status_code == 200:
            offset = int(head.headers["Upload-Offset"])
            file_id = head.headers.get("Upload-File-Id")  # it finished, but this run did not hear it
    resumed = offset or 0
    if offset is None:
        created = _tus_call(api, "POST", "/api/tus/", expect=(201, 501), headers={
            **TUS, "Upload-Length": str(stat.st_size),
            "Upload-Metadata": _metadata(filename=name, folder_id=folder_id, on_conflict=args.on_conflict,
                                         lastModified=_millis(local))})
        if created.status_code == 501:
            raise ResumableUnavailable()
        url, offset = created.headers["Location"], 0
        state.put(key, url)
    progress.update(offset)
    stalled = 0
    with open(local, "rb") as fh:
        while file_id is None:
            fh.seek(offset)
            chunk = fh.read(TUS_CHUNK)
            digest = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
            answer = _tus_call(api, "PATCH", url, expect=(204, 409), data=chunk, headers={
                **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream",
                "Upload-Checksum": f"sha256 {digest}"})
            if answer.status_code == 409:
                if _code(answer) != "offset_mismatch":  # e.g. name_conflict at the last byte
                    state.put(key, None)
                    raise CliError(_describe(answer))
                # the server is elsewhere (an earlier attempt landed): ask where
                answer = _tus_call(api, "HEAD", url, expect=(200,), headers=TUS)
            new_offset = int(answer.headers["Upload-Offset"])
            file_id = answer.headers.get("Upload-File-Id")
            stalled = stalled + 1 if new_offset == offset and file_id is None else 0
            if stalled > len(RETRIES):
                raise CliError("the upload makes no progress; run the same command again later to resume it")
            if stalled:
                time.sleep(RETRIES[stalled - 1])
            progress.update(new_offset - offset)
            offset = new_offset
    state.put(key, None)
    stored = api.json("GET", f"/api/files/{file_id}/info")
    if stored["sha256"] != _sha256_of(local):  # e.g. resumed after the file changed in place
        raise CliError(f"{local}: the stored file's SHA-256 differs from the local file's (did it change "
                       f"while uploading?); upload it again with --on-conflict replace")
    return stored, resumed


def _code(response: requests.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def _sha256_of(local: str) -> str:
    digest = hashlib.sha256()
    with open(local, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _tus_call(api: Api, method: str, path: str, expect, **kwargs) -> requests.Response:
    """One tus request; a lost connection, a 5xx or a 423 (an earlier, cut-off request still
    holds the upload) is tried again after a pause (a PATCH is answered 409 then if its bytes
    did land, and the caller asks where the upload is)."""
    for pause in (*RETRIES, None):
        try:
            response = api.http.request(method, path if path.startswith("http") else api.server + path,
                                        timeout=TIMEOUT, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            response = None
        if response is not None and response.status_code in expect:
            return response
        if response is not None and response.status_code not in RETRIED:
            raise CliError(_describe(response))
        if pause is None:
            raise CliError("the upload was interrupted (the server cannot be reached); run the same command "
                           "again to resume it")
        time.sleep(pause)
    raise AssertionError("unreachable")


def cmd_download(api: Api, args) -> None:
    item = api.resolve(args.path)
    if item["type"] != "file":
        raise CliError(f"{args.path}: is a folder")
    target = args.local or item["name"]
    if os.path.isdir(target):
        target = os.path.join(target, item["name"])
    if os.path.lexists(target) and not args.force:
        raise CliError(f"{target} already exists; use --force to replace it")
    partial = target + ".part"
    have = os.path.getsize(partial) if os.path.exists(partial) else 0
    headers = {"Range": f"bytes={have}-", "If-Range": f'"{item["sha256"]}"'} if have else {}
    if have >= item["size"]:
        headers = {}
        have = 0
    response = api.call("GET", f"/api/files/{item['id']}", expect=(200, 206), headers=headers, stream=True)
    with response:
        resumed = response.status_code == 206
        mode, start = ("ab", have) if resumed else ("wb", 0)
        with open(partial, mode) as out, tqdm(total=item["size"], initial=start, unit="B", unit_scale=True,
                                              unit_divisor=1024, desc=item["name"], disable=args.quiet or None) as bar:
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)
                bar.update(len(chunk))
    if _sha256_of(partial) != item["sha256"]:
        os.unlink(partial)
        raise CliError(f"{args.path}: the downloaded bytes do not match the server's SHA-256; try again")
    modified = _timestamp(item.get("modified_at"))
    if modified is not None:  # the file's own modification time, as cp -p and rclone keep it
        os.utime(partial, (modified, modified))
    os.replace(partial, target)
    print(f"downloaded {args.path} → {target}" + (f" (resumed at {_human(have)})" if resumed else ""))


def _timestamp(value: str | None) -> float | None:
    """An API time (ISO 8601, ``Z`` for UTC) as seconds since the epoch."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def cmd_mkdir(api: Api, args) -> None:
    parts = _parts(args.path)
    if not parts:
        raise CliError("give a folder path")
    if args.parents:
        api.folder(args.path, create=True)
    else:
        parent = api.folder("/".join(parts[:-1]))
        api.json("POST", "/api/folders", json={"name": parts[-1], "parent_id": parent})
    print(f"created {args.path}")


def cmd_mv(api: Api, args) -> None:
    item = api.resolve(args.source)
    if not _parts(args.source):
        raise CliError("the root cannot be moved")
    try:
        target = api.resolve(args.dest)
    except CliError:
        target = None
    if target is not None and target["type"] == "folder":
        change = {"parent_id": target["id"]}
    else:
        dest = _parts(args.dest)
        change = {"parent_id": api.folder("/".join(dest[:-1])), "name": dest[-1]}
    kind = "folders" if item["type"] == "folder" else "files"
    moved = api.json("PATCH", f"/api/{kind}/{item['id']}", json=change)
    print(f"moved {args.source} → {moved['name']}")


def cmd_rm(api: Api, args) -> None:
    item = api.resolve(args.path)
    if not _parts(args.path):
        raise CliError("the root cannot be removed")
    kind = "folders" if item["type"] == "folder" else "files"
    api.call("DELETE", f"/api/{kind}/{item['id']}", params={"permanent": "true" if args.permanent else "false"})
    print(f"removed {args.path}" + ("" if args.permanent else " (in the trash)"))


def cmd_share(api: Api, args) -> None:
    item = api.resolve(args.path)
    if item["id"] == "root":
        raise CliError("share a file or a folder, not the root")
    body: dict = {"item_id": item["id"], "label": args.label}
    if args.expires_in:
        body["expires_at"] = (datetime.now(timezone.utc) + timedelta(hours=args.expires_in)).isoformat()
    if args.max_downloads:
        body["max_downloads"] = args.max_downloads
    if args.password_stdin:
        body["password"] = sys.stdin.readline().rstrip("\n")
    elif args.password:
        body["password"] = getpass.getpass("link password: ")
    made = api.json("POST", "/api/shares", json=body)
    print(made["url"])


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _line(item: dict) -> str:
    if item["type"] == "folder":
        return f"{'-':>10}  {item['updated_at'][:16].replace('T', ' ')}  {item['name']}/"
    return f"{_human(item['size']):>10}  {item['updated_at'][:16].replace('T', ' ')}  {item['name']}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clouddrive", description="Cloud Drive from the terminal.",
        epilog="The server and token are kept in $XDG_CONFIG_HOME/clouddrive/cli.json (default "
               "~/.config/clouddrive/cli.json, mode 0600); CLOUDDRIVE_SERVER and CLOUDDRIVE_TOKEN override it.")
    parser.add_argument("--version", action="version", version=f"clouddrive {__version__}")
    parser.add_argument("--config", default=None, help="config file (default: ~/.config/clouddrive/cli.json)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", required=True)

    login = sub.add_parser("login", help="remember a server and a token")
    login.add_argument("--server")
    login.add_argument("--token", help="an existing API token")
    login.add_argument("--username")
    login.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of stdin (for scripts; no prompt)")
    sub.add_parser("logout", help="forget the saved token")
    sub.add_parser("whoami", help="the user and storage use")
    ls = sub.add_parser("ls", help="list a folder")
    ls.add_argument("path", nargs="?", default="/")
    up = sub.add_parser("upload", help="upload files (with a progress bar); files above 8 MiB are resumable: "
                                       "run the same command again after an interruption")
    up.add_argument("files", nargs="+")
    up.add_argument("--to", default="/", help="remote folder (created if missing)")
    up.add_argument("--on-conflict", choices=["fail", "rename", "replace"], default="fail")
    up.add_argument("-r", "--recursive", action="store_true",
                    help="upload directories with everything in them (their tree is kept)")
    down = sub.add_parser("download", help="download a file (resumes a partial download)")
    down.add_argument("path")
    down.add_argument("local", nargs="?", help="local file or folder (default: the stored name, here)")
    down.add_argument("--force", action="store_true", help="replace a local file that already exists")
    mkdir = sub.add_parser("mkdir", help="create a folder")
    mkdir.add_argument("path")
    mkdir.add_argument("-p", "--parents", action="store_true")
    mv = sub.add_parser("mv", help="rename or move")
    mv.add_argument("source")
    mv.add_argument("dest")
    rm = sub.add_parser("rm", help="move to the trash (or delete for good)")
    rm.add_argument("path")
    rm.add_argument("--permanent", action="store_true")
    share = sub.add_parser("share", help="create a share link and print it")
    share.add_argument("path")
    share.add_argument("--expires-in", type=float, metavar="HOURS")
    share.add_argument("--max-downloads", type=int)
    share.add_argument("--label")
    share.add_argument("--password", action="store_true", help="ask for a link password")
    share.add_argument("--password-stdin", action="store_true")
    return parser


COMMANDS = {"whoami": cmd_whoami, "ls": cmd_ls, "upload": cmd_upload, "download": cmd_download,
            "mkdir": cmd_mkdir, "mv": cmd_mv, "rm": cmd_rm, "share": cmd_share}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    path = args.config or config_path()
    args.uploads_state = os.path.join(os.path.dirname(os.path.abspath(path)), "uploads.json")
    config = load_config(path)
    try:
        if args.command == "login":
            cmd_login(args, config, path)
        elif args.command == "logout":
            cmd_logout(args, config, path)
        else:
            if not config.get("server") or not config.get("token"):
                raise CliError("not logged in: run 'clouddrive login --server URL' first")
            COMMANDS[args.command](Api(config["server"], config["token"]), args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

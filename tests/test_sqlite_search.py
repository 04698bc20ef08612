"""Search on the SQLite engine reads a trigram index of the case-folded names, and finds exactly
what the MongoDB implementation finds (a literal, case-insensitive substring of the name):
for short terms, pattern and quoting characters, and Unicode case folding alike. The index
follows every write, fills itself on a database made before it, and on a migrated old store."""
from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta

import mongomock
import pytest

from app.db import Database, close_database
from app.drive.names import name_key
from app.drive.repo import FILE, FOLDER, ItemsRepository, new_item
from app.drive.sqlite_repo import ITEM_MIGRATIONS, ITEMS_SCHEMA, SQLiteItemsRepository
from app.sqlite_db import SQLiteDatabase
from app.timeutil import utcnow
from tests.test_migrate_store import login, old_store, sqlite_app  # noqa: F401  (old_store: a fixture)

OWNER, OTHER = "a" * 24, "b" * 24
BASE = utcnow()

NAMES = [
    "Report 2024.pdf", "report-final.PDF", "annual REPORT.docx", "reportage", "re.txt", "r",
    "100% done.txt", "100 percent.txt", "a_b.txt", "aXb.txt", "snake_case_name.py", "50%_off.png",
    'say "hi".txt', "quote\"mark", "it's mine.md", "it`s.md", "back\\slash.txt", "star*dust.jpg",
    "dots...txt", "(draft) [v2] {x}.txt", "a+b=c?.txt", "^caret$.txt", "pipe|name.txt", "tab space .txt",
    "AND OR NOT.txt", "NEAR(a b).txt", "col:on.txt", "minus -one.txt",
    "Straße.txt", "STRASSE plan.txt", "strasse.txt", "Maß.txt", "MASS.txt", "ẞ capital.txt",
    "İstanbul.jpg", "istanbul.jpg", "ISTANBUL.jpg", "i̇ (i + dot).txt", "ıhistoric.txt",
    "ΘΆΛΑΣΣΑ.png", "θάλασσα.png", "θάλασσας.png", "ΣΟΦΟΣ.txt", "σοφος.txt", "σοφός.txt",
    "🎉 party 🎉.png", "🎉.png", "照片.jpg", "報告書.pdf", "фото отчёт.jpg", "ФОТО.JPG",
    "café.txt", "cafe\u0301.txt", "ﬁle ligature.txt", "file.txt", "archive.tar.gz", "photo.jpeg",
]
FOLDERS = ["Reports", "2024", "İstanbul trip", "%", "_"]

TERMS = [
    # 1 and 2 characters: shorter than a trigram
    "r", "R", "e", "2", "%", "_", "*", '"', "'", "\\", ".", "🎉", "ß", "ẞ", "İ", "ı", "ς", "σ", "照",
    "re", "RE", "20", "%_", "_b", "a_", "0%", ".p", "**", '""', "ss", "SS", "i̇", "ﬁ", "fi", "ΘΆ",
    # 3 characters and more: the index
    "rep", "report", "REPORT", "port 2", "t 2024.p", ".pdf", "f.p", "pdf", "t.pd", "e.tx",
    "100%", "0% d", "%_o", "a_b", "a%b", "_ca", "e_n", 'y "h', '"hi"', '"', "it's", "'s m", "`s.",
    "k\\sl", "\\", "r*d", "*du", "...", "s..", "[v2]", "(dr", "{x}", "a+b", "=c?", "^ca", "t$.",
    "e|n", "b s", "  .", "and", "AND OR", "or not", "near(", "(a b)", "col:", " -on", "-one",
    "straße", "STRASSE", "strasse", "sse", "traß", "maß", "ass", "ẞ ca", "ss ca",
    "İstanbul", "istanbul", "İst", "i̇st", "ist", "ISTANBUL", "ıhis", "(i + dot)",
    "θάλασσα", "ΘΆΛΑΣΣΑ", "θάλασσας", "ΘΆΛΑΣΣΑΣ", "σσα", "ασσ", "σοφος", "ΣΟΦΟΣ", "σοφός", "οφος", "φος.",
    "🎉 p", "y 🎉", "🎉.p", "照片.", "報告書", "фото", "ФОТО", "отчёт", "ото о",
    "café", "cafe\u0301", "afé", "ﬁle", "file", "le.", "tar.gz", "r.g", "hoto.j", "zzz", "report 2025",
]


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """The same items in MongoDB's implementation (on mongomock) and in SQLite's (read only:
    built once for the module)."""
    yield from _stores(tmp_path_factory.mktemp("search"))


@pytest.fixture
def own_stores(tmp_path):
    """As ``stores``, for a test that changes items."""
    yield from _stores(tmp_path)


def _stores(tmp_path):
    mongo = ItemsRepository(Database(mongomock.MongoClient(tz_aware=True), "drive", kind="mongomock"))
    db = SQLiteDatabase(str(tmp_path / "drive.sqlite3"))
    sqlite = SQLiteItemsRepository(db)
    for repo in (mongo, sqlite):
        repo.ensure_indexes()
    both = (mongo, sqlite)
    folder_ids = [_add_to(both, FOLDER, name, i)["_id"] for i, name in enumerate(FOLDERS)]
    for i, name in enumerate(NAMES):
        _add_to(both, FILE, name, i, parent=folder_ids[i % 2] if i % 3 else None)
    for i, name in enumerate(NAMES[:10]):  # someone else's and trashed items never show
        _add_to(both, FILE, name, i, owner=OTHER)
        _add_to(both, FILE, "trashed " + name, i, trashed_at=BASE)
    yield mongo, sqlite, db
    db.close()


def _add_to(repos, kind: str, name: str, i: int, owner: str = OWNER, parent=None, **fields) -> dict:
    when = BASE + timedelta(seconds=i)
    extra = {"size": 10 * i + 1, "content_type": "text/plain" if i % 2 else "image/png"} if kind == FILE else {}
    item = new_item(owner, kind, name, name_key(name), parent, when, **extra, **fields)
    for repo in repos:
        repo.insert(dict(item))
    return item


def search(repo, term: str, **filters) -> tuple[list[str], int]:
    args = {"kind": None, "content_type": None, "min_size": None, "max_size": None, "created_after": None,
            "created_before": None, "page": 1, "limit": 10, **filters}
    found, total = repo.search(OWNER, name_key(term), **args)
    return [item["name"] for item in found], total


def all_names(repo, term: str) -> set[str]:
    return set(search(repo, term, limit=1000)[0])


@pytest.mark.parametrize("term", TERMS)
def test_sqlite_finds_what_mongodb_finds_page_by_page(stores, term):
    mongo, sqlite, _ = stores
    for page in (1, 2):
        assert search(sqlite, term, page=page) == search(mongo, term, page=page), term


@pytest.mark.parametrize("term", ["re", "report", "ß", "İst", "🎉", ".tx", "%", "100%"])
def test_filters_sorting_and_totals_stay_as_they_were(stores, term):
    mongo, sqlite, _ = stores
    later = BASE + timedelta(seconds=20)
    for filters in ({"kind": FILE}, {"kind": FOLDER}, {"content_type": "image/"}, {"min_size": 100, "max_size": 400},
                    {"created_after": later}, {"created_before": later, "kind": FILE}, {"limit": 3, "page": 2}):
        assert search(sqlite, term, **filters) == search(mongo, term, **filters), (term, filters)


@pytest.mark.parametrize("term, expected", [
    ("%", {"100% done.txt", "50%_off.png", "%"}),
    ("a_b", {"a_b.txt"}),  # "_" is no wildcard: aXb.txt is not found
    ('"hi"', {'say "hi".txt'}),
    ("*du", {"star*dust.jpg"}),
    ("k\\sl", {"back\\slash.txt"}),
    ("and", {"AND OR NOT.txt"}),  # no FTS query syntax either
    ("STRASSE", {"Straße.txt", "STRASSE plan.txt", "strasse.txt"}),
    ("ß", {"Straße.txt", "STRASSE plan.txt", "strasse.txt", "ẞ capital.txt", "Maß.txt", "MASS.txt"}),
    ("İstanbul", {"İstanbul.jpg", "İstanbul trip"}),  # İ folds to i + combining dot: not plain istanbul
    ("ΘΆΛΑΣΣΑΣ", {"θάλασσας.png"}),  # final and medial sigma fold alike
    ("🎉 p", {"🎉 party 🎉.png"}),
    ("rt 2024.p", {"Report 2024.pdf"}),  # across the extension's dot
])
def test_a_user_finds_names_as_written_in_any_case(stores, term, expected):
    _, sqlite, _ = stores
    assert all_names(sqlite, term) == expected


def _plans(db: SQLiteDatabase, run) -> list[str]:
    """The query plans of the statements ``run`` sends to the items table."""
    statements: list[str] = []
    connection = db.connection()
    connection.set_trace_callback(statements.append)
    try:
        run()
    finally:
        connection.set_trace_callback(None)
    return ["\n".join(row[3] for row in db.read("EXPLAIN QUERY PLAN " + sql))
            for sql in statements if "FROM items" in sql]


@pytest.mark.parametrize("term", ["rep", "report", "ΘΆΛΑΣΣΑ", "100%", "İst"])
def test_a_search_of_three_characters_or_more_reads_the_name_index(stores, term):
    _, sqlite, db = stores
    plans = _plans(db, lambda: search(sqlite, term, kind=FILE, content_type="image/"))
    assert len(plans) == 2  # the page and its total
    for plan in plans:
        assert "item_names VIRTUAL TABLE" in plan and "SEARCH items USING INTEGER PRIMARY KEY" in plan, plan
        assert "SCAN items" not in plan and "USING INDEX" not in plan, plan


@pytest.mark.parametrize("term", ["r", "20", "ß", "İ"])
def test_a_shorter_search_reads_only_the_owners_rows(stores, term):
    _, sqlite, db = stores
    for plan in _plans(db, lambda: search(sqlite, term)):
        assert "SEARCH items USING" in plan and "(owner_id=?" in plan and "SCAN items" not in plan, plan


def _index_matches_items(db: SQLiteDatabase) -> None:
    """FTS5's own check that the index holds exactly the items' name keys (fails otherwise)."""
    db.write("INSERT INTO item_names (item_names, rank) VALUES ('integrity-check', 1)")


def test_renaming_trashing_restoring_and_deleting_keep_search_right(own_stores):
    mongo, sqlite, db = own_stores
    file = _add_to((mongo, sqlite), FILE, "Quokka sighting.jpg", 1)
    for repo in (mongo, sqlite):
        assert search(repo, "quokka") == (["Quokka sighting.jpg"], 1)
        repo.update(OWNER, file["_id"], {"name": "Wombat.jpg", "name_key": name_key("Wombat.jpg")})
        assert search(repo, "quokka") == ([], 0) and search(repo, "WOMBAT") == (["Wombat.jpg"], 1)
        repo.update(OWNER, file["_id"], {"starred": True, "size": 5})  # no name change
        repo.update(OWNER, file["_id"], {"trashed_at": BASE})
        assert search(repo, "wombat") == ([], 0)
        repo.update(OWNER, file["_id"], {"trashed_at": None})
        assert search(repo, "wombat") == (["Wombat.jpg"], 1)
        repo.take(file["_id"])
        assert search(repo, "wombat") == ([], 0)
    _index_matches_items(db)


def test_a_database_made_before_the_index_gets_it_filled_on_upgrade(tmp_path):
    path = str(tmp_path / "old.sqlite3")
    old = SQLiteDatabase(path)
    old.script(ITEMS_SCHEMA)  # the items table as the previous version made it: no name index
    for i, name in enumerate(["Report 2024.pdf", "Straße.txt", "notes.md"]):
        item = new_item(OWNER, FILE, name, name_key(name), None, BASE + timedelta(seconds=i), size=1)
        old.write("INSERT INTO items (id, owner_id, type, rank, name, name_key, slot, created_at, updated_at) "
                  "VALUES (?, ?, 'file', 1, ?, ?, ?, ?, ?)",
                  (str(item["_id"]), OWNER, name, item["name_key"], item["slot"], "2024-01-01T00:00:00.000000Z",
                   "2024-01-01T00:00:00.000000Z"))
    old.close()

    db = SQLiteDatabase(path)
    try:
        items = SQLiteItemsRepository(db)
        items.ensure_indexes()  # what the app does at start-up
        assert items.schema_version() == len(ITEM_MIGRATIONS)
        _index_matches_items(db)
        assert search(items, "REPORT") == (["Report 2024.pdf"], 1)
        assert search(items, "strasse") == (["Straße.txt"], 1)
        plans = _plans(db, lambda: search(items, "report"))
        assert all("item_names VIRTUAL TABLE" in plan for plan in plans)
        items.ensure_indexes()  # a second start (or worker) changes nothing
        assert items.schema_version() == len(ITEM_MIGRATIONS) and search(items, "report") == (["Report 2024.pdf"], 1)
    finally:
        db.close()


def test_an_old_litemongo_store_is_searchable_after_it_is_migrated(old_store):  # noqa: F811
    store, expected = old_store
    app = sqlite_app(store)
    try:
        alice = login(app, "alice", expected["alice"]["password"])
        for name in expected["alice"]["files"]:
            term = name[1:4].upper()
            found = alice.get("/api/search", query_string={"q": term}).get_json()["items"]
            assert name in [item["name"] for item in found], (term, found)
        _index_matches_items(app.extensions["drive_db"])
    finally:
        close_database(app)


def test_search_stays_right_after_deletes_and_a_vacuum(own_stores):
    """The index is tied to items by rowid: VACUUM (which compacts the file after deletes) must
    not renumber them under it."""
    mongo, sqlite, db = own_stores
    for repo in (mongo, sqlite):
        for item in repo.search(OWNER, name_key("."), None, None, None, None, None, None, 1, 1000)[0][::2]:
            repo.take(item["_id"])
    with closing(sqlite3.connect(db.path, isolation_level=None)) as connection:
        connection.execute("VACUUM")  # outside any transaction, as SQLite requires
    _index_matches_items(db)
    for term in ("report", "straße", "🎉 p", "txt"):
        assert search(sqlite, term, limit=100) == search(mongo, term, limit=100)

"""Folders: create, list, tree, breadcrumbs, rename, move, copy."""
import pytest

from tests.conftest import AuthActions, upload


def mkdir(client, name, parent="root", **extra):
    return client.post("/api/folders", json={"name": name, "parent_id": parent, **extra})


def folder(client, name, parent="root"):
    response = mkdir(client, name, parent)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def put_file(client, name, data=b"data", folder_id="root", on_conflict=None):
    query = f"?folder_id={folder_id}" + (f"&on_conflict={on_conflict}" if on_conflict else "")
    return upload(client, (name, data), query=query)


def children(client, folder_id="root", query=""):
    return client.get(f"/api/folders/{folder_id}/children{query}").get_json()


def names(listing):
    return [i["name"] for i in listing["items"]]


@pytest.fixture
def alice(client, auth):
    auth.signup()
    return client


def test_nested_folders_with_breadcrumbs_and_tree(alice):
    docs = folder(alice, "Documents")
    reports = folder(alice, "Reports", docs)
    folder(alice, "Photos")
    path = alice.get(f"/api/folders/{reports}/path").get_json()["path"]
    assert [c["name"] for c in path] == ["", "Documents", "Reports"]
    assert path[0]["id"] == "root"
    tree = alice.get("/api/folders/tree").get_json()
    assert [(n["name"], [c["name"] for c in n["children"]]) for n in tree["children"]] == [
        ("Documents", ["Reports"]), ("Photos", [])]


def test_listing_a_folder_shows_folders_first_then_files(alice):
    docs = folder(alice, "Docs")
    put_file(alice, "b.txt", b"bb", docs)
    put_file(alice, "a.txt", b"aaaa", docs)
    folder(alice, "zeta", docs)
    listing = children(alice, docs)
    assert names(listing) == ["zeta", "a.txt", "b.txt"]
    assert [i["type"] for i in listing["items"]] == ["folder", "file", "file"]
    assert names(children(alice, docs, "?sort=size&order=desc")) == ["zeta", "a.txt", "b.txt"]
    page = children(alice, docs, "?limit=2&page=2")
    assert names(page) == ["b.txt"] and page["total"] == 3
    assert names(children(alice)) == ["Docs"]


def test_upload_into_a_folder(alice):
    docs = folder(alice, "Docs")
    record = put_file(alice, "in.txt", b"x", docs).get_json()["files"][0]
    assert record["parent_id"] == docs
    assert names(children(alice, docs)) == ["in.txt"]
    assert names(children(alice)) == ["Docs"]


def test_upload_to_a_missing_folder_is_404(alice):
    response = put_file(alice, "x.txt", b"x", "0" * 24)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "folder_not_found"


@pytest.mark.parametrize("existing, new", [("Report.pdf", "report.PDF"), ("Straße", "STRASSE"), ("Ünï", "ünÏ")])
def test_sibling_names_clash_ignoring_case(alice, existing, new):
    assert put_file(alice, existing).status_code == 201
    response = put_file(alice, new, b"other")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "name_conflict"


def test_a_folder_and_a_file_cannot_share_a_name(alice):
    folder(alice, "notes")
    assert put_file(alice, "NOTES").status_code == 409
    assert mkdir(alice, "Notes").status_code == 409


def test_on_conflict_rename_numbers_the_new_name(alice):
    put_file(alice, "report.pdf", b"1")
    assert put_file(alice, "report.pdf", b"2", on_conflict="rename").get_json()["files"][0]["name"] == "report (1).pdf"
    assert put_file(alice, "Report.pdf", b"3", on_conflict="rename").get_json()["files"][0]["name"] == "Report (2).pdf"
    folder(alice, "Photos")
    assert mkdir(alice, "photos", on_conflict="rename").get_json()["name"] == "photos (1)"


def test_on_conflict_replace_keeps_the_old_content_as_a_version(alice):
    first = put_file(alice, "notes.txt", b"first").get_json()["files"][0]
    second = put_file(alice, "notes.txt", b"second", on_conflict="replace").get_json()["files"][0]
    assert second["id"] == first["id"]
    assert second["sha256"] != first["sha256"]
    versions = alice.get(f"/api/files/{first['id']}/versions").get_json()["versions"]
    assert [v["sha256"] for v in versions] == [first["sha256"]]


def test_unknown_conflict_policy_is_400(alice):
    response = put_file(alice, "a.txt", on_conflict="overwrite")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_on_conflict"


def test_rename_and_move_are_metadata_only(app, alice):
    import os
    docs = folder(alice, "Docs")
    record = put_file(alice, "a.txt", b"keep").get_json()["files"][0]
    blobs_before = sorted(os.listdir(os.path.join(app.config["UPLOAD_FOLDER"], record_owner(alice))))
    moved = alice.patch(f"/api/files/{record['id']}", json={"name": "b.txt", "parent_id": docs}).get_json()
    assert (moved["name"], moved["parent_id"]) == ("b.txt", docs)
    assert blobs_before == sorted(os.listdir(os.path.join(app.config["UPLOAD_FOLDER"], record_owner(alice))))
    response = alice.get(f"/api/files/{record['id']}")
    assert response.get_data() == b"keep"
    response.close()


def record_owner(client):
    return client.get("/api/me").get_json()["id"]


def test_rename_to_a_taken_name_is_409_unless_renaming(alice):
    put_file(alice, "a.txt")
    b = put_file(alice, "b.txt").get_json()["files"][0]
    response = alice.patch(f"/api/files/{b['id']}", json={"name": "A.TXT"})
    assert response.status_code == 409
    renamed = alice.patch(f"/api/files/{b['id']}", json={"name": "A.TXT", "on_conflict": "rename"}).get_json()
    assert renamed["name"] == "A (1).TXT"


def test_renaming_only_the_case_of_a_name_works(alice):
    docs = folder(alice, "docs")
    assert alice.patch(f"/api/folders/{docs}", json={"name": "Docs"}).get_json()["name"] == "Docs"


def test_moving_a_folder_into_itself_or_its_child_is_409(alice):
    top = folder(alice, "top")
    child = folder(alice, "child", top)
    grandchild = folder(alice, "grandchild", child)
    for target in (top, child, grandchild):
        response = alice.patch(f"/api/folders/{top}", json={"parent_id": target})
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "move_into_descendant"
    assert alice.patch(f"/api/folders/{child}", json={"parent_id": "root"}).status_code == 200
    assert names(children(alice)) == ["child", "top"]


def test_copy_a_file_shares_its_bytes(app, alice):
    record = put_file(alice, "a.txt", b"same bytes").get_json()["files"][0]
    copy = alice.post(f"/api/files/{record['id']}/copy").get_json()
    assert copy["name"] == "a (1).txt" and copy["sha256"] == record["sha256"]
    assert len(blob_files(app)) == 1
    assert alice.get("/api/me/usage").get_json()["used_bytes"] == len(b"same bytes")


def test_copy_a_folder_recursively(app, alice):
    src = folder(alice, "src")
    sub = folder(alice, "sub", src)
    put_file(alice, "one.txt", b"1", src)
    put_file(alice, "two.txt", b"2", sub)
    dest = folder(alice, "dest")
    copy = alice.post(f"/api/folders/{src}/copy", json={"parent_id": dest}).get_json()
    assert copy["name"] == "src" and copy["parent_id"] == dest
    assert names(children(alice, copy["id"])) == ["sub", "one.txt"]
    copied_sub = children(alice, copy["id"])["items"][0]["id"]
    assert copied_sub != sub
    assert names(children(alice, copied_sub)) == ["two.txt"]
    assert len(blob_files(app)) == 2
    assert alice.post(f"/api/folders/{src}/copy", json={"parent_id": sub}).status_code == 409


def blob_files(app):
    import os
    root = app.config["UPLOAD_FOLDER"]
    return [f for _, _, fs in os.walk(root) for f in fs]


def test_folder_names_are_validated(alice):
    for bad in ["", "..", "a/b", "x\x00", 5]:
        response = alice.post("/api/folders", json={"name": bad})
        assert response.status_code == 400, bad


def test_another_users_folder_ids_are_404_everywhere(app, alice):
    docs = folder(alice, "Docs")
    put_file(alice, "secret.txt", b"s", docs)
    bob = app.test_client()
    AuthActions(bob).signup("bob")
    bob_folder = folder(bob, "Mine")
    bob_file = put_file(bob, "mine.txt").get_json()["files"][0]["id"]
    calls = [
        ("get", f"/api/folders/{docs}", None), ("get", f"/api/folders/{docs}/children", None),
        ("get", f"/api/folders/{docs}/path", None), ("patch", f"/api/folders/{docs}", {"name": "x"}),
        ("delete", f"/api/folders/{docs}", None), ("post", f"/api/folders/{docs}/copy", {}),
        ("put", f"/api/folders/{docs}/star", None), ("post", "/api/folders", {"name": "x", "parent_id": docs}),
        ("patch", f"/api/folders/{bob_folder}", {"parent_id": docs}),
        ("patch", f"/api/files/{bob_file}", {"parent_id": docs}),
        ("post", f"/api/files/{bob_file}/copy", {"parent_id": docs}),
        ("post", f"/api/trash/{docs}/restore", None), ("delete", f"/api/trash/{docs}", None),
    ]
    for method, path, body in calls:
        kwargs = {"json": body} if body is not None else {}
        response = getattr(bob, method)(path, **kwargs)
        assert response.status_code == 404, (method, path, response.get_json())
    response = upload(bob, ("x.txt", b"x"), query=f"?folder_id={docs}")
    assert response.status_code == 404
    assert names(children(alice, docs)) == ["secret.txt"]
    assert names(children(alice)) == ["Docs"]


def test_children_can_be_looked_up_by_name(alice):
    docs = folder(alice, "Docs")
    put_file(alice, "Report.PDF", b"r", docs)
    put_file(alice, "other.txt", b"o", docs)
    assert names(children(alice, docs, "?name=report.pdf")) == ["Report.PDF"]
    assert names(children(alice, docs, "?name=missing")) == []

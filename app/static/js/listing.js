// The listing: one page of a folder, Starred, Trash or a search, its rows, the breadcrumbs,
// the toolbar for the selection and the usage bar.
import { api, query } from "./api.js";
import { deleteForever, download, emptyTrash, restoreSelected, setStar, trashSelected } from "./actions.js";
import { moveDialog, peopleDialog, previewDialog, renameDialog, shareDialog } from "./dialogs.js";
import { go, state } from "./state.js";
import { $, el, humanDate, humanSize, icon, toast } from "./ui.js";

const PAGE_SIZE = 100;

// The server's PREVIEW_TYPES (app/http.py): PDFs are download-only, they cannot render sandboxed.
const PREVIEWABLE = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp", "text/plain"];
const canPreview = (item) => item.type === "file" && (PREVIEWABLE.includes(item.content_type) || /^(audio|video)\//.test(item.content_type));

function iconFor(item) {
  if (item.type === "folder") return "folder";
  const type = item.content_type || "";
  if (type.startsWith("image/")) return "image";
  if (type.startsWith("video/")) return "video";
  if (type.startsWith("audio/")) return "audio";
  if (type === "application/pdf") return "pdf";
  if (type.startsWith("text/")) return "text";
  if (type.includes("zip") || type.includes("compressed") || type.includes("tar")) return "archive";
  return "file";
}

export async function refreshUsage() {
  try {
    const me = await api("GET", "/api/me");
    state.user = me;
    const quota = me.quota_bytes;
    $(".usage-text").textContent = quota ? `${humanSize(me.used_bytes)} of ${humanSize(quota)} used` : `${humanSize(me.used_bytes)} used`;
    $(".usage-bar").value = quota ? Math.min(1, me.used_bytes / quota) : 0;
  } catch (err) { /* shown elsewhere */ }
}

export async function load(page = 1) {
  const params = { page, limit: PAGE_SIZE };
  let path;
  if (state.view === "folder") {
    path = `/api/folders/${encodeURIComponent(state.folderId)}/children` + query({ ...params, sort: state.sort, order: state.order });
  } else if (state.view === "starred") {
    path = "/api/starred" + query(params);
  } else if (state.view === "trash") {
    path = "/api/trash" + query(params);
  } else if (state.view === "shared") {
    path = "/api/shared-with-me" + query(params);
  } else {
    path = "/api/search" + query({ ...params, q: state.searchText });
  }
  try {
    const data = await api("GET", path);
    // Shared with me: each row is an item with who shared it and how (shown in the Where column).
    const rows = state.view === "shared"
      ? data.shared.map((row) => ({ ...row.item, path: `${row.owner} · ${row.role}`, shared: row })) : data.items;
    state.items = page === 1 ? rows : state.items.concat(rows);
    state.total = data.total;
    state.page = page;
    if (page === 1) state.selected = new Set();
    renderRows();
  } catch (err) {
    if (err.status === 404 && state.view === "folder") { toast("That folder no longer exists."); go("#/folder/root"); }
    else if (err.status !== 401) toast(err.message);
  }
}

export function renderHeader() {
  for (const link of document.querySelectorAll(".sidebar a")) {
    if (link.dataset.view === state.view) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  for (const button of document.querySelectorAll("th button[data-sort]")) {
    const active = state.view === "folder" && button.dataset.sort === state.sort;
    button.disabled = state.view !== "folder";
    if (active) button.setAttribute("aria-sort", state.order === "asc" ? "ascending" : "descending");
    else button.removeAttribute("aria-sort");
  }
  $(".listing").classList.toggle("no-where", !["search", "shared"].includes(state.view));
  $(".new-upload").disabled = $(".new-folder").disabled = $(".new-folder-upload").disabled = state.view !== "folder";
  $("#search-input").value = state.view === "search" ? state.searchText : "";
}

export async function renderBreadcrumbs() {
  const nav = $(".breadcrumbs");
  const titles = { starred: "Starred", trash: "Trash", shared: "Shared with me", search: `Search: “${state.searchText}”` };
  if (state.view !== "folder") {
    nav.replaceChildren(el("span", { text: titles[state.view] }));
    document.title = `${titles[state.view]} · Cloud Drive`;
    return;
  }
  let crumbs = [{ id: "root", name: "" }];
  if (state.folderId !== "root") {
    try { crumbs = (await api("GET", `/api/folders/${encodeURIComponent(state.folderId)}/path`)).path; } catch (err) { return; }
  }
  const parts = [];
  // In a folder someone shared: the path starts at the shared folder, under "Shared with me".
  if (crumbs[0].id !== "root") parts.push(el("a", { href: "#/shared", text: "Shared with me" }));
  crumbs.forEach((crumb, index) => {
    const label = crumb.id === "root" ? "My Drive" : crumb.name;
    if (parts.length) parts.push(el("span", { class: "sep", "aria-hidden": "true", text: "›" }));
    parts.push(index === crumbs.length - 1
      ? el("span", { "aria-current": "page", text: label })
      : el("a", { href: `#/folder/${crumb.id}`, text: label }));
  });
  nav.replaceChildren(...parts);
  document.title = `${crumbs[crumbs.length - 1].name || "My Drive"} · Cloud Drive`;
}

export function renderRows() {
  const body = $(".listing tbody");
  body.replaceChildren(...state.items.map(row));
  const empty = { folder: "This folder is empty. Upload files or drop them here.", starred: "Nothing starred yet.",
                  trash: "The trash is empty.", search: "Nothing matches.",
                  shared: "Nothing is shared with you yet. When someone shares a file or folder with you, it shows here." }[state.view];
  $(".empty").textContent = state.items.length ? "" : empty;
  $(".load-more").hidden = state.items.length >= state.total;
  $(".select-all").checked = state.items.length > 0 && state.selected.size === state.items.length;
  renderToolbar();
}

function row(item) {
  const selected = state.selected.has(item.id);
  const open = () => {
    if (state.view === "trash") return;
    if (item.type === "folder") go(`#/folder/${item.id}`);
    else if (canPreview(item)) previewDialog(item);
    else download(item);
  };
  const check = el("input", { type: "checkbox", "aria-label": `Select ${item.name}`, checked: selected,
    onchange: (event) => { event.target.checked ? state.selected.add(item.id) : state.selected.delete(item.id); renderRows(); } });
  const name = el("button", { type: "button", title: item.name, onclick: open, text: item.name });
  const star = el("button", { type: "button", class: "star", "aria-pressed": item.starred ? "true" : "false",
    "aria-label": item.starred ? `Unstar ${item.name}` : `Star ${item.name}`, text: item.starred ? "★" : "☆",
    onclick: () => setStar([item], !item.starred) });
  return el("tr", { class: selected ? "selected" : "", "data-id": item.id },
    el("td", { class: "col-check" }, check),
    el("td", { class: "col-name" }, el("div", { class: "name" }, icon(iconFor(item)), name,
      item.trashed_by ? el("span", { class: "meta by", text: `deleted by ${item.trashed_by}` }) : null)),
    el("td", { class: "col-where meta", text: item.path || "" }),
    el("td", { class: "col-size meta", text: item.type === "file" ? humanSize(item.size) : "—" }),
    el("td", { class: "col-date meta", text: humanDate(state.view === "trash" ? item.trashed_at : item.updated_at) }),
    el("td", { class: "col-star" }, ["trash", "shared"].includes(state.view) ? null : star));
}

export function selection() {
  return state.items.filter((item) => state.selected.has(item.id));
}

function renderToolbar() {
  const bar = $(".toolbar");
  const chosen = selection();
  const buttons = [];
  if (state.view === "trash") {
    if (chosen.length) {
      buttons.push(el("button", { type: "button", onclick: () => restoreSelected(chosen), text: "Restore" }));
      buttons.push(el("button", { type: "button", class: "danger", onclick: () => deleteForever(chosen), text: "Delete forever" }));
    }
    buttons.push(el("button", { type: "button", class: "danger", onclick: emptyTrash, disabled: !state.total, text: "Empty trash" }));
  } else if (chosen.length) {
    const one = chosen.length === 1 ? chosen[0] : null;
    buttons.push(el("span", { class: "count", text: `${chosen.length} selected` }));
    if (one && one.type === "file") buttons.push(el("button", { type: "button", onclick: () => download(one), text: "Download" }));
    if (one) buttons.push(el("button", { type: "button", onclick: () => renameDialog(one), text: "Rename" }));
    buttons.push(el("button", { type: "button", onclick: () => moveDialog(chosen, "move"), text: "Move" }));
    buttons.push(el("button", { type: "button", onclick: () => moveDialog(chosen, "copy"), text: "Copy" }));
    const allStarred = chosen.every((i) => i.starred);
    buttons.push(el("button", { type: "button", onclick: () => setStar(chosen, !allStarred), text: allStarred ? "Unstar" : "Star" }));
    if (one) buttons.push(el("button", { type: "button", onclick: () => peopleDialog(one), text: "People" }));
    if (one) buttons.push(el("button", { type: "button", onclick: () => shareDialog(one), text: "Share" }));
    buttons.push(el("button", { type: "button", class: "danger", onclick: trashSelected, text: "Delete" }));
  }
  bar.replaceChildren(...buttons);
}

// The listing: a folder, Shared with me, Starred, Trash or a search; its rows, the breadcrumbs,
// the toolbar for the selection and the usage bar.
//
// Going somewhere (load) empties the rows and shows "Loading…" until the folder's rows and its
// path have both arrived, so the breadcrumbs never name one folder over another's rows; if the
// server cannot be reached the view says so with "Try again" and nothing acts on the old folder.
// After an action (refresh) the loaded rows are fetched again and the table is updated in place:
// rows that did not change keep their DOM nodes, so scroll, selection and focus stay.
import { api, query } from "./api.js";
import { deleteForever, download, downloadZip, emptyTrash, restoreSelected, setStar, trashSelected } from "./actions.js";
import { moveDialog, peopleDialog, previewDialog, renameDialog, shareDialog, versionsDialog } from "./dialogs.js";
import { previewKind } from "./preview.js";
import { go, hashFor, state } from "./state.js";
import { errorText, t } from "./i18n.js";
import { $, announce, el, humanDate, humanSize, icon, toast } from "./ui.js";

const PAGE_SIZE = 100;
// Refreshing or selecting everything fetches the largest pages the server gives (PAGE_SIZE_MAX,
// in the page), in hundreds, so the rows loaded stay a whole number of PAGE_SIZE pages.
const BIG_PAGE = Math.max(PAGE_SIZE, Math.floor((Number(document.body.dataset.pageSizeMax) || PAGE_SIZE) / PAGE_SIZE) * PAGE_SIZE);
const PARALLEL_PAGES = 4;

const TITLES = { starred: "nav.starred", trash: "nav.trash", shared: "nav.shared" };

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
    $(".usage-text").textContent = quota ? t("listing.usage", { used: humanSize(me.used_bytes), quota: humanSize(quota) })
      : t("listing.usageNoQuota", { used: humanSize(me.used_bytes) });
    $(".usage-bar").value = quota ? Math.min(1, me.used_bytes / quota) : 0;
  } catch (err) { /* shown elsewhere */ }
}

function listPath(page, limit = PAGE_SIZE) {
  const params = { page, limit };
  if (state.view === "folder") {
    return `/api/folders/${encodeURIComponent(state.folderId)}/children` + query({ ...params, sort: state.sort, order: state.order });
  }
  if (state.view === "starred") return "/api/starred" + query(params);
  if (state.view === "trash") return "/api/trash" + query(params);
  if (state.view === "shared") return "/api/shared-with-me" + query(params);
  const { days, ...filters } = state.filters;
  if (days) filters.created_after = new Date(Date.now() - Number(days) * 86400000).toISOString();
  return "/api/search" + query({ ...params, q: state.searchText, ...filters });
}

// Shared with me: each row is an item with who shared it and how (shown in the Where column).
const rowsOf = (data) => (state.view === "shared"
  ? data.shared.map((row) => ({ ...row.item, path: t("listing.sharedBy", { owner: row.owner, role: t(`role.${row.role}`) }), shared: row })) : data.items);

// Pages 1..pages of the current view, a few at a time, in order; a newer navigation wins.
async function fetchPages(pages, seq) {
  const results = new Array(pages);
  let next = 0, total = 0;
  async function worker() {
    while (next < pages && seq === state.seq) {
      const index = next++;
      const data = await api("GET", listPath(index + 1, BIG_PAGE));
      results[index] = rowsOf(data);
      total = data.total;
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL_PAGES, pages) }, worker));
  return { items: results.flat(), total };
}

function setBusy(busy) {
  state.loading = busy;
  $(".content").setAttribute("aria-busy", busy ? "true" : "false");
  $(".content").classList.toggle("loading", busy);
  const blocked = busy || Boolean(state.loadError) || state.view !== "folder";
  $(".new-upload").disabled = $(".new-folder").disabled = $(".new-folder-upload").disabled = blocked;
}

// Going to a view: nothing of the previous one stays on screen.
export async function load() {
  const seq = ++state.seq;
  state.items = [];
  state.total = 0;
  state.page = 1;
  state.selected = new Set();
  state.anchor = null;
  state.loadError = null;
  setBusy(true);
  // Nothing of the previous view stays: its path goes with its rows until the new ones arrive.
  $(".breadcrumbs").replaceChildren(el("span", { class: "meta", text: t("common.loading") }));
  renderRows();
  try {
    const [listed, path] = await Promise.allSettled([api("GET", listPath(1)), pathOf(state.view, state.folderId)]);
    if (seq !== state.seq) return;
    // The path shown is this folder's or none: never the previous folder's over this one.
    state.crumbs = path.status === "fulfilled" ? path.value : null;
    if (listed.status === "rejected") throw listed.reason;
    if (path.status === "rejected") throw path.reason;
    const data = listed.value;
    state.items = rowsOf(data);
    state.total = data.total;
    setBusy(false);
    renderBreadcrumbs();
    renderRows();
    announce(t("listing.announce", { title: viewTitle(), items: t("listing.items", { count: state.total }) }));
    if (state.show) await showItem(state.show);
  } catch (err) {
    if (seq !== state.seq) return;
    if (err.status === 401) return; // back to the login form
    if (err.status === 404 && state.view === "folder") { toast(t("listing.folderGone")); go("#/folder/root"); return; }
    state.loadError = err;
    setBusy(false);
    renderBreadcrumbs();
    renderRows();
    announce(t("listing.announceError", { title: viewTitle(), message: errorText(err) }));
  }
}

// The next page below the rows already shown.
export async function loadMore() {
  const seq = state.seq;
  try {
    const data = await api("GET", listPath(state.page + 1));
    if (seq !== state.seq) return;
    state.items = state.items.concat(rowsOf(data));
    state.total = data.total;
    state.page += 1;
    renderRows();
  } catch (err) { if (err.status !== 401) toast(errorText(err)); }
}

// After an action: the rows already loaded are fetched again and updated in place.
export async function refresh() {
  if (state.loading || state.loadError || !$(".listing")) return;
  const seq = state.seq;
  try {
    const shown = Math.max(PAGE_SIZE, Math.ceil(state.items.length / PAGE_SIZE) * PAGE_SIZE);
    const { items: fetched, total } = await fetchPages(Math.ceil(shown / BIG_PAGE), seq);
    if (seq !== state.seq) return;
    const items = fetched.slice(0, shown); // as many pages as were shown, not more
    state.items = items;
    state.total = total;
    state.page = Math.max(1, Math.ceil(items.length / PAGE_SIZE));
    const present = new Set(items.map((i) => i.id));
    state.selected = new Set([...state.selected].filter((id) => present.has(id)));
    renderRows();
  } catch (err) { if (err.status !== 401) toast(errorText(err)); }
}

// Select all means all of the folder, not only the rows loaded so far.
export async function selectAll() {
  if (state.loading || state.loadError) return;
  if (state.items.length < state.total) {
    const seq = state.seq;
    announce(t("listing.selectingAll", { count: state.total }));
    try {
      const { items, total } = await fetchPages(Math.ceil(state.total / BIG_PAGE), seq);
      if (seq !== state.seq) return;
      state.items = items;
      state.total = total;
      state.page = Math.max(1, Math.ceil(items.length / PAGE_SIZE));
    } catch (err) { if (err.status !== 401) toast(errorText(err)); return; }
  }
  state.selected = new Set(state.items.map((i) => i.id));
  renderRows();
  announce(t("listing.selected", { count: state.selected.size }));
}

export function clearSelection() {
  state.selected = new Set();
  renderRows();
}

// A search result's "Show in folder": the folder opens with the item selected and in view.
async function showItem(id) {
  state.show = null;
  const seq = state.seq; // another view opened meanwhile: stop (its own load fetches its pages)
  for (let pages = 0; seq === state.seq && !state.items.some((i) => i.id === id) && state.items.length < state.total && pages < 50; pages += 1) {
    await loadMore();
  }
  if (seq !== state.seq) return;
  if (!state.items.some((i) => i.id === id)) return;
  state.selected = new Set([id]);
  state.anchor = id;
  renderRows();
  const tr = revealRow(id);
  if (tr) $(".name button", tr).focus();
}

const viewTitle = () => (state.view === "folder" ? (state.crumbs ? state.crumbs[state.crumbs.length - 1].name || t("nav.myDrive") : "…")
  : state.view === "search" ? t("view.search", { text: state.searchText }) : t(TITLES[state.view]));

async function pathOf(view, folderId) {
  if (view !== "folder" || folderId === "root") return [{ id: "root", name: "" }];
  return (await api("GET", `/api/folders/${encodeURIComponent(folderId)}/path`)).path;
}

export function renderHeader() {
  for (const link of document.querySelectorAll(".sidebar a")) {
    if (link.dataset.view === state.view) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  for (const th of document.querySelectorAll(".listing th[data-sort]")) {
    const active = state.view === "folder" && th.dataset.sort === state.sort;
    const button = $("button", th);
    button.disabled = state.view !== "folder";
    if (active) th.setAttribute("aria-sort", state.order === "asc" ? "ascending" : "descending");
    else th.removeAttribute("aria-sort");
    const next = active && state.order === "asc" ? "desc" : "asc";
    const column = t(`column.${{ name: "name", size: "size", updated_at: "modified" }[th.dataset.sort]}`).toLocaleLowerCase();
    button.title = state.view === "folder" ? t(next === "asc" ? "listing.sortAscending" : "listing.sortDescending", { column }) : "";
  }
  // On a phone the Size and Modified columns are hidden: a select sorts by them instead.
  const phoneSort = $(".phone-sort");
  phoneSort.hidden = state.view !== "folder";
  phoneSort.replaceChildren(...["name", "size", "updated_at"].flatMap((field) => ["asc", "desc"].map((order) => el("option", {
    value: `${field} ${order}`, selected: field === state.sort && order === state.order,
    text: t("listing.sortOption", { column: t(`column.${{ name: "name", size: "size", updated_at: "modified" }[field]}`), arrow: order === "asc" ? "▲" : "▼" }) }))));
  $(".listing").classList.toggle("no-where", !["search", "shared", "starred"].includes(state.view));
  $(".search-filters").hidden = state.view !== "search";
  if (state.view === "search") renderFilters();
  $("#search-input").value = state.view === "search" ? state.searchText : "";
}

// The search's filters (type, kind, size, date, where): each is a parameter of /api/search and
// of the URL, so a filtered search can be reloaded and shared.
const KINDS = [["", "filter.anyKind"], ["image/", "filter.images"], ["video/", "filter.videos"], ["audio/", "filter.audio"],
               ["application/pdf", "filter.pdfs"], ["text/", "filter.text"]];
const SIZES = [["1048576"], ["104857600"], ["1073741824"]];
const DATES = [["", "filter.anyTime"], ["1", "filter.lastDay"], ["7", "filter.lastWeek"], ["30", "filter.lastMonth"], ["365", "filter.lastYear"]];
const label = (options) => options.map(([value, key]) => [value, t(key)]);

function renderFilters() {
  const bar = $(".search-filters");
  const f = state.filters;
  const select = (name, label, options, value) => el("label", {}, el("span", { class: "visually-hidden", text: label }),
    el("select", { name, "aria-label": label, onchange: applyFilters },
      ...options.map(([v, text]) => el("option", { value: v, text, selected: v === (value || "") }))));
  const where = [["", t("filter.everywhere")]];
  if (state.lastFolder && state.lastFolder.id !== "root") where.push([state.lastFolder.id, t("filter.inFolder", { name: state.lastFolder.name })]);
  if (f.folder_id && !where.some(([v]) => v === f.folder_id)) where.push([f.folder_id, t("filter.inSearchedFolder")]);
  const sizes = [["", t("filter.anySize")], ...SIZES.map(([value]) => [value, t("filter.over", { size: humanSize(Number(value)) })])];
  bar.replaceChildren(
    select("type", t("filter.type"), label([["", "filter.anyType"], ["file", "filter.files"], ["folder", "filter.folders"]]), f.type),
    select("content_type", t("filter.kind"), label(KINDS), f.content_type),
    select("min_size", t("filter.size"), sizes, f.min_size),
    select("days", t("filter.created"), label(DATES), f.days),
    select("folder_id", t("filter.where"), where, f.folder_id),
  );
}

function applyFilters() {
  const filters = {};
  for (const field of document.querySelectorAll(".search-filters select")) if (field.value) filters[field.name] = field.value;
  go(hashFor("search", state.searchText, filters));
}

export function renderBreadcrumbs() {
  const nav = $(".breadcrumbs");
  const heading = $(".view-title");
  if (state.view !== "folder") {
    nav.replaceChildren(el("span", { "aria-current": "page", text: viewTitle() }));
  } else if (!state.crumbs) {
    nav.replaceChildren(el("span", { "aria-current": "page", text: "…" }));
  } else {
    const crumbs = state.crumbs;
    const parts = [];
    // In a folder someone shared: the path starts at the shared folder, under "Shared with me".
    if (crumbs[0].id !== "root") parts.push(el("a", { href: "#/shared", text: t("nav.shared") }));
    crumbs.forEach((crumb, index) => {
      const label = crumb.id === "root" ? t("nav.myDrive") : crumb.name;
      if (parts.length) parts.push(el("span", { class: "sep", "aria-hidden": "true", text: t("listing.breadcrumbSeparator") }));
      parts.push(index === crumbs.length - 1
        ? el("span", { "aria-current": "page", text: label })
        : el("a", { href: hashFor("folder", crumb.id), text: label }));
    });
    nav.replaceChildren(...parts);
    state.lastFolder = { id: crumbs[crumbs.length - 1].id, name: viewTitle() };
  }
  heading.textContent = viewTitle();
  document.title = t("app.title", { title: viewTitle() });
}

// One cached row per item id: a row whose item did not change keeps its node.
let rendered = new Map();

export function renderRows() {
  if (!$(".listing tbody")) return;
  renderWindow();
  renderStatus();
  renderToolbar();
}

// A long list draws only the rows on screen and a screenful around them, between two spacer
// rows as tall as the rows left out (the table says how many rows it has: aria-rowcount), so a
// folder of 10,000 files scrolls and selects as one of 100 does. Short lists and the grid
// draw every row.
const WINDOW_FROM = 400;
const WINDOW_BUFFER = 25;
let rowHeight = 45;
let spacers = null;
let scrollScheduled = false;

function windowOf(count) {
  if (state.layout === "grid" || count < WINDOW_FROM) return [0, count];
  const top = $(".listing tbody").getBoundingClientRect().top;
  const first = Math.max(0, Math.min(count, Math.floor(-top / rowHeight)) - WINDOW_BUFFER);
  const last = Math.min(count, Math.ceil((innerHeight - top) / rowHeight) + WINDOW_BUFFER);
  return [first, Math.max(first, last)];
}

function spacer() {
  return el("tr", { class: "spacer", "aria-hidden": "true" }, el("td", { colspan: "6" }));
}

function watchScrolling() {
  const redraw = () => { scrollScheduled = false; if ($(".listing tbody") && state.items.length >= WINDOW_FROM) renderWindow(); };
  const schedule = () => { if (!scrollScheduled) { scrollScheduled = true; requestAnimationFrame(redraw); } };
  window.addEventListener("scroll", schedule, { passive: true });
  window.addEventListener("resize", schedule);
}

function renderWindow() {
  const body = $(".listing tbody");
  if (!spacers) { spacers = [spacer(), spacer()]; watchScrolling(); }
  const focused = focusOf(document.activeElement);
  const listing = $(".listing");
  listing.classList.toggle("grid", state.layout === "grid");
  const [from, to] = windowOf(state.items.length);
  const windowed = to - from < state.items.length;
  const next = new Map();
  for (const item of state.items.slice(from, to)) {
    const json = JSON.stringify(item) + state.view + state.layout;
    const old = rendered.get(item.id);
    next.set(item.id, old && old.json === json ? old : { json, node: row(item) });
  }
  const wanted = [...next.values()].map((r) => r.node);
  if (windowed) wanted.unshift(spacers[0]), wanted.push(spacers[1]);
  const keep = new Set(wanted);
  for (const child of [...body.children]) if (!keep.has(child)) child.remove();
  let cursor = body.firstElementChild;
  for (const node of wanted) {
    if (node === cursor) cursor = cursor.nextElementSibling;
    else body.insertBefore(node, cursor);
  }
  rendered = next;
  let index = from;
  for (const [id, { node }] of next) {
    const chosen = state.selected.has(id);
    node.classList.toggle("selected", chosen);
    node.firstElementChild.firstElementChild.checked = chosen;
    if (windowed) node.setAttribute("aria-rowindex", String(index + 2)); else node.removeAttribute("aria-rowindex");
    index += 1;
  }
  if (windowed) {
    listing.setAttribute("aria-rowcount", String(state.items.length + 1));
    spacers[0].firstElementChild.style.height = `${from * rowHeight}px`;
    spacers[1].firstElementChild.style.height = `${(state.items.length - to) * rowHeight}px`;
    const measured = next.size ? [...next.values()][0].node.getBoundingClientRect().height : 0;
    if (measured > 0 && Math.abs(measured - rowHeight) > 0.5) { rowHeight = measured; requestAnimationFrame(() => renderWindow()); }
  } else {
    listing.removeAttribute("aria-rowcount");
  }
  if (focused && (!document.activeElement || document.activeElement === document.body)) restoreFocus(focused);
}

// Brings a row into view (drawing it first if the list is long) and gives it back.
function revealRow(id) {
  const index = state.items.findIndex((i) => i.id === id);
  if (index < 0) return null;
  if (state.layout !== "grid" && state.items.length >= WINDOW_FROM) {
    const top = $(".listing tbody").getBoundingClientRect().top + scrollY;
    scrollTo(0, top + index * rowHeight - innerHeight / 2);
    renderWindow();
  }
  const tr = $(`.listing tbody tr[data-id="${CSS.escape(id)}"]`);
  if (tr) tr.scrollIntoView({ block: "center" });
  return tr;
}

// Which control of which row has the focus, to give it back when its row is redrawn or gone.
// The row of the list and the column (its cell's first class) that hold `node`; null outside rows.
export function focusedCell(node = document.activeElement) {
  const tr = node && node.closest && node.closest(".listing tbody tr");
  if (!tr) return null;
  const cell = node.closest("td");
  return { tr, column: cell ? cell.className.split(" ")[0] : "col-name" };
}

// Focuses the control in `column` of row `tr` (the name's button where that column has none).
export function focusCell(tr, column) {
  const target = tr && (tr.querySelector(`.${column} input, .${column} button`) || tr.querySelector(".col-name button"));
  if (target) target.focus();
}

function focusOf(node) {
  const cell = focusedCell(node);
  return cell && { id: cell.tr.dataset.id, column: cell.column, index: [...cell.tr.parentNode.children].indexOf(cell.tr) };
}

function restoreFocus({ id, column, index }) {
  const rows = $(".listing tbody").children;
  focusCell($(`.listing tbody tr[data-id="${CSS.escape(id)}"]`) || rows[Math.min(index, rows.length - 1)], column);
}

function renderStatus() {
  const status = $(".empty");
  const retry = el("button", { type: "button", text: t("listing.tryAgain"), onclick: load });
  const empty = ["folder", "starred", "trash", "search", "shared"].includes(state.view) ? t(`listing.empty.${state.view}`) : "";
  if (state.loading) status.replaceChildren(t("common.loading"));
  else if (state.loadError) status.replaceChildren(el("span", { class: "load-error", text: t("listing.loadError", { message: errorText(state.loadError) }) }), " ", retry);
  else status.replaceChildren(state.items.length ? "" : empty);
  $(".load-more").hidden = state.loading || state.items.length >= state.total;
  const all = $(".select-all");
  all.checked = state.items.length > 0 && state.selected.size === state.total;
  all.indeterminate = state.selected.size > 0 && state.selected.size < state.total;
  all.disabled = state.loading || !state.total;
}

function toggle(item, checked, shift) {
  const ids = state.items.map((i) => i.id);
  const from = shift && state.anchor ? ids.indexOf(state.anchor) : -1;
  const to = ids.indexOf(item.id);
  if (from >= 0) {
    for (let i = Math.min(from, to); i <= Math.max(from, to); i += 1) {
      if (checked) state.selected.add(ids[i]); else state.selected.delete(ids[i]);
    }
  } else if (checked) state.selected.add(item.id);
  else state.selected.delete(item.id);
  state.anchor = item.id;
  renderRows();
}

function row(item) {
  const open = () => {
    if (state.view === "trash") return;
    if (item.type === "folder") go(hashFor("folder", item.id));
    else if (previewKind(item)) previewDialog(item);
    else download(item);
  };
  const check = el("input", { type: "checkbox", "aria-label": t("listing.selectItem", { name: item.name }) });
  check.addEventListener("click", (event) => toggle(item, check.checked, event.shiftKey));
  const name = el("button", { type: "button", title: item.name, onclick: open, text: item.name });
  const star = el("button", { type: "button", class: "star", "aria-pressed": item.starred ? "true" : "false",
    "aria-label": t(item.starred ? "listing.unstarItem" : "listing.starItem", { name: item.name }), text: item.starred ? "★" : "☆",
    onclick: () => setStar([item], !item.starred) });
  const when = humanDate(state.view === "trash" ? item.trashed_at : item.updated_at);
  const size = item.type === "file" ? humanSize(item.size) : "—";
  // Search results and starred items say where they are; the folder is a link.
  const whereOf = () => (item.path && state.view !== "shared" && item.parent_id
    ? el("a", { href: hashFor("folder", item.parent_id), text: item.path === "/" ? t("nav.myDrive") : item.path }) : item.path || "");
  const where = whereOf();
  const movable = ["folder", "starred", "search"].includes(state.view) && !item.shared;
  return el("tr", { "data-id": item.id, draggable: movable ? "true" : null },
    el("td", { class: "col-check" }, check),
    el("td", { class: "col-name" }, el("div", { class: "name" }, picture(item), name,
      item.trashed_by ? el("span", { class: "meta by", text: t("listing.deletedBy", { username: item.trashed_by }) }) : null),
      // On a phone the size and date columns are hidden: they show under the name instead.
      el("div", { class: "meta row-meta" }, ...(item.path ? [whereOf(), " · "] : []), item.type === "file" ? t("listing.rowMeta", { size, date: when }) : when)),
    el("td", { class: "col-where meta" }, where),
    el("td", { class: "col-size meta", text: size }),
    el("td", { class: "col-date meta", text: when }),
    el("td", { class: "col-star" }, ["trash", "shared"].includes(state.view) ? null : star));
}

// Images, PDFs and videos show a thumbnail made by the server (a small one in the list, a larger
// one in the grid, twice that on dense screens); anything else, or a file the server cannot
// draw, shows its type's icon.
const THUMBNAILS = /^(image\/(png|jpeg|gif|webp|bmp|tiff|avif)|application\/pdf|video\/)/;

function picture(item) {
  const fallback = icon(iconFor(item));
  if (item.type !== "file" || !THUMBNAILS.test(item.content_type || "") || state.view === "trash") return fallback;
  const size = state.layout === "grid" ? 256 : 64;
  const src = (n) => `/api/files/${item.id}/thumbnail?size=${n}`;
  const img = el("img", { class: "thumb", alt: "", loading: "lazy", decoding: "async", src: src(size),
    srcset: `${src(size)} 1x, ${src(size * 2)} 2x`, width: state.layout === "grid" ? "256" : "20", height: state.layout === "grid" ? "256" : "20" });
  img.addEventListener("error", () => img.replaceWith(fallback), { once: true });
  return img;
}

export function setLayout(layout) {
  state.layout = layout;
  try { localStorage.setItem("layout", layout); } catch (err) { /* private mode: for this page only */ }
  const toggle = $(".layout-toggle");
  toggle.setAttribute("aria-pressed", layout === "grid" ? "true" : "false");
  renderRows();
}

export function selection() {
  return state.items.filter((item) => state.selected.has(item.id));
}

// What can be done to the chosen items, in the order the toolbar and the context menu show it.
export function actionsFor(chosen) {
  const actions = [];
  const add = (key, text, run, danger = false) => actions.push({ key, text, run, danger });
  if (state.view === "trash") {
    if (chosen.length) {
      add("restore", t("toolbar.restore"), () => restoreSelected(chosen));
      add("delete-forever", t("toolbar.deleteForever"), () => deleteForever(chosen), true);
    }
    return actions;
  }
  if (!chosen.length) return actions;
  const one = chosen.length === 1 ? chosen[0] : null;
  const owned = chosen.every((i) => !i.shared);
  if (one && one.type === "file") add("download", t("toolbar.download"), () => download(one));
  else add("download-zip", t("toolbar.downloadZip"), () => downloadZip(chosen));
  if (one && ["search", "starred"].includes(state.view) && one.parent_id) {
    add("show-in-folder", t("toolbar.showInFolder"), () => go(hashFor("folder", one.parent_id, { show: one.id })));
  }
  if (one) add("rename", t("toolbar.rename"), () => renameDialog(one));
  if (one && one.type === "file") add("versions", t("toolbar.versions"), () => versionsDialog(one));
  add("move", t("toolbar.move"), () => moveDialog(chosen, "move"));
  add("copy", t("toolbar.copy"), () => moveDialog(chosen, "copy"));
  if (owned) {
    const allStarred = chosen.every((i) => i.starred);
    add("star", t(allStarred ? "toolbar.unstar" : "toolbar.star"), () => setStar(chosen, !allStarred));
  }
  if (one && owned) add("people", t("toolbar.people"), () => peopleDialog(one));
  if (one && owned) add("share", t("toolbar.share"), () => shareDialog(one));
  add("delete", t("toolbar.delete"), trashSelected, true);
  return actions;
}

function renderToolbar() {
  const bar = $(".toolbar");
  const chosen = selection();
  const buttons = [];
  const loaded = state.items.length < state.total ? t("listing.itemsLoaded", { loaded: state.items.length, total: state.total })
    : t("listing.items", { count: state.total });
  if (!chosen.length && !state.loading && !state.loadError) buttons.push(el("span", { class: "count", text: loaded }));
  if (chosen.length) {
    buttons.push(el("span", { class: "count", text: t("listing.selected", { count: chosen.length }) }));
    buttons.push(el("button", { type: "button", class: "clear-selection", onclick: clearSelection, "aria-label": t("toolbar.clearSelection"), text: "✕" }));
  }
  for (const action of actionsFor(chosen)) {
    buttons.push(el("button", { type: "button", class: action.danger ? "danger" : null, "data-action": action.key, onclick: action.run, text: action.text }));
  }
  if (state.view === "trash") buttons.push(el("button", { type: "button", class: "danger", onclick: emptyTrash, disabled: !state.total, text: t("toolbar.emptyTrash") }));
  // A redrawn toolbar gives the focus back to the button of the same name.
  const focusedText = bar.contains(document.activeElement) ? document.activeElement.textContent : null;
  bar.replaceChildren(...buttons);
  if (focusedText) {
    const again = [...bar.querySelectorAll("button")].find((b) => b.textContent === focusedText);
    if (again) again.focus();
  }
}

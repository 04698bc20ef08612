// Cloud Drive web app: plain JavaScript over the JSON API (same origin, session cookie).
// User data only ever reaches the page through textContent and attributes, never as HTML.

const PAGE_SIZE = 100;

// ---------------------------------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new ApiError(0, "network_error", "The server cannot be reached.");
  }
  if (response.status === 204) return null;
  let data = null;
  try { data = await response.json(); } catch (err) { data = null; }
  if (!response.ok) {
    const error = (data && data.error) || { code: "http_" + response.status, message: response.statusText };
    if (response.status === 401 && !path.startsWith("/api/login")) {
      state.user = null;
      go("#/login");
    }
    throw new ApiError(response.status, error.code, error.message);
  }
  return data;
}

const query = (params) => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== "") search.set(key, value);
  const text = search.toString();
  return text ? "?" + text : "";
};

// ---------------------------------------------------------------------------------------- helpers

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function humanSize(bytes) {
  if (bytes === undefined || bytes === null) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function humanDate(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

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

const icon = (name) => el("img", { class: "icon", src: `/static/icons/${name}.svg`, alt: "", width: "20", height: "20" });

// The server's PREVIEW_TYPES (app/http.py): PDFs are download-only, they cannot render sandboxed.
const PREVIEWABLE = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp", "text/plain"];
const canPreview = (item) => item.type === "file" && (PREVIEWABLE.includes(item.content_type) || /^(audio|video)\//.test(item.content_type));

let toastTimer = null;
function toast(message) {
  const node = $(".toast");
  if (!node) return;
  node.textContent = message;
  node.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => node.classList.remove("show"), 4000);
}

function go(hash) {
  if (location.hash !== hash) location.hash = hash;
  else route();
}

// ---------------------------------------------------------------------------------------- state

const state = {
  user: null,
  view: "folder",       // folder | starred | trash | search
  folderId: "root",
  searchText: "",
  sort: "name",
  order: "asc",
  items: [],
  total: 0,
  page: 1,
  selected: new Set(),
};

// ---------------------------------------------------------------------------------------- sign in

function renderAuth(mode) {
  const app = $("#app");
  app.replaceChildren($("#tpl-auth").content.cloneNode(true));
  const form = $(".auth-form", app);
  const isLogin = mode === "login";
  $(".auth-title", form).textContent = isLogin ? "Log in" : "Create an account";
  $(".auth-submit", form).textContent = isLogin ? "Log in" : "Create account";
  const switcher = $(".auth-switch a", form);
  switcher.textContent = isLogin ? "No account yet? Create one" : "Have an account? Log in";
  switcher.href = isLogin ? "#/register" : "#/login";
  $("#auth-password", form).autocomplete = isLogin ? "current-password" : "new-password";
  $("#auth-username", form).focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = $("#auth-username", form).value.trim();
    const password = $("#auth-password", form).value;
    const error = $(".form-error", form);
    error.textContent = "";
    const button = $(".auth-submit", form);
    button.disabled = true;
    try {
      if (!isLogin) await api("POST", "/api/register", { username, password });
      state.user = await api("POST", "/api/login", { username, password });
      go("#/folder/root");
    } catch (err) {
      error.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
}

// ---------------------------------------------------------------------------------------- shell

function ensureShell() {
  if ($(".topbar")) return;
  const app = $("#app");
  app.replaceChildren($("#tpl-shell").content.cloneNode(true));
  $(".username").textContent = state.user.username;
  $(".logout").addEventListener("click", async () => {
    try { await api("POST", "/api/logout"); } catch (err) { /* logged out either way */ }
    state.user = null;
    go("#/login");
  });
  $(".search").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#search-input").value.trim();
    go(text ? "#/search/" + encodeURIComponent(text) : "#/folder/root");
  });
  const input = $(".file-input");
  $(".new-upload").addEventListener("click", () => input.click());
  input.addEventListener("change", () => { startUploads([...input.files]); input.value = ""; });
  $(".new-folder").addEventListener("click", createFolderDialog);
  $(".select-all").addEventListener("change", (event) => {
    state.selected = event.target.checked ? new Set(state.items.map((i) => i.id)) : new Set();
    renderRows();
  });
  for (const button of document.querySelectorAll("th button[data-sort]")) {
    button.addEventListener("click", () => {
      const field = button.dataset.sort;
      state.order = state.sort === field && state.order === "asc" ? "desc" : "asc";
      state.sort = field;
      load();
    });
  }
  $(".load-more").addEventListener("click", () => load(state.page + 1));
  $(".uploads-close").addEventListener("click", () => $(".uploads").classList.remove("open"));
  const zone = $(".dropzone");
  let depth = 0;
  zone.addEventListener("dragenter", (event) => { if (canDrop(event)) { depth += 1; zone.classList.add("dragging"); } });
  zone.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) zone.classList.remove("dragging"); });
  zone.addEventListener("dragover", (event) => { if (canDrop(event)) event.preventDefault(); });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("dragging");
    if (state.view === "folder") startUploads([...event.dataTransfer.files]);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Delete" && state.selected.size && state.view !== "trash" && !$("#dialog").open
        && !["INPUT", "TEXTAREA"].includes(document.activeElement.tagName)) trashSelected();
  });
}

const canDrop = (event) => state.view === "folder" && [...event.dataTransfer.types].includes("Files");

async function refreshUsage() {
  try {
    const me = await api("GET", "/api/me");
    state.user = me;
    const quota = me.quota_bytes;
    $(".usage-text").textContent = quota ? `${humanSize(me.used_bytes)} of ${humanSize(quota)} used` : `${humanSize(me.used_bytes)} used`;
    $(".usage-bar").value = quota ? Math.min(1, me.used_bytes / quota) : 0;
  } catch (err) { /* shown elsewhere */ }
}

// ---------------------------------------------------------------------------------------- listing

async function load(page = 1) {
  const params = { page, limit: PAGE_SIZE };
  let path;
  if (state.view === "folder") {
    path = `/api/folders/${encodeURIComponent(state.folderId)}/children` + query({ ...params, sort: state.sort, order: state.order });
  } else if (state.view === "starred") {
    path = "/api/starred" + query(params);
  } else if (state.view === "trash") {
    path = "/api/trash" + query(params);
  } else {
    path = "/api/search" + query({ ...params, q: state.searchText });
  }
  try {
    const data = await api("GET", path);
    const rows = data.items;
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

function renderHeader() {
  for (const link of document.querySelectorAll(".sidebar a")) {
    if (link.dataset.view === state.view) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  for (const button of document.querySelectorAll("th button[data-sort]")) {
    const active = state.view === "folder" && button.dataset.sort === state.sort;
    button.disabled = state.view !== "folder";
    if (active) button.setAttribute("aria-sort", state.order === "asc" ? "ascending" : "descending");
    else button.removeAttribute("aria-sort");
  }
  $(".listing").classList.toggle("no-where", state.view !== "search");
  $(".new-upload").disabled = $(".new-folder").disabled = state.view !== "folder";
  $("#search-input").value = state.view === "search" ? state.searchText : "";
}

async function renderBreadcrumbs() {
  const nav = $(".breadcrumbs");
  const titles = { starred: "Starred", trash: "Trash", search: `Search: “${state.searchText}”` };
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
  crumbs.forEach((crumb, index) => {
    const label = crumb.id === "root" ? "My Drive" : crumb.name;
    if (index) parts.push(el("span", { class: "sep", "aria-hidden": "true", text: "›" }));
    parts.push(index === crumbs.length - 1
      ? el("span", { "aria-current": "page", text: label })
      : el("a", { href: `#/folder/${crumb.id}`, text: label }));
  });
  nav.replaceChildren(...parts);
  document.title = `${crumbs[crumbs.length - 1].name || "My Drive"} · Cloud Drive`;
}

function renderRows() {
  const body = $(".listing tbody");
  body.replaceChildren(...state.items.map(row));
  const empty = { folder: "This folder is empty. Upload files or drop them here.", starred: "Nothing starred yet.",
                  trash: "The trash is empty.", search: "Nothing matches." }[state.view];
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
    el("td", { class: "col-name" }, el("div", { class: "name" }, icon(iconFor(item)), name)),
    el("td", { class: "col-where meta", text: item.path || "" }),
    el("td", { class: "col-size meta", text: item.type === "file" ? humanSize(item.size) : "—" }),
    el("td", { class: "col-date meta", text: humanDate(state.view === "trash" ? item.trashed_at : item.updated_at) }),
    el("td", { class: "col-star" }, state.view === "trash" ? null : star));
}

function selection() {
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
    if (one) buttons.push(el("button", { type: "button", onclick: () => shareDialog(one), text: "Share" }));
    buttons.push(el("button", { type: "button", class: "danger", onclick: trashSelected, text: "Delete" }));
  }
  bar.replaceChildren(...buttons);
}

const kindPath = (item) => (item.type === "folder" ? "folders" : "files");

function download(item) {
  const link = el("a", { href: `/api/files/${item.id}`, download: "" });
  document.body.append(link);
  link.click();
  link.remove();
}

async function runAll(items, action, done) {
  const failures = [];
  for (const item of items) {
    try { await action(item); } catch (err) { failures.push(`${item.name}: ${err.message}`); }
  }
  if (failures.length) toast(failures.join(" · "));
  else if (done) toast(done);
  await load();
  refreshUsage();
}

const setStar = (items, starred) => runAll(items, (item) => api(starred ? "PUT" : "DELETE", `/api/${kindPath(item)}/${item.id}/star`));
const trashSelected = () => { const chosen = selection(); return runAll(chosen, (item) => api("DELETE", `/api/${kindPath(item)}/${item.id}`), `${chosen.length} moved to the trash`); };
const restoreSelected = (items) => runAll(items, async (item) => {
  const result = await api("POST", `/api/trash/${item.id}/restore`);
  if (result.note === "restored_to_root") toast(`${item.name} was restored to My Drive: its folder is gone.`);
}, `${items.length} restored`);

async function deleteForever(items) {
  if (await confirmDialog(`Delete ${items.length} item(s) forever?`, "This cannot be undone.", "Delete forever")) {
    runAll(items, (item) => api("DELETE", `/api/trash/${item.id}`), "Deleted forever");
  }
}

async function emptyTrash() {
  if (await confirmDialog("Empty the trash?", "Everything in the trash is deleted forever.", "Empty trash")) {
    try { await api("DELETE", "/api/trash"); toast("The trash is empty"); } catch (err) { toast(err.message); }
    await load();
    refreshUsage();
  }
}

// ---------------------------------------------------------------------------------------- dialogs

const KEEP_OPEN = Symbol("keep the dialog open");

function openDialog({ title, body, ok = "OK", wide = false, onSubmit, cancel = "Cancel" }) {
  const dialog = $("#dialog");
  dialog.classList.toggle("wide", wide);
  $(".dialog-title", dialog).textContent = title;
  $(".dialog-body", dialog).replaceChildren(...[].concat(body));
  $(".form-error", dialog).textContent = "";
  const okButton = $(".dialog-ok", dialog);
  okButton.textContent = ok;
  okButton.hidden = !onSubmit;
  $(".dialog-cancel", dialog).textContent = onSubmit ? cancel : "Close";
  return new Promise((resolve) => {
    const form = $(".dialog-form", dialog);
    const finish = (value) => { form.onsubmit = null; $(".dialog-cancel", dialog).onclick = null; dialog.onclose = null; if (dialog.open) dialog.close(); resolve(value); };
    form.onsubmit = async (event) => {
      event.preventDefault();
      okButton.disabled = true;
      try {
        const result = await onSubmit();
        if (result !== KEEP_OPEN) finish(result);
      }
      catch (err) { $(".form-error", dialog).textContent = err.message; }
      finally { okButton.disabled = false; }
    };
    $(".dialog-cancel", dialog).onclick = () => finish(null);
    dialog.onclose = () => finish(null);
    dialog.showModal();
    const focusable = $(".dialog-body input, .dialog-body button", dialog) || (onSubmit ? okButton : $(".dialog-cancel", dialog));
    focusable.focus();
  });
}

const confirmDialog = (title, text, ok) => openDialog({ title, body: el("p", { text }), ok, onSubmit: async () => true });

function nameField(label, value) {
  const input = el("input", { id: "dialog-name", value, required: true, maxlength: "255", autocomplete: "off" });
  return [el("label", { for: "dialog-name", text: label }), input];
}

async function createFolderDialog() {
  const fields = nameField("Folder name", "");
  const folder = await openDialog({ title: "New folder", body: fields, ok: "Create",
    onSubmit: () => api("POST", "/api/folders", { name: fields[1].value.trim(), parent_id: state.folderId }) });
  if (folder) { toast(`Created ${folder.name}`); load(); }
}

async function renameDialog(item) {
  const fields = nameField("New name", item.name);
  const dot = item.type === "file" ? item.name.lastIndexOf(".") : -1;
  setTimeout(() => fields[1].setSelectionRange(0, dot > 0 ? dot : item.name.length), 0);
  const renamed = await openDialog({ title: `Rename “${item.name}”`, body: fields, ok: "Rename",
    onSubmit: () => api("PATCH", `/api/${kindPath(item)}/${item.id}`, { name: fields[1].value.trim() }) });
  if (renamed) { toast(`Renamed to ${renamed.name}`); load(); }
}

function folderPicker(tree, excluded) {
  let chosen = "root";
  const buttons = [];
  const pick = (id, button) => {
    chosen = id;
    for (const b of buttons) b.setAttribute("aria-pressed", b === button ? "true" : "false");
  };
  const node = (folder) => {
    if (excluded.has(folder.id)) return null;
    const button = el("button", { type: "button", "aria-pressed": "false" }, icon("folder"), ` ${folder.name || "My Drive"}`);
    button.addEventListener("click", () => pick(folder.id, button));
    buttons.push(button);
    const children = folder.children.map(node).filter(Boolean);
    return el("li", {}, button, children.length ? el("ul", { class: "tree" }, ...children) : null);
  };
  const root = el("ul", { class: "tree tree-root", role: "group", "aria-label": "Destination folder" }, node(tree));
  pick("root", buttons[0]);
  return { element: root, value: () => chosen };
}

async function moveDialog(items, mode) {
  let tree;
  try { tree = await api("GET", "/api/folders/tree"); } catch (err) { toast(err.message); return; }
  const picker = folderPicker(tree, new Set(items.filter((i) => i.type === "folder").map((i) => i.id)));
  const verb = mode === "move" ? "Move" : "Copy";
  const title = items.length === 1 ? `${verb} “${items[0].name}” to…` : `${verb} ${items.length} items to…`;
  const target = await openDialog({ title, body: picker.element, ok: verb, onSubmit: async () => picker.value() });
  if (target === null) return;
  await runAll(items, (item) => mode === "move"
    ? api("PATCH", `/api/${kindPath(item)}/${item.id}`, { parent_id: target })
    : api("POST", `/api/${kindPath(item)}/${item.id}/copy`, { parent_id: target }), mode === "move" ? "Moved" : "Copied");
}

async function previewDialog(item) {
  const src = `/api/files/${item.id}/preview`;
  let body;
  if (item.content_type.startsWith("image/")) body = el("img", { src, alt: item.name });
  else if (item.content_type.startsWith("video/")) body = el("video", { src, controls: true });
  else if (item.content_type.startsWith("audio/")) body = el("audio", { src, controls: true });
  else {
    body = el("pre", { text: "Loading…" });
    fetch(src, { credentials: "same-origin", headers: { Range: "bytes=0-1048575" } })
      .then((response) => response.text())
      .then((text) => { body.textContent = text; })
      .catch(() => { body.textContent = "Could not load the preview."; });
  }
  const actions = el("p", {}, el("a", { href: `/api/files/${item.id}`, download: "", text: `Download ${humanSize(item.size)}` }));
  await openDialog({ title: item.name, body: [el("div", { class: "preview" }, body), actions], wide: true });
}

function describeLink(share) {
  const parts = [share.label || "Link", share.state];
  if (share.expires_at) parts.push(`expires ${humanDate(share.expires_at)}`);
  if (share.has_password) parts.push("password");
  parts.push(share.max_downloads ? `${share.download_count}/${share.max_downloads} downloads` : `${share.download_count} downloads`);
  return parts.join(" · ");
}

async function shareDialog(item) {
  const list = el("ul", { class: "links", "aria-label": "Existing links" });
  const output = el("div", { class: "new-link" });
  const refresh = async () => {
    const { shares } = await api("GET", `/api/shares${query({ item_id: item.id })}`);
    list.replaceChildren(...shares.filter((s) => s.state !== "revoked").map((share) => el("li", {},
      el("span", { text: describeLink(share) }),
      el("button", { type: "button", class: "danger", text: "Revoke", onclick: async () => {
        await api("DELETE", `/api/shares/${share.id}`); toast("Link revoked"); refresh();
      } }))));
  };
  const expires = el("input", { id: "share-expires", type: "datetime-local" });
  const password = el("input", { id: "share-password", type: "password", autocomplete: "new-password" });
  const maxDownloads = el("input", { id: "share-max", type: "number", min: "1" });
  const label = el("input", { id: "share-label", maxlength: "200" });
  const body = [
    el("label", { for: "share-label", text: "Label (optional)" }), label,
    el("label", { for: "share-expires", text: "Expires (optional)" }), expires,
    el("label", { for: "share-password", text: "Password (optional)" }), password,
    el("label", { for: "share-max", text: "Maximum downloads (optional)" }), maxDownloads,
    output,
    el("h3", { text: "Links" }), list,
  ];
  refresh().catch((err) => toast(err.message));
  await openDialog({ title: `Share “${item.name}”`, body, ok: "Create link", wide: true, cancel: "Close", onSubmit: async () => {
    const request = { item_id: item.id, label: label.value.trim() || null };
    if (expires.value) request.expires_at = new Date(expires.value).toISOString();
    if (password.value) request.password = password.value;
    if (maxDownloads.value) request.max_downloads = Number(maxDownloads.value);
    const made = await api("POST", "/api/shares", request);
    const field = el("input", { readonly: true, value: made.url, "aria-label": "Share link", class: "share-url" });
    const copy = el("button", { type: "button", text: "Copy", onclick: async () => {
      try { await navigator.clipboard.writeText(made.url); toast("Link copied"); }
      catch (err) { field.select(); toast("Press Ctrl+C to copy"); }
    } });
    output.replaceChildren(field, copy, el("p", { class: "hint", text: "Copy the link now: it is shown only once." }));
    field.select();
    await refresh();
    return KEEP_OPEN;
  } });
}

// ---------------------------------------------------------------------------------------- uploads

const UPLOAD_ERRORS = {
  payload_too_large: "Too large for this server.",
  quota_exceeded: "Not enough space left in your quota.",
  name_conflict: "A file with this name already exists here.",
  storage_full: "The server's disk is full.",
};

function startUploads(files) {
  if (!files.length || state.view !== "folder") return;
  const panel = $(".uploads");
  panel.classList.add("open");
  const folderId = state.folderId;
  for (const file of files) uploadOne(file, folderId, $("ul", panel));
}

function uploadOne(file, folderId, list) {
  const bar = el("progress", { max: String(file.size || 1), value: "0", "aria-label": `Upload progress of ${file.name}` });
  const status = el("span", { class: "up-status", text: "Waiting…" });
  const cancel = el("button", { type: "button", class: "up-cancel", "aria-label": `Cancel upload of ${file.name}`, text: "Cancel" });
  const item = el("li", { class: "uploading", "data-name": file.name },
    el("span", { class: "up-name", title: file.name, text: file.name }), cancel, bar, status);
  list.prepend(item);
  const xhr = new XMLHttpRequest();
  const started = performance.now();
  const form = new FormData();
  form.append("file", file, file.name);
  xhr.open("POST", "/api/upload" + query({ folder_id: folderId }));
  xhr.setRequestHeader("Accept", "application/json");
  xhr.upload.onprogress = (event) => {
    if (!event.lengthComputable) return;
    const sent = Math.min(event.loaded, file.size);
    const seconds = Math.max(0.001, (performance.now() - started) / 1000);
    bar.value = sent;
    status.textContent = `${humanSize(sent)} / ${humanSize(file.size)} · ${humanSize(sent / seconds)}/s`;
  };
  const finish = (cls, text) => {
    item.className = cls;
    status.textContent = text;
    cancel.hidden = true;
  };
  xhr.onload = () => {
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
    if (xhr.status === 201) {
      bar.value = bar.max;
      finish("done", `Uploaded · ${humanSize(file.size)}`);
      if (state.view === "folder" && state.folderId === folderId) load();
      refreshUsage();
    } else {
      const error = (body && body.error) || { code: "http_" + xhr.status, message: "Upload failed." };
      finish("failed", UPLOAD_ERRORS[error.code] || error.message);
      if (xhr.status === 401) go("#/login");
    }
  };
  xhr.onerror = () => finish("failed", "The connection was lost.");
  xhr.onabort = () => finish("failed", "Cancelled.");
  cancel.addEventListener("click", () => xhr.abort());
  status.textContent = "Starting…";
  xhr.send(form);
}

// ---------------------------------------------------------------------------------------- routing

async function route() {
  const hash = location.hash || "#/folder/root";
  if (hash === "#/login" || hash === "#/register") {
    if (state.user) { go("#/folder/root"); return; }
    renderAuth(hash.slice(2));
    return;
  }
  if (!state.user) {
    try { state.user = await api("GET", "/api/me"); } catch (err) { return; } // a 401 routes to #/login
  }
  ensureShell();
  const [, view, arg] = hash.split("/");
  state.view = ["starred", "trash", "search"].includes(view) ? view : "folder";
  state.folderId = state.view === "folder" ? (arg || "root") : "root";
  state.searchText = state.view === "search" ? decodeURIComponent(arg || "") : "";
  renderHeader();
  renderBreadcrumbs();
  await load();
  refreshUsage();
}

window.addEventListener("hashchange", route);
route();

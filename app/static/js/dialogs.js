// The one <dialog> of the page: openDialog fills it and resolves with what onSubmit returned
// (null when cancelled); the dialogs of the app (new folder, rename, move/copy, preview, share).
import { api, query } from "./api.js";
import { kindPath, runBulk } from "./actions.js";
import { refresh, refreshUsage } from "./listing.js";
import { direction, errorText, has, t } from "./i18n.js";
import { previewBody, previewKind } from "./preview.js";
import { hashFor, state } from "./state.js";
import { $, el, humanDate, humanSize, icon, toast } from "./ui.js";

const KEEP_OPEN = Symbol("keep the dialog open");

function openDialog({ title, body, ok = t("dialog.ok"), wide = false, onSubmit, cancel = t("dialog.cancel") }) {
  const dialog = $("#dialog");
  dialog.classList.toggle("wide", wide);
  $(".dialog-title", dialog).textContent = title;
  $(".dialog-body", dialog).replaceChildren(...[].concat(body));
  $(".form-error", dialog).textContent = "";
  const okButton = $(".dialog-ok", dialog);
  okButton.textContent = ok;
  okButton.hidden = !onSubmit;
  $(".dialog-cancel", dialog).textContent = onSubmit ? cancel : t("dialog.close");
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
      catch (err) { $(".form-error", dialog).textContent = errorText(err); }
      finally { okButton.disabled = false; }
    };
    $(".dialog-cancel", dialog).onclick = () => finish(null);
    dialog.onclose = () => finish(null);
    dialog.showModal();
    const focusable = $(".dialog-body input, .dialog-body button", dialog) || (onSubmit ? okButton : $(".dialog-cancel", dialog));
    focusable.focus();
  });
}

export const confirmDialog = (title, text, ok) => openDialog({ title, body: el("p", { text }), ok, onSubmit: async () => true });

function nameField(label, value) {
  const input = el("input", { id: "dialog-name", value, required: true, maxlength: "255", autocomplete: "off" });
  return [el("label", { for: "dialog-name", text: label }), input];
}

export async function createFolderDialog() {
  const fields = nameField(t("dialog.folderName"), "");
  const folder = await openDialog({ title: t("dialog.newFolder"), body: fields, ok: t("dialog.create"),
    onSubmit: () => api("POST", "/api/folders", { name: fields[1].value.trim(), parent_id: state.folderId }) });
  if (folder) { toast(t("dialog.created", { name: folder.name })); refresh(); }
}

export async function renameDialog(item) {
  const fields = nameField(t("dialog.newName"), item.name);
  const dot = item.type === "file" ? item.name.lastIndexOf(".") : -1;
  setTimeout(() => fields[1].setSelectionRange(0, dot > 0 ? dot : item.name.length), 0);
  const renamed = await openDialog({ title: t("dialog.renameTitle", { name: item.name }), body: fields, ok: t("dialog.rename"),
    onSubmit: () => api("PATCH", `/api/${kindPath(item)}/${item.id}`, { name: fields[1].value.trim() }) });
  if (renamed) { toast(t("dialog.renamed", { name: renamed.name })); refresh(); }
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
    const button = el("button", { type: "button", "aria-pressed": "false" }, icon("folder"), ` ${folder.name || t("nav.myDrive")}`);
    button.addEventListener("click", () => pick(folder.id, button));
    buttons.push(button);
    const children = folder.children.map(node).filter(Boolean);
    return el("li", {}, button, children.length ? el("ul", { class: "tree" }, ...children) : null);
  };
  const root = el("div", { class: "tree-root", role: "group", "aria-label": t("dialog.destination") },
    el("ul", { class: "tree" }, node(tree)));
  pick("root", buttons[0]);
  return { element: root, value: () => chosen };
}

export async function moveDialog(items, mode) {
  let tree;
  try { tree = await api("GET", "/api/folders/tree"); } catch (err) { toast(errorText(err)); return; }
  const picker = folderPicker(tree, new Set(items.filter((i) => i.type === "folder").map((i) => i.id)));
  const move = mode === "move";
  const title = items.length === 1 ? t(move ? "dialog.moveOne" : "dialog.copyOne", { name: items[0].name })
    : t(move ? "dialog.moveMany" : "dialog.copyMany", { count: items.length });
  const target = await openDialog({ title, body: picker.element, ok: t(move ? "dialog.move" : "dialog.copy"), onSubmit: async () => picker.value() });
  if (target === null) return;
  await runBulk(items, mode, t(move ? "actions.moved" : "actions.copied"), { parent_id: target });
}

// A preview; ← and → step to the previous and next previewable file of the list.
export async function previewDialog(item) {
  const dialog = $("#dialog");
  const viewable = state.items.filter((i) => previewKind(i));
  let index = Math.max(0, viewable.findIndex((i) => i.id === item.id));
  const frame = el("div", { class: "preview" });
  const actions = el("p", { class: "preview-actions" });
  const show = (shown) => {
    $(".dialog-title", dialog).textContent = shown.name;
    frame.replaceChildren(previewBody(shown));
    const position = viewable.length > 1 ? el("span", { class: "hint", text: t("preview.position", { index: index + 1, count: viewable.length }) }) : null;
    // A search result or a starred file says where it lives: the folder opens with it selected.
    const where = ["search", "starred"].includes(state.view) && shown.parent_id
      ? el("a", { href: hashFor("folder", shown.parent_id, { show: shown.id }), text: t("toolbar.showInFolder"),
                  onclick: () => dialog.close() }) : null;
    actions.replaceChildren(el("a", { href: `/api/files/${shown.id}`, download: "", text: t("preview.download", { size: humanSize(shown.size) }) }),
      " ", ...(where ? [where, " "] : []), position || "");
  };
  const step = (event) => {
    if (!["ArrowLeft", "ArrowRight"].includes(event.key) || viewable.length < 2 || event.target.closest("video, audio, input")) return;
    event.preventDefault();
    const next = (event.key === "ArrowRight") !== (direction === "rtl"); // right to left: ← is next
    index = (index + (next ? 1 : -1) + viewable.length) % viewable.length;
    show(viewable[index]);
  };
  dialog.addEventListener("keydown", step);
  const opened = openDialog({ title: item.name, body: [frame, actions], wide: true });
  show(viewable[index] || item);
  await opened;
  dialog.removeEventListener("keydown", step);
}

// A file's history: the current content and each kept version, to preview (images and text),
// download, restore (only if nobody changed the file meanwhile: If-Match) or delete.
export async function versionsDialog(item) {
  const list = el("ul", { class: "versions", "aria-label": t("versions.label") });
  const shown = el("div", { class: "preview version-preview" });
  let current = item;
  const showVersions = async () => {
    let versions;
    try { ({ versions } = await api("GET", `/api/files/${item.id}/versions`)); }
    catch (err) { list.replaceChildren(el("li", { text: errorText(err) })); return; }
    const line = (v, label) => t("versions.line", { label, size: humanSize(v.size), date: humanDate(v.modified_at || v.created_at) });
    const rows = [el("li", {}, el("span", { text: line(current, t("versions.current", { revision: current.revision || 1 })) }),
      el("a", { href: `/api/files/${item.id}`, download: "", text: t("versions.download"), "aria-label": t("versions.downloadCurrent") }))];
    for (const version of versions) {
      const url = `/api/files/${item.id}/versions/${version.id}`;
      const label = version.revision ? t("versions.revision", { revision: version.revision }) : t("versions.unknownRevision");
      const actions = [];
      if (version.content_type.startsWith("image/") || version.content_type === "text/plain") {
        actions.push(el("button", { type: "button", text: t("versions.preview"), "aria-label": t("versions.previewLabel", { label }), onclick: () => previewVersion(version, url) }));
      }
      actions.push(el("a", { href: url, download: "", text: t("versions.download"), "aria-label": t("versions.downloadLabel", { label }) }));
      actions.push(el("button", { type: "button", text: t("versions.restore"), "aria-label": t("versions.restoreLabel", { label }), onclick: async () => {
        try {
          current = await api("POST", `${url}/restore`, undefined, { "If-Match": `"${current.sha256}"` });
          toast(t("versions.restored", { label }));
          shown.replaceChildren();
          refresh();
          showVersions();
        } catch (err) { toast(err.code === "precondition_failed" ? t("versions.changedMeanwhile") : errorText(err)); if (err.code === "precondition_failed") reload(); }
      } }));
      if (!item.shared) {
        actions.push(el("button", { type: "button", class: "danger", text: t("versions.delete"), "aria-label": t("versions.deleteLabel", { label }), onclick: async () => {
          try { await api("DELETE", url); toast(t("versions.deleted", { label })); shown.replaceChildren(); showVersions(); refreshUsage(); }
          catch (err) { toast(errorText(err)); }
        } }));
      }
      rows.push(el("li", {}, el("span", { text: line(version, label) }), el("span", { class: "version-actions" }, ...actions)));
    }
    if (!versions.length) rows.push(el("li", { class: "hint", text: t("versions.none") }));
    list.replaceChildren(...rows);
  };
  const reload = async () => { try { current = await api("GET", `/api/files/${item.id}/info`); } catch (err) { /* gone */ } showVersions(); };
  const previewVersion = (version, url) => {
    if (version.content_type.startsWith("image/")) { shown.replaceChildren(el("img", { src: url, alt: t("versions.imageAlt", { name: item.name, version: version.id }) })); return; }
    const pre = el("pre", { text: t("common.loading") });
    shown.replaceChildren(pre);
    fetch(url, { credentials: "same-origin", headers: { Range: "bytes=0-1048575" } })
      .then((response) => response.text()).then((text) => { pre.textContent = text; })
      .catch(() => { pre.textContent = t("preview.failed"); });
  };
  showVersions();
  await openDialog({ title: t("versions.title", { name: item.name }), body: [list, shown], wide: true });
}

// What fills the quota: files, kept versions and the trash, with the settings that govern each.
export async function usageDialog() {
  let u;
  try { u = await api("GET", "/api/me/usage"); } catch (err) { toast(errorText(err)); return; }
  const parts = [
    [t("usage.files"), u.file_bytes, t("usage.filesHint", { files: t("usage.fileCount", { count: u.file_count }), folders: t("usage.folderCount", { count: u.folder_count }) })],
    [t("usage.versions"), u.version_bytes, t("usage.versionsHint", { count: u.version_count, kept: u.retention.versions_per_file })],
    [t("usage.trash"), u.trash_bytes, t("usage.trashHint", { files: t("usage.fileCount", { count: u.trashed_file_count }), days: t("usage.dayCount", { count: u.retention.trash_days }) })],
  ];
  const largest = Math.max(1, ...parts.map(([, bytes]) => bytes));
  const body = [
    el("p", { text: u.quota_bytes ? t("usage.usedOf", { used: humanSize(u.used_bytes), quota: humanSize(u.quota_bytes) }) : t("usage.usedNoQuota", { used: humanSize(u.used_bytes) }) }),
    el("dl", { class: "usage-parts" }, ...parts.flatMap(([label, bytes, hint]) => [
      el("dt", {}, el("span", { text: label }), el("span", { class: "meta", text: humanSize(bytes) })),
      el("dd", {}, el("progress", { max: largest, value: bytes, "aria-label": t("usage.partLabel", { part: label, size: humanSize(bytes) }) }), el("span", { class: "hint", text: hint }))])),
    el("p", { class: "hint", text: t("usage.dedupe") }),
    el("p", {}, el("a", { href: "#/trash", text: t("usage.openTrash") })),
  ];
  await openDialog({ title: t("usage.title"), body });
}

// Each shortcut's keys are "shortcuts.<name>.keys" in the catalogue, what it does "shortcuts.<name>".
const SHORTCUTS = ["rows", "open", "select", "range", "selectAll", "escape", "rename", "delete", "search", "step", "help"];

export function shortcutsDialog() {
  const list = el("dl", { class: "shortcuts" }, ...SHORTCUTS.flatMap((name) => [el("dt", { text: t(`shortcuts.${name}.keys`) }), el("dd", { text: t(`shortcuts.${name}`) })]));
  return openDialog({ title: t("shortcuts.title"), body: list });
}

function describeLink(share) {
  const parts = [share.label || t("share.link"), has(`share.state.${share.state}`) ? t(`share.state.${share.state}`) : share.state];
  if (share.expires_at) parts.push(t("share.expiresOn", { date: humanDate(share.expires_at) }));
  if (share.has_password) parts.push(t("share.hasPassword"));
  if (share.mode === "upload") {
    parts.splice(1, 0, t("share.uploadOnly"));
    parts.push(share.max_files ? t("share.filesReceivedOf", { count: share.uploaded_files, max: share.max_files })
      : t("share.filesReceived", { count: share.uploaded_files }));
  } else {
    parts.push(share.max_downloads ? t("share.downloadsOf", { count: share.download_count, max: share.max_downloads })
      : t("share.downloads", { count: share.download_count }));
  }
  return parts.join(" · ");
}

// Who opened, unlocked and downloaded a link, and when (loaded when opened).
function linkActivity(share) {
  const events = el("ul", { class: "link-events" });
  const details = el("details", {}, el("summary", { text: t("share.whoUsed") }), events);
  details.addEventListener("toggle", async () => {
    if (!details.open) return;
    try {
      const data = await api("GET", `/api/shares/${share.id}/activity${query({ limit: 50 })}`);
      const action = (e) => (has(`share.event.${e.action}`) ? t(`share.event.${e.action}`) : e.action.replaceAll("_", " "));
      events.replaceChildren(...(data.events.length ? data.events.map((e) => el("li", {
        text: t(e.address ? "share.eventFrom" : "share.event", { date: humanDate(e.at), action: action(e), address: e.address }) }))
        : [el("li", { text: t("share.nobody") })]));
    } catch (err) { events.replaceChildren(el("li", { text: errorText(err) })); }
  });
  return details;
}

export async function shareDialog(item) {
  const list = el("ul", { class: "links", "aria-label": t("share.existing") });
  const output = el("div", { class: "new-link" });
  const refresh = async () => {
    const { shares } = await api("GET", `/api/shares${query({ item_id: item.id })}`);
    list.replaceChildren(...shares.filter((s) => s.state !== "revoked").map((share) => el("li", {},
      el("span", { text: describeLink(share) }),
      el("button", { type: "button", class: "danger", text: t("share.revoke"), onclick: async () => {
        await api("DELETE", `/api/shares/${share.id}`); toast(t("share.revoked")); refresh();
      } }), linkActivity(share))));
  };
  const expires = el("input", { id: "share-expires", type: "datetime-local" });
  const password = el("input", { id: "share-password", type: "password", autocomplete: "new-password" });
  const maxDownloads = el("input", { id: "share-max", type: "number", min: "1" });
  const label = el("input", { id: "share-label", maxlength: "200" });
  // A folder can get a "file drop" link instead: people upload into it and see nothing of it.
  const uploadOnly = el("input", { id: "share-upload-only", type: "checkbox" });
  const maxFiles = el("input", { id: "share-max-files", type: "number", min: "1" });
  const downloadsLabel = el("label", { for: "share-max", text: t("share.maxDownloads") });
  const filesLabel = el("label", { for: "share-max-files", text: t("share.maxFiles"), hidden: true });
  maxFiles.hidden = true;
  uploadOnly.addEventListener("change", () => {
    for (const node of [downloadsLabel, maxDownloads]) node.hidden = uploadOnly.checked;
    for (const node of [filesLabel, maxFiles]) node.hidden = !uploadOnly.checked;
  });
  const body = [
    el("label", { for: "share-label", text: t("share.labelField") }), label,
    item.type === "folder" ? el("p", { class: "check-row" }, el("label", { for: "share-upload-only" }, uploadOnly,
      ` ${t("share.uploadOnlyField")}`)) : null,
    el("label", { for: "share-expires", text: t("share.expiresField") }), expires,
    el("label", { for: "share-password", text: t("share.passwordField") }), password,
    downloadsLabel, maxDownloads, filesLabel, maxFiles,
    output,
    el("h3", { text: t("share.links") }), list,
  ].filter(Boolean);
  refresh().catch((err) => toast(errorText(err)));
  await openDialog({ title: t("share.title", { name: item.name }), body, ok: t("share.create"), wide: true, cancel: t("dialog.close"), onSubmit: async () => {
    const request = { item_id: item.id, label: label.value.trim() || null };
    if (expires.value) request.expires_at = new Date(expires.value).toISOString();
    if (password.value) request.password = password.value;
    if (uploadOnly.checked) {
      request.mode = "upload";
      if (maxFiles.value) request.max_files = Number(maxFiles.value);
    } else if (maxDownloads.value) request.max_downloads = Number(maxDownloads.value);
    const made = await api("POST", "/api/shares", request);
    const field = el("input", { readonly: true, value: made.url, "aria-label": t("share.url"), class: "share-url" });
    const copy = el("button", { type: "button", text: t("share.copy"), onclick: async () => {
      try { await navigator.clipboard.writeText(made.url); toast(t("share.copied")); }
      catch (err) { field.select(); toast(t("share.pressCtrlC")); }
    } });
    output.replaceChildren(field, copy, el("p", { class: "hint", text: t("share.once") }));
    field.select();
    await refresh();
    return KEEP_OPEN;
  } });
}

// Sharing with people on this server: who has access and as what; add, change, remove.
export async function peopleDialog(item) {
  const list = el("ul", { class: "members", "aria-label": t("people.list") });
  const refresh = async () => {
    let members;
    try { ({ members } = await api("GET", `/api/items/${item.id}/members`)); }
    catch (err) { list.replaceChildren(el("li", { text: errorText(err) })); return; }
    list.replaceChildren(...(members.length ? members.map((member) => {
      const role = el("select", { "aria-label": t("people.roleOf", { username: member.username }), onchange: async () => {
        try { await api("PATCH", `/api/items/${item.id}/members/${encodeURIComponent(member.username)}`, { role: role.value }); toast(t(role.value === "editor" ? "people.nowEditor" : "people.nowViewer", { username: member.username })); }
        catch (err) { toast(errorText(err)); refresh(); }
      } }, ...["viewer", "editor"].map((value) => el("option", { value, text: t(value === "viewer" ? "people.canView" : "people.canEdit"), selected: member.role === value })));
      return el("li", {}, el("span", { text: member.username }), role,
        el("button", { type: "button", class: "danger", text: t("people.remove"), "aria-label": t("people.removeLabel", { username: member.username }), onclick: async () => {
          try { await api("DELETE", `/api/items/${item.id}/members/${encodeURIComponent(member.username)}`); toast(t("people.removed", { username: member.username })); }
          catch (err) { toast(errorText(err)); }
          refresh();
        } }));
    }) : [el("li", { text: t("people.onlyYou") })]));
  };
  const username = el("input", { id: "member-username", autocomplete: "off", maxlength: "64", required: true });
  const role = el("select", { id: "member-role" }, el("option", { value: "viewer", text: t("people.canView") }), el("option", { value: "editor", text: t("people.canEdit") }));
  const body = [
    el("p", { class: "hint", text: t(item.type === "folder" ? "people.folderHint" : "people.fileHint") }),
    el("label", { for: "member-username", text: t("people.username") }), username,
    el("label", { for: "member-role", text: t("people.access") }), role,
    el("h3", { text: t("people.list") }), list,
  ];
  refresh();
  await openDialog({ title: t("people.title", { name: item.name }), body, ok: t("people.add"), wide: true, cancel: t("dialog.close"), onSubmit: async () => {
    const member = await api("POST", `/api/items/${item.id}/members`, { username: username.value.trim(), role: role.value });
    toast(t("people.added", { username: member.username }));
    username.value = "";
    await refresh();
    return KEEP_OPEN;
  } });
}

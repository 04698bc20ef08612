// The one <dialog> of the page: openDialog fills it and resolves with what onSubmit returned
// (null when cancelled); the dialogs of the app (new folder, rename, move/copy, preview, share).
import { api, query } from "./api.js";
import { kindPath, runBulk } from "./actions.js";
import { refresh, refreshUsage } from "./listing.js";
import { previewBody, previewKind } from "./preview.js";
import { state } from "./state.js";
import { $, el, humanDate, humanSize, icon, toast } from "./ui.js";

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

export const confirmDialog = (title, text, ok) => openDialog({ title, body: el("p", { text }), ok, onSubmit: async () => true });

function nameField(label, value) {
  const input = el("input", { id: "dialog-name", value, required: true, maxlength: "255", autocomplete: "off" });
  return [el("label", { for: "dialog-name", text: label }), input];
}

export async function createFolderDialog() {
  const fields = nameField("Folder name", "");
  const folder = await openDialog({ title: "New folder", body: fields, ok: "Create",
    onSubmit: () => api("POST", "/api/folders", { name: fields[1].value.trim(), parent_id: state.folderId }) });
  if (folder) { toast(`Created ${folder.name}`); refresh(); }
}

export async function renameDialog(item) {
  const fields = nameField("New name", item.name);
  const dot = item.type === "file" ? item.name.lastIndexOf(".") : -1;
  setTimeout(() => fields[1].setSelectionRange(0, dot > 0 ? dot : item.name.length), 0);
  const renamed = await openDialog({ title: `Rename “${item.name}”`, body: fields, ok: "Rename",
    onSubmit: () => api("PATCH", `/api/${kindPath(item)}/${item.id}`, { name: fields[1].value.trim() }) });
  if (renamed) { toast(`Renamed to ${renamed.name}`); refresh(); }
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
  const root = el("div", { class: "tree-root", role: "group", "aria-label": "Destination folder" },
    el("ul", { class: "tree" }, node(tree)));
  pick("root", buttons[0]);
  return { element: root, value: () => chosen };
}

export async function moveDialog(items, mode) {
  let tree;
  try { tree = await api("GET", "/api/folders/tree"); } catch (err) { toast(err.message); return; }
  const picker = folderPicker(tree, new Set(items.filter((i) => i.type === "folder").map((i) => i.id)));
  const verb = mode === "move" ? "Move" : "Copy";
  const title = items.length === 1 ? `${verb} “${items[0].name}” to…` : `${verb} ${items.length} items to…`;
  const target = await openDialog({ title, body: picker.element, ok: verb, onSubmit: async () => picker.value() });
  if (target === null) return;
  await runBulk(items, mode, mode === "move" ? "Moved" : "Copied", { parent_id: target });
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
    const position = viewable.length > 1 ? el("span", { class: "hint", text: `${index + 1} of ${viewable.length} · ← → to step` }) : null;
    actions.replaceChildren(el("a", { href: `/api/files/${shown.id}`, download: "", text: `Download ${humanSize(shown.size)}` }), " ", position || "");
  };
  const step = (event) => {
    if (!["ArrowLeft", "ArrowRight"].includes(event.key) || viewable.length < 2 || event.target.closest("video, audio, input")) return;
    event.preventDefault();
    index = (index + (event.key === "ArrowRight" ? 1 : -1) + viewable.length) % viewable.length;
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
  const list = el("ul", { class: "versions", "aria-label": "Versions" });
  const shown = el("div", { class: "preview version-preview" });
  let current = item;
  const showVersions = async () => {
    let versions;
    try { ({ versions } = await api("GET", `/api/files/${item.id}/versions`)); }
    catch (err) { list.replaceChildren(el("li", { text: err.message })); return; }
    const line = (v, label) => `${label} · ${humanSize(v.size)} · ${humanDate(v.modified_at || v.created_at)}`;
    const rows = [el("li", {}, el("span", { text: line(current, `Current (revision ${current.revision || 1})`) }),
      el("a", { href: `/api/files/${item.id}`, download: "", text: "Download", "aria-label": "Download the current version" }))];
    for (const version of versions) {
      const url = `/api/files/${item.id}/versions/${version.id}`;
      const label = `Revision ${version.revision || "?"}`;
      const actions = [];
      if (version.content_type.startsWith("image/") || version.content_type === "text/plain") {
        actions.push(el("button", { type: "button", text: "Preview", "aria-label": `Preview ${label}`, onclick: () => previewVersion(version, url) }));
      }
      actions.push(el("a", { href: url, download: "", text: "Download", "aria-label": `Download ${label}` }));
      actions.push(el("button", { type: "button", text: "Restore", "aria-label": `Restore ${label}`, onclick: async () => {
        try {
          current = await api("POST", `${url}/restore`, undefined, { "If-Match": `"${current.sha256}"` });
          toast(`${label} is the current version again`);
          shown.replaceChildren();
          refresh();
          showVersions();
        } catch (err) { toast(err.code === "precondition_failed" ? "Someone changed this file meanwhile: look again before restoring." : err.message); if (err.code === "precondition_failed") reload(); }
      } }));
      if (!item.shared) {
        actions.push(el("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete ${label}`, onclick: async () => {
          try { await api("DELETE", url); toast(`${label} deleted`); shown.replaceChildren(); showVersions(); refreshUsage(); }
          catch (err) { toast(err.message); }
        } }));
      }
      rows.push(el("li", {}, el("span", { text: line(version, label) }), el("span", { class: "version-actions" }, ...actions)));
    }
    if (!versions.length) rows.push(el("li", { class: "hint", text: "No earlier versions. Replacing the file keeps the previous content here." }));
    list.replaceChildren(...rows);
  };
  const reload = async () => { try { current = await api("GET", `/api/files/${item.id}/info`); } catch (err) { /* gone */ } showVersions(); };
  const previewVersion = (version, url) => {
    if (version.content_type.startsWith("image/")) { shown.replaceChildren(el("img", { src: url, alt: `${item.name}, ${version.id}` })); return; }
    const pre = el("pre", { text: "Loading…" });
    shown.replaceChildren(pre);
    fetch(url, { credentials: "same-origin", headers: { Range: "bytes=0-1048575" } })
      .then((response) => response.text()).then((text) => { pre.textContent = text; })
      .catch(() => { pre.textContent = "Could not load the preview."; });
  };
  showVersions();
  await openDialog({ title: `Versions of “${item.name}”`, body: [list, shown], wide: true });
}

// What fills the quota: files, kept versions and the trash, with the settings that govern each.
export async function usageDialog() {
  let u;
  try { u = await api("GET", "/api/me/usage"); } catch (err) { toast(err.message); return; }
  const parts = [
    ["Files", u.file_bytes, `${u.file_count.toLocaleString()} files in ${u.folder_count.toLocaleString()} folders`],
    ["Versions", u.version_bytes, `${u.version_count.toLocaleString()} earlier contents; up to ${u.retention.versions_per_file} are kept per file, older ones are deleted`],
    ["Trash", u.trash_bytes, `${u.trashed_file_count.toLocaleString()} files; deleted for good after ${u.retention.trash_days} days`],
  ];
  const largest = Math.max(1, ...parts.map(([, bytes]) => bytes));
  const body = [
    el("p", { text: u.quota_bytes ? `${humanSize(u.used_bytes)} of ${humanSize(u.quota_bytes)} used` : `${humanSize(u.used_bytes)} used (no quota)` }),
    el("dl", { class: "usage-parts" }, ...parts.flatMap(([label, bytes, hint]) => [
      el("dt", {}, el("span", { text: label }), el("span", { class: "meta", text: humanSize(bytes) })),
      el("dd", {}, el("progress", { max: largest, value: bytes, "aria-label": `${label}: ${humanSize(bytes)}` }), el("span", { class: "hint", text: hint }))])),
    el("p", { class: "hint", text: "Identical contents are stored once, so these can add up to more than what is used. Emptying the trash and deleting versions frees space." }),
    el("p", {}, el("a", { href: "#/trash", text: "Open the trash" })),
  ];
  await openDialog({ title: "Storage", body });
}

const SHORTCUTS = [["↑ ↓", "Move between rows"], ["Enter", "Open the folder or preview the file"], ["Space", "Select or unselect the row (on its checkbox)"],
  ["Shift + click", "Select a range"], ["Ctrl + A", "Select everything in the folder"], ["Escape", "Clear the selection; in search, clear the search"],
  ["F2", "Rename the selected item"], ["Delete", "Move the selection to the trash"], ["/", "Search"], ["← →", "In a preview: the previous or next file"], ["?", "This help"]];

export function shortcutsDialog() {
  const list = el("dl", { class: "shortcuts" }, ...SHORTCUTS.flatMap(([keys, what]) => [el("dt", { text: keys }), el("dd", { text: what })]));
  return openDialog({ title: "Keyboard shortcuts", body: list });
}

function describeLink(share) {
  const parts = [share.label || "Link", share.state];
  if (share.expires_at) parts.push(`expires ${humanDate(share.expires_at)}`);
  if (share.has_password) parts.push("password");
  if (share.mode === "upload") {
    parts.splice(1, 0, "upload only");
    parts.push(share.max_files ? `${share.uploaded_files}/${share.max_files} files received` : `${share.uploaded_files} files received`);
  } else {
    parts.push(share.max_downloads ? `${share.download_count}/${share.max_downloads} downloads` : `${share.download_count} downloads`);
  }
  return parts.join(" · ");
}

// Who opened, unlocked and downloaded a link, and when (loaded when opened).
function linkActivity(share) {
  const events = el("ul", { class: "link-events" });
  const details = el("details", {}, el("summary", { text: "Who used it" }), events);
  details.addEventListener("toggle", async () => {
    if (!details.open) return;
    try {
      const data = await api("GET", `/api/shares/${share.id}/activity${query({ limit: 50 })}`);
      events.replaceChildren(...(data.events.length ? data.events.map((e) => el("li", {
        text: `${humanDate(e.at)} · ${e.action.replaceAll("_", " ")}${e.address ? " · from " + e.address : ""}` }))
        : [el("li", { text: "Nobody yet." })]));
    } catch (err) { events.replaceChildren(el("li", { text: err.message })); }
  });
  return details;
}

export async function shareDialog(item) {
  const list = el("ul", { class: "links", "aria-label": "Existing links" });
  const output = el("div", { class: "new-link" });
  const refresh = async () => {
    const { shares } = await api("GET", `/api/shares${query({ item_id: item.id })}`);
    list.replaceChildren(...shares.filter((s) => s.state !== "revoked").map((share) => el("li", {},
      el("span", { text: describeLink(share) }),
      el("button", { type: "button", class: "danger", text: "Revoke", onclick: async () => {
        await api("DELETE", `/api/shares/${share.id}`); toast("Link revoked"); refresh();
      } }), linkActivity(share))));
  };
  const expires = el("input", { id: "share-expires", type: "datetime-local" });
  const password = el("input", { id: "share-password", type: "password", autocomplete: "new-password" });
  const maxDownloads = el("input", { id: "share-max", type: "number", min: "1" });
  const label = el("input", { id: "share-label", maxlength: "200" });
  // A folder can get a "file drop" link instead: people upload into it and see nothing of it.
  const uploadOnly = el("input", { id: "share-upload-only", type: "checkbox" });
  const maxFiles = el("input", { id: "share-max-files", type: "number", min: "1" });
  const downloadsLabel = el("label", { for: "share-max", text: "Maximum downloads (optional)" });
  const filesLabel = el("label", { for: "share-max-files", text: "Maximum files received (optional)", hidden: true });
  maxFiles.hidden = true;
  uploadOnly.addEventListener("change", () => {
    for (const node of [downloadsLabel, maxDownloads]) node.hidden = uploadOnly.checked;
    for (const node of [filesLabel, maxFiles]) node.hidden = !uploadOnly.checked;
  });
  const body = [
    el("label", { for: "share-label", text: "Label (optional)" }), label,
    item.type === "folder" ? el("p", { class: "check-row" }, el("label", { for: "share-upload-only" }, uploadOnly,
      " Upload only (a file drop: people with the link upload into this folder and never see it)")) : null,
    el("label", { for: "share-expires", text: "Expires (optional)" }), expires,
    el("label", { for: "share-password", text: "Password (optional)" }), password,
    downloadsLabel, maxDownloads, filesLabel, maxFiles,
    output,
    el("h3", { text: "Links" }), list,
  ].filter(Boolean);
  refresh().catch((err) => toast(err.message));
  await openDialog({ title: `Share “${item.name}”`, body, ok: "Create link", wide: true, cancel: "Close", onSubmit: async () => {
    const request = { item_id: item.id, label: label.value.trim() || null };
    if (expires.value) request.expires_at = new Date(expires.value).toISOString();
    if (password.value) request.password = password.value;
    if (uploadOnly.checked) {
      request.mode = "upload";
      if (maxFiles.value) request.max_files = Number(maxFiles.value);
    } else if (maxDownloads.value) request.max_downloads = Number(maxDownloads.value);
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

// Sharing with people on this server: who has access and as what; add, change, remove.
export async function peopleDialog(item) {
  const list = el("ul", { class: "members", "aria-label": "People with access" });
  const refresh = async () => {
    let members;
    try { ({ members } = await api("GET", `/api/items/${item.id}/members`)); }
    catch (err) { list.replaceChildren(el("li", { text: err.message })); return; }
    list.replaceChildren(...(members.length ? members.map((member) => {
      const role = el("select", { "aria-label": `Role of ${member.username}`, onchange: async () => {
        try { await api("PATCH", `/api/items/${item.id}/members/${encodeURIComponent(member.username)}`, { role: role.value }); toast(`${member.username} is now a ${role.value}`); }
        catch (err) { toast(err.message); refresh(); }
      } }, ...["viewer", "editor"].map((value) => el("option", { value, text: value === "viewer" ? "Can view" : "Can edit", selected: member.role === value })));
      return el("li", {}, el("span", { text: member.username }), role,
        el("button", { type: "button", class: "danger", text: "Remove", "aria-label": `Remove ${member.username}`, onclick: async () => {
          try { await api("DELETE", `/api/items/${item.id}/members/${encodeURIComponent(member.username)}`); toast(`${member.username} no longer has access`); }
          catch (err) { toast(err.message); }
          refresh();
        } }));
    }) : [el("li", { text: "Only you have access." })]));
  };
  const username = el("input", { id: "member-username", autocomplete: "off", maxlength: "64", required: true });
  const role = el("select", { id: "member-role" }, el("option", { value: "viewer", text: "Can view" }), el("option", { value: "editor", text: "Can edit" }));
  const body = [
    el("p", { class: "hint", text: item.type === "folder"
      ? "People you add find this folder under “Shared with me”. Editors can upload, rename, move and delete inside it; what they upload counts against your storage."
      : "People you add find this file under “Shared with me”. Editors can upload new versions of it." }),
    el("label", { for: "member-username", text: "Username" }), username,
    el("label", { for: "member-role", text: "Access" }), role,
    el("h3", { text: "People with access" }), list,
  ];
  refresh();
  await openDialog({ title: `Share “${item.name}” with people`, body, ok: "Add", wide: true, cancel: "Close", onSubmit: async () => {
    const member = await api("POST", `/api/items/${item.id}/members`, { username: username.value.trim(), role: role.value });
    toast(`Shared with ${member.username}`);
    username.value = "";
    await refresh();
    return KEEP_OPEN;
  } });
}

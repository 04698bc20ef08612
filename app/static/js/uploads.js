// Uploads: one multipart POST per file through XMLHttpRequest (for its upload progress), each
// with its own row, progress bar, speed and Cancel in the uploads panel.
import { query } from "./api.js";
import { load, refreshUsage } from "./listing.js";
import { go, state } from "./state.js";
import { $, el, humanSize } from "./ui.js";

const UPLOAD_ERRORS = {
  payload_too_large: "Too large for this server.",
  quota_exceeded: "Not enough space left in your quota.",
  name_conflict: "A file with this name already exists here.",
  storage_full: "The server's disk is full.",
};

export function startUploads(files) {
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
  xhr.open("POST", "/api/upload" + query({ folder_id: folderId, last_modified: file.lastModified }));
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

// Uploads through the server's tus endpoint (/api/tus/) with tus-js-client (vendored in
// static/vendor/, loaded before this module as window.tus): 16 MiB chunks, each kept by the
// server before it answers; after a network error or a 5xx the upload waits (0.5 s to 30 s)
// and continues from the server's offset; a file picked again after a reload continues its
// upload (its URL is kept in localStorage under a fingerprint of folder, path, size and date).
// Four files go at a time. Each has a row in the uploads panel with its progress, speed,
// Cancel, and after a failure Retry, or on a name clash Replace / Keep both / Skip. Folders
// (the folder picker, or dropped folders) keep their tree: each file names its folders in
// tus `relativePath` and the server makes them. A server whose storage cannot resume uploads
// (encryption at rest) answers 501 to tus: from then on each file is one multipart POST
// /api/upload (with its progress, Cancel and the same errors, but no resume).
import { api, query } from "./api.js";
import { errorText, has, t } from "./i18n.js";
import { refresh, refreshUsage } from "./listing.js";
import { go, state } from "./state.js";
import { $, el, humanSize, toast } from "./ui.js";

const CHUNK = 16 * 1024 * 1024;
const RETRY_DELAYS = [500, 1000, 3000, 5000, 10000, 20000, 30000];
const PARALLEL = 4;

// An upload's error next to its file: the uploads' own words for some codes (upload.error.*),
// else the app's (errorText).
const uploadError = (error) => (has(`upload.error.${error.code}`) ? t(`upload.error.${error.code}`) : errorText(error));

let resumable = true;  // until the server answers 501 resumable_unavailable
const queue = [];      // jobs waiting for a slot
const running = new Set();
const counts = { total: 0, done: 0, failed: 0, skipped: 0 };
let reloadTimer = null;

// files: File objects, each optionally with .relativePath ("Trip/Day 1/a.jpg").
// into: a folder of the list (files dropped on its row); by default the folder shown.
export function startUploads(files, into = null) {
  // Into the folder the page is on (its path shows while its rows load); not into one the
  // server could not show (the view says so and offers Try again).
  if (!files.length || state.view !== "folder") return;
  if (state.loadError) { toast(t("listing.loadError", { message: errorText(state.loadError) })); return; }
  const folderId = into || state.folderId;
  for (const file of files) {
    counts.total += 1;
    enqueue(newJob(file, folderId, file.relativePath || file.webkitRelativePath || ""));
  }
  openPanel();
  pump();
}

// Dropped items, folders included (read through the File and Directory Entries API).
export async function filesFromDrop(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return [...dataTransfer.files];
  const files = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      if (prefix) file.relativePath = prefix + file.name;
      files.push(file);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {  // readEntries answers in batches until an empty one
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child, prefix + entry.name + "/");
      }
    }
  };
  for (const entry of entries) await walk(entry, "");
  return files;
}

function newJob(file, folderId, relativePath) {
  const label = relativePath || file.name;
  const bar = el("progress", { max: String(file.size || 1), value: "0", "aria-label": t("upload.progressLabel", { name: label }) });
  const status = el("span", { class: "up-status", text: t("upload.waiting") });
  const actions = el("span", { class: "up-actions" });
  const row = el("li", { class: "waiting", "data-name": file.name, "data-path": label },
    el("span", { class: "up-name", title: label, text: label }), actions, bar, status);
  $(".uploads ul").prepend(row);
  return { file, folderId, relativePath, onConflict: "fail", row, bar, status, actions, upload: null };
}

function enqueue(job) {
  queue.push(job);
  setActions(job, [["cancel", () => { queue.splice(queue.indexOf(job), 1); cancelled(job); }]]);
}

function cancelled(job) {
  counts.skipped += 1;
  finish(job, "failed", t("upload.cancelled"));
}

function pump() {
  while (running.size < PARALLEL && queue.length) run(queue.shift());
  summarize();
}

function run(job) {
  running.add(job);
  job.row.className = "uploading";
  job.status.textContent = t("upload.starting");
  if (resumable && !job.ifMatch) runResumable(job);
  else runMultipart(job);  // a replace that names the version it replaces (If-Match) is one request
}

function runResumable(job) {
  const { file } = job;
  const started = performance.now();
  let startOffset = null;
  const metadata = { filename: file.name, filetype: file.type || "application/octet-stream",
                     folder_id: job.folderId, on_conflict: job.onConflict, lastModified: String(file.lastModified) };
  if (job.relativePath) metadata.relativePath = job.relativePath;
  const upload = new window.tus.Upload(file, {
    endpoint: "/api/tus/",
    chunkSize: CHUNK,
    retryDelays: RETRY_DELAYS,
    metadata,
    removeFingerprintOnSuccess: true,
    fingerprint: async () => ["drive", state.user && state.user.id, job.folderId, job.relativePath || file.name,
                              file.size, file.lastModified, job.onConflict].join("|"),
    onShouldRetry: (err) => {
      const status = err.originalResponse ? err.originalResponse.getStatus() : 0;
      if (!status || (status >= 500 && ![501, 507].includes(status)) || status === 423) {
        job.status.textContent = t("upload.retrying");
        return true;
      }
      return status === 409 && errorOf(err).code === "offset_mismatch";
    },
    onProgress: (sent) => {
      if (startOffset === null) startOffset = sent;
      showProgress(job, sent, started, startOffset);
    },
    onSuccess: (payload) => {
      const response = payload && payload.lastResponse;
      if (response && !response.getHeader("Upload-File-Id")) {  // all bytes, but no file said yet
        failed(job, { code: "not_confirmed", message: t("upload.notConfirmed") });
        return;
      }
      succeeded(job);
    },
    onError: (err) => {
      if (errorOf(err).code === "resumable_unavailable") {
        resumable = false;
        runMultipart(job);
      } else failed(job, errorOf(err));
    },
  });
  job.upload = upload;
  setActions(job, [["cancel", () => { upload.abort(true).catch(() => {}); cancelled(job); }]]);
  upload.findPreviousUploads().then((previous) => {
    if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
    if (running.has(job)) upload.start();
  });
}

// Bytes sent of the file, and the speed since this attempt began (from startOffset on).
function showProgress(job, sent, started, startOffset) {
  const seconds = Math.max(0.001, (performance.now() - started) / 1000);
  job.bar.value = sent;
  job.status.textContent = t("upload.progress", { sent: humanSize(sent), total: humanSize(job.file.size),
    speed: humanSize(Math.max(0, sent - startOffset) / seconds) });
}

function succeeded(job) {
  job.bar.value = job.bar.max;
  counts.done += 1;
  finish(job, "done", t("upload.done", { size: humanSize(job.file.size) }));
  scheduleReload(job.folderId);
}

function errorOf(err) {
  const response = err && err.originalResponse;
  if (!response) return { code: "network_error", message: t("upload.error.network_error") };
  try {
    const body = JSON.parse(response.getBody());
    if (body && body.error) return body.error;
  } catch (parseError) { /* not JSON */ }
  return { code: "http_" + response.getStatus(), message: t("upload.failed") };
}

// One multipart POST through XMLHttpRequest (for its upload progress).
function runMultipart(job) {
  const { file } = job;
  const xhr = new XMLHttpRequest();
  const started = performance.now();
  const form = new FormData();
  form.append("file", file, file.name);
  const folders = job.relativePath.split("/").slice(0, -1).join("/");
  xhr.open("POST", "/api/upload" + query({ folder_id: job.folderId, on_conflict: job.onConflict,
                                           last_modified: file.lastModified, relative_path: folders }));
  xhr.setRequestHeader("Accept", "application/json");
  if (job.ifMatch) xhr.setRequestHeader("If-Match", job.ifMatch);
  xhr.upload.onprogress = (event) => {
    if (event.lengthComputable) showProgress(job, Math.min(event.loaded, file.size), started, 0);
  };
  xhr.onload = () => {
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
    if (xhr.status === 201) {
      succeeded(job);
    } else {
      failed(job, (body && body.error) || { code: "http_" + xhr.status, message: t("upload.failed") });
    }
  };
  xhr.onerror = () => failed(job, { code: "network_error", message: t("upload.error.network_error") });
  setActions(job, [["cancel", () => { xhr.onerror = null; xhr.abort(); cancelled(job); }]]);
  xhr.send(form);
}

function failed(job, error) {
  if (error.code === "unauthorized") go("#/login");
  finish(job, "failed", uploadError(error));
  counts.failed += 1;
  const again = (onConflict) => () => {
    counts.failed -= 1;
    job.onConflict = onConflict || job.onConflict;
    enqueue(job);
    job.row.className = "waiting";
    job.status.textContent = t("upload.waiting");
    pump();
  };
  // Replace names the file's current version (If-Match): if someone changes it meanwhile, the
  // server refuses (412) and nobody's work is overwritten unknowingly.
  const replace = async () => {
    job.ifMatch = await currentTag(job);
    again("replace")();
  };
  if (error.code === "name_conflict" || error.code === "precondition_failed") {
    setActions(job, [["replace", replace], ["keep-both", again("rename")],
                     ["skip", () => { counts.failed -= 1; counts.skipped += 1; finish(job, "skipped", t("upload.skipped")); }]]);
  } else if (!["quota_exceeded", "payload_too_large", "invalid_name", "unauthorized"].includes(error.code)) {
    setActions(job, [["retry", again(null)]]);
  }
  summarize();
}

// The ETag of the file an upload would replace, from the folder it goes into (null when it
// cannot be told: a file in a subfolder of a folder upload is replaced without the check).
async function currentTag(job) {
  if (job.relativePath && job.relativePath.includes("/")) return null;
  try {
    const found = await api("GET", `/api/folders/${encodeURIComponent(job.folderId)}/children` + query({ name: job.file.name }));
    const file = found.items.find((item) => item.type === "file");
    return file ? `"${file.sha256}"` : null;
  } catch (err) { return null; }
}

function finish(job, cls, text) {
  job.row.className = cls;
  job.status.textContent = text;
  setActions(job, []);
  if (running.delete(job)) pump();
  summarize();
  refreshUsage();
}

// Buttons by action: "keep-both" is the class up-keep-both and the words of upload.keepBoth.
const ACTION_KEYS = { cancel: "upload.cancel", replace: "upload.replace", "keep-both": "upload.keepBoth", skip: "upload.skip", retry: "upload.retry" };

function setActions(job, buttons) {
  job.actions.replaceChildren(...buttons.map(([action, handler]) => {
    const text = t(ACTION_KEYS[action]);
    return el("button", { type: "button", class: `up-${action}`,
      "aria-label": t("upload.actionLabel", { action: text, name: job.relativePath || job.file.name }), text, onclick: handler });
  }));
}

function summarize() {
  const left = running.size + queue.length;
  const parts = [t("upload.summary.uploaded", { done: counts.done, total: counts.total })];
  if (counts.failed) parts.push(t("upload.summary.failed", { count: counts.failed }));
  if (counts.skipped) parts.push(t("upload.summary.skipped", { count: counts.skipped }));
  const summary = $(".uploads-summary");
  const text = parts.join(t("common.listSeparator"));
  if (summary) summary.textContent = left ? t("upload.summary.running", { summary: text, count: left }) : text;
  const reopen = $(".uploads-open");
  if (reopen) {
    reopen.hidden = counts.total === 0;
    reopen.textContent = left ? t("upload.openCount", { count: left }) : t("shell.uploads");
  }
}

// A finished file shows up in the folder it went to (one reload for a burst of them).
function scheduleReload(folderId) {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => {
    if (state.view === "folder" && state.folderId === folderId) refresh();
  }, 300);
}

export function openPanel() {
  $(".uploads").classList.add("open");
  summarize();
}

export const uploadsInProgress = () => running.size + queue.length > 0;

// Leaving the page while uploads run asks first (they can continue after a reload, when the
// same files are picked again, but not by themselves).
window.addEventListener("beforeunload", (event) => {
  if (!uploadsInProgress()) return;
  event.preventDefault();
  event.returnValue = "";
});

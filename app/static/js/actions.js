// What a person does to items: download (one file, or a ZIP of several), star, trash (with
// Undo), restore, delete forever, move, copy. Several items go in one request to
// /api/items/bulk, which answers per item; failures are named in one toast, then the rows are
// updated in place.
import { api } from "./api.js";
import { confirmDialog } from "./dialogs.js";
import { refresh, refreshUsage, selection } from "./listing.js";
import { toast, el } from "./ui.js";

export const kindPath = (item) => (item.type === "folder" ? "folders" : "files");

function clickLink(href) {
  const link = el("a", { href, download: "" });
  document.body.append(link);
  link.click();
  link.remove();
}

export const download = (item) => clickLink(`/api/files/${item.id}`);

// A folder alone downloads from its own URL; a selection posts its ids in a form (the browser
// then saves the streamed answer as a file, however large).
export function downloadZip(items) {
  if (items.length === 1 && items[0].type === "folder") { clickLink(`/api/folders/${items[0].id}/zip`); return; }
  const form = el("form", { method: "post", action: "/api/zip", hidden: true },
    ...items.map((item) => el("input", { type: "hidden", name: "ids", value: item.id })));
  document.body.append(form);
  form.submit();
  form.remove();
}

// One request for all the items; the answer says per item whether it worked.
export async function bulk(items, action, extra = {}) {
  const byId = new Map(items.map((item) => [item.id, item]));
  let answer;
  try {
    answer = await api("POST", "/api/items/bulk", { action, ids: items.map((item) => item.id), ...extra });
  } catch (err) {
    toast(err.message);
    return null;
  }
  const failures = answer.results.filter((r) => !r.ok).map((r) => `${(byId.get(r.id) || {}).name || r.id}: ${r.error.message}`);
  return { answer, failures };
}

export async function runBulk(items, action, done, extra = {}) {
  const outcome = await bulk(items, action, extra);
  if (outcome) {
    if (outcome.failures.length) toast(outcome.failures.slice(0, 5).join(" · ") + (outcome.failures.length > 5 ? ` · and ${outcome.failures.length - 5} more` : ""));
    else if (done) toast(done);
  }
  await refresh();
  refreshUsage();
  return outcome;
}

const plural = (n, one) => (n === 1 ? `1 ${one}` : `${n.toLocaleString()} ${one}s`);

export const setStar = (items, starred) => runBulk(items, starred ? "star" : "unstar");

// Deleting puts items in the trash; the toast's Undo takes them out again.
export async function trashSelected() {
  const chosen = selection();
  const outcome = await bulk(chosen, "trash");
  if (!outcome) return;
  const trashed = outcome.answer.results.filter((r) => r.ok).map((r) => ({ id: r.id }));
  if (outcome.failures.length) toast(outcome.failures.slice(0, 5).join(" · "));
  else toast(`${plural(trashed.length, "item")} moved to the trash`, trashed.length ? {
    label: "Undo", run: () => runBulk(trashed, "restore", `${plural(trashed.length, "item")} restored`) } : undefined);
  await refresh();
  refreshUsage();
}

export const restoreSelected = async (items) => {
  const outcome = await runBulk(items, "restore", `${plural(items.length, "item")} restored`);
  const toRoot = outcome ? outcome.answer.results.filter((r) => r.ok && r.note === "restored_to_root").length : 0;
  if (toRoot) toast(`${plural(toRoot, "item")} restored to My Drive: ${toRoot === 1 ? "its folder is" : "their folders are"} gone.`);
};

export async function deleteForever(items) {
  if (await confirmDialog(`Delete ${plural(items.length, "item")} forever?`, "This cannot be undone.", "Delete forever")) {
    await runBulk(items, "delete", "Deleted forever");
  }
}

export async function emptyTrash() {
  if (await confirmDialog("Empty the trash?", "Everything in the trash is deleted forever.", "Empty trash")) {
    try { await api("DELETE", "/api/trash"); toast("The trash is empty"); } catch (err) { toast(err.message); }
    await refresh();
    refreshUsage();
  }
}

// What a person does to items: download (one file, or a ZIP of several), star, trash (with
// Undo), restore, delete forever, move, copy. Several items go in one request to
// /api/items/bulk, which answers per item; failures are named in one toast, then the rows are
// updated in place.
import { api } from "./api.js";
import { confirmDialog } from "./dialogs.js";
import { refresh, refreshUsage, selection } from "./listing.js";
import { errorText, t } from "./i18n.js";
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
// then saves the streamed answer as a file, however large). The server is asked first (HEAD for
// a folder, `check` for a selection: nothing is sent or recorded), so a refusal (an item gone
// meanwhile, too many entries) is a message here rather than a page of JSON in place of the app.
const STATUS_CODES = { 404: "item_not_found", 413: "zip_too_large" };

export async function downloadZip(items) {
  const folder = items.length === 1 && items[0].type === "folder";
  const ids = items.map((item) => item.id);
  try {
    if (folder) {
      const response = await fetch(`/api/folders/${ids[0]}/zip`, { method: "HEAD", credentials: "same-origin" });
      if (!response.ok) {
        const code = STATUS_CODES[response.status] || `http_${response.status}`;
        throw Object.assign(new Error(response.statusText), { code, status: response.status });
      }
    } else {
      await api("POST", "/api/zip", { ids, check: true });
    }
  } catch (err) {
    toast(t("actions.zipRefused", { message: errorText(err) }));
    return;
  }
  if (folder) { clickLink(`/api/folders/${ids[0]}/zip`); return; }
  const form = el("form", { method: "post", action: "/api/zip", hidden: true },
    ...ids.map((id) => el("input", { type: "hidden", name: "ids", value: id })));
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
    toast(errorText(err));
    return null;
  }
  const failures = answer.results.filter((r) => !r.ok)
    .map((r) => t("actions.failure", { name: (byId.get(r.id) || {}).name || r.id, message: errorText(r.error) }));
  return { answer, failures };
}

export async function runBulk(items, action, done, extra = {}) {
  const outcome = await bulk(items, action, extra);
  if (outcome) {
    if (outcome.failures.length) toast(failureText(outcome.failures));
    else if (done) toast(done);
  }
  await refresh();
  refreshUsage();
  return outcome;
}

// The first few failures by name, then how many more.
function failureText(failures) {
  const shown = failures.slice(0, 5);
  if (failures.length > 5) shown.push(t("actions.failuresMore", { count: failures.length - 5 }));
  return shown.join(" · ");
}

export const setStar = (items, starred) => runBulk(items, starred ? "star" : "unstar");

// Deleting puts items in the trash; the toast's Undo takes them out again.
export async function trashSelected() {
  const chosen = selection();
  const outcome = await bulk(chosen, "trash");
  if (!outcome) return;
  const trashed = outcome.answer.results.filter((r) => r.ok).map((r) => ({ id: r.id }));
  // What went to the trash can come back even when some items could not go.
  const said = outcome.failures.length ? failureText(outcome.failures) : t("actions.trashed", { count: trashed.length });
  toast(said, trashed.length ? {
    label: t("actions.undo"), run: () => runBulk(trashed, "restore", t("actions.restored", { count: trashed.length })) } : undefined);
  await refresh();
  refreshUsage();
}

export const restoreSelected = async (items) => {
  const outcome = await runBulk(items, "restore", t("actions.restored", { count: items.length }));
  const toRoot = outcome ? outcome.answer.results.filter((r) => r.ok && r.note === "restored_to_root").length : 0;
  if (toRoot) toast(t("actions.restoredToRoot", { count: toRoot }));
};

export async function deleteForever(items) {
  if (await confirmDialog(t("actions.deleteForeverTitle", { count: items.length }), t("actions.cannotUndo"), t("toolbar.deleteForever"))) {
    await runBulk(items, "delete", t("actions.deletedForever"));
  }
}

export async function emptyTrash() {
  if (await confirmDialog(t("actions.emptyTrashTitle"), t("actions.emptyTrashText"), t("toolbar.emptyTrash"))) {
    try { await api("DELETE", "/api/trash"); toast(t("actions.trashEmptied")); } catch (err) { toast(errorText(err)); }
    await refresh();
    refreshUsage();
  }
}

// What a person does to items: download, star, trash, restore, delete forever. Each action
// runs item by item, reports failures by name in one toast, then reloads the listing.
import { api } from "./api.js";
import { confirmDialog } from "./dialogs.js";
import { load, refreshUsage, selection } from "./listing.js";
import { toast, el } from "./ui.js";

export const kindPath = (item) => (item.type === "folder" ? "folders" : "files");

export function download(item) {
  const link = el("a", { href: `/api/files/${item.id}`, download: "" });
  document.body.append(link);
  link.click();
  link.remove();
}

export async function runAll(items, action, done) {
  const failures = [];
  for (const item of items) {
    try { await action(item); } catch (err) { failures.push(`${item.name}: ${err.message}`); }
  }
  if (failures.length) toast(failures.join(" · "));
  else if (done) toast(done);
  await load();
  refreshUsage();
}

export const setStar = (items, starred) => runAll(items, (item) => api(starred ? "PUT" : "DELETE", `/api/${kindPath(item)}/${item.id}/star`));
export const trashSelected = () => { const chosen = selection(); return runAll(chosen, (item) => api("DELETE", `/api/${kindPath(item)}/${item.id}`), `${chosen.length} moved to the trash`); };
export const restoreSelected = (items) => runAll(items, async (item) => {
  const result = await api("POST", `/api/trash/${item.id}/restore`);
  if (result.note === "restored_to_root") toast(`${item.name} was restored to My Drive: its folder is gone.`);
}, `${items.length} restored`);

export async function deleteForever(items) {
  if (await confirmDialog(`Delete ${items.length} item(s) forever?`, "This cannot be undone.", "Delete forever")) {
    runAll(items, (item) => api("DELETE", `/api/trash/${item.id}`), "Deleted forever");
  }
}

export async function emptyTrash() {
  if (await confirmDialog("Empty the trash?", "Everything in the trash is deleted forever.", "Empty trash")) {
    try { await api("DELETE", "/api/trash"); toast("The trash is empty"); } catch (err) { toast(err.message); }
    await load();
    refreshUsage();
  }
}

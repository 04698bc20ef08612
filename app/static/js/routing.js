// The URL hash decides what the page shows: the sign-in form, or a view of the drive.
import { api } from "./api.js";
import { load, refreshUsage, renderBreadcrumbs, renderHeader } from "./listing.js";
import { ensureShell, renderAuth } from "./shell.js";
import { go, state } from "./state.js";

export async function route() {
  const hash = location.hash || "#/folder/root";
  const [authPath, authQuery] = hash.split("?");
  if (authPath === "#/login" || authPath === "#/register") {
    if (state.user) { go("#/folder/root"); return; }
    // An administrator's invitation arrives as #/register?invite=<secret>.
    renderAuth(authPath.slice(2), new URLSearchParams(authQuery || "").get("invite"));
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

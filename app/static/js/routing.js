// The URL hash decides what the page shows: the sign-in form, or a view of the drive.
import { api } from "./api.js";
import { renderAccount, renderActivity } from "./account.js";
import { renderAdmin } from "./admin.js";
import { errorText } from "./i18n.js";
import { load, refreshUsage, renderHeader } from "./listing.js";
import { hidePage } from "./pages.js";
import { renderForgot, renderReset, renderVerify } from "./recovery.js";
import { ensureShell, renderAuth } from "./shell.js";
import { SORTS, go, state } from "./state.js";
import { toast } from "./ui.js";

const PAGES = { account: renderAccount, activity: renderActivity, admin: renderAdmin };

export async function route() {
  const hash = location.hash || "#/folder/root";
  const [authPath, authQuery] = hash.split("?");
  if (authPath === "#/login" || authPath === "#/register") {
    if (state.user) { go("#/folder/root"); return; }
    // An administrator's invitation arrives as #/register?invite=<secret>.
    renderAuth(authPath.slice(2), new URLSearchParams(authQuery || "").get("invite"));
    return;
  }
  // Links from emails work logged in or not (the secret is in the fragment: never sent in a URL).
  const token = new URLSearchParams(authQuery || "").get("token") || "";
  if (authPath === "#/forgot") { renderForgot(); return; }
  if (authPath === "#/reset") { renderReset(token); return; }
  if (authPath === "#/verify-email") { renderVerify(token); return; }
  if (!state.user) {
    try { state.user = await api("GET", "/api/me"); } catch (err) { return; } // a 401 routes to #/login
  }
  ensureShell();
  const [, view, arg] = authPath.split("/");
  if (PAGES[view]) {
    state.view = view;
    renderHeader();
    try { await PAGES[view](); } catch (err) { if (err.status !== 401) toast(errorText(err)); } // a 401 went to #/login
    return;
  }
  hidePage();
  const params = new URLSearchParams(authQuery || "");
  state.view = ["starred", "trash", "search", "shared"].includes(view) ? view : "folder";
  state.folderId = state.view === "folder" ? (arg || "root") : "root";
  state.searchText = state.view === "search" ? decoded(arg || "") : "";
  state.sort = SORTS.includes(params.get("sort")) ? params.get("sort") : "name";
  state.order = params.get("order") === "desc" ? "desc" : "asc";
  state.show = params.get("show");
  state.filters = {};
  if (state.view === "search") {
    for (const key of SEARCH_FILTERS) if (params.get(key)) state.filters[key] = params.get(key);
  }
  renderHeader();
  await load();
  refreshUsage();
}

const SEARCH_FILTERS = ["type", "content_type", "min_size", "days", "folder_id"];
// A hash typed or pasted by hand may hold a broken %-escape: it is then searched as it is.
function decoded(text) {
  try { return decodeURIComponent(text); } catch (err) { return text; }
}

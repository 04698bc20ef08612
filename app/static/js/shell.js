// The two frames of the page: the sign-in form (log in or create an account) and the drive's
// shell (top bar, sidebar, listing, uploads panel), built once from the templates of app.html.
import { api } from "./api.js";
import { trashSelected } from "./actions.js";
import { createFolderDialog, renameDialog, shortcutsDialog, usageDialog } from "./dialogs.js";
import { errorText, languageSwitch, t } from "./i18n.js";
import { clearSelection, focusCell, focusedCell, loadMore, selectAll, selection, setLayout } from "./listing.js";
import { go, hashFor, state } from "./state.js";
import { filesFromDrop, openPanel, startUploads } from "./uploads.js";
import { setUpGestures } from "./gestures.js";
import { $ } from "./ui.js";

export function renderAuth(mode, invite) {
  const app = $("#app");
  app.replaceChildren($("#tpl-auth").content.cloneNode(true));
  const form = $(".auth-form", app);
  const isLogin = mode === "login";
  $(".auth-title", form).textContent = t(isLogin ? "auth.login.title" : "auth.register.title");
  $(".auth-submit", form).textContent = t(isLogin ? "auth.login.submit" : "auth.register.submit");
  const switcher = $(".auth-switch a", form);
  switcher.textContent = t(isLogin ? "auth.toRegister" : "auth.toLogin");
  switcher.href = isLogin ? "#/register" : "#/login";
  $("#auth-password", form).autocomplete = isLogin ? "current-password" : "new-password";
  $(".remember-row", form).hidden = !isLogin;
  $(".auth-forgot", form).hidden = !isLogin;
  if (!isLogin && invite) $(".auth-note", form).textContent = t("auth.invited");
  $(".auth", app).append(languageSwitch());
  $("#auth-username", form).focus();
  let waitingForCode = false; // the password was right; two-factor login wants the code now
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = $("#auth-username", form).value.trim();
    const password = $("#auth-password", form).value;
    const remember = $("#auth-remember", form).checked;
    const error = $(".form-error", form);
    error.textContent = "";
    const button = $(".auth-submit", form);
    button.disabled = true;
    try {
      if (waitingForCode) {
        state.user = await api("POST", "/api/login/2fa", { code: $("#auth-code", form).value.trim() });
      } else {
        if (!isLogin) await api("POST", "/api/register", invite ? { username, password, invite } : { username, password });
        state.user = await api("POST", "/api/login", { username, password, remember });
      }
      go("#/folder/root");
    } catch (err) {
      if (err.code === "two_factor_required") {
        waitingForCode = true;
        $(".code-row", form).hidden = false;
        $("#auth-username", form).disabled = true;
        $("#auth-password", form).disabled = true;
        $(".auth-submit", form).textContent = t("auth.verify");
        $("#auth-code", form).focus();
        $(".auth-note", form).textContent = t("auth.codeNote");
      } else {
        error.textContent = errorText(err);
      }
    } finally {
      button.disabled = false;
    }
  });
}

export function ensureShell() {
  if ($(".topbar")) return;
  const app = $("#app");
  app.replaceChildren($("#tpl-shell").content.cloneNode(true));
  $(".username").textContent = state.user.username;
  $(".admin-link").hidden = state.user.role !== "admin";
  $(".logout").addEventListener("click", async () => {
    try { await api("POST", "/api/logout"); } catch (err) { /* logged out either way */ }
    state.user = null;
    go("#/login");
  });
  $(".search").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#search-input").value.trim();
    const scope = state.view === "search" ? state.filters.folder_id : insideShare() ? state.folderId : null;
    go(text ? hashFor("search", text, scope ? { folder_id: scope } : {}) : hashFor("folder", "root"));
  });
  // Escape in the search box clears it and goes back to the folder the search started from.
  $("#search-input").addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.target.value = "";
    if (state.view === "search") go(hashFor("folder", state.lastFolder ? state.lastFolder.id : "root"));
  });
  const input = $(".file-input");
  $(".new-upload").addEventListener("click", () => input.click());
  input.addEventListener("change", () => { startUploads([...input.files]); input.value = ""; });
  const folderInput = $(".folder-input");
  $(".new-folder-upload").addEventListener("click", () => folderInput.click());
  folderInput.addEventListener("change", () => { startUploads([...folderInput.files]); folderInput.value = ""; });
  $(".uploads-open").addEventListener("click", openPanel);
  $(".new-folder").addEventListener("click", createFolderDialog);
  $(".select-all").addEventListener("change", (event) => { if (event.target.checked) selectAll(); else clearSelection(); });
  for (const th of document.querySelectorAll(".listing th[data-sort]")) {
    $("button", th).addEventListener("click", () => {
      const field = th.dataset.sort;
      state.order = state.sort === field && state.order === "asc" ? "desc" : "asc";
      state.sort = field;
      go(hashFor("folder", state.folderId));
    });
  }
  $(".load-more").addEventListener("click", loadMore);
  $(".phone-sort").addEventListener("change", (event) => {
    [state.sort, state.order] = event.target.value.split(" ");
    go(hashFor("folder", state.folderId));
  });
  $(".usage-text").addEventListener("click", usageDialog);
  setUpGestures();
  $(".layout-toggle").setAttribute("aria-pressed", state.layout === "grid" ? "true" : "false");
  $(".layout-toggle").addEventListener("click", () => setLayout(state.layout === "grid" ? "list" : "grid"));
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
    if (event.handledHere) return; // dropped on a folder row: gestures.js sent it there
    // Into the folder shown when the files were dropped: reading a dropped folder's tree takes
    // a while, and the person may have opened another folder meanwhile.
    const into = state.folderId;
    if (state.view === "folder") filesFromDrop(event.dataTransfer).then((files) => startUploads(files, into));
  });
  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName) && document.activeElement.type !== "checkbox";
    if ($("#dialog").open || typing || !$(".listing") || !$(".page").hidden) return;
    if (event.key === "Delete" && state.selected.size && state.view !== "trash") trashSelected();
    else if (event.key === "a" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); selectAll(); }
    else if (event.key === "Escape" && state.selected.size) clearSelection();
    else if (event.key === "/" && !event.ctrlKey) { event.preventDefault(); $("#search-input").focus(); }
    else if (event.key === "F2") { const [one] = selection(); if (state.selected.size === 1 && state.view !== "trash") { event.preventDefault(); renameDialog(one); } }
    else if (event.key === "?") shortcutsDialog();
    else if (["ArrowDown", "ArrowUp"].includes(event.key) && !event.altKey && document.activeElement.closest(".listing tbody")) stepFocus(event);
  });
}

// In a folder someone shared, searching searches that share (their drive is not the caller's).
const insideShare = () => state.view === "folder" && Boolean(state.crumbs) && state.crumbs[0].id !== "root";

const canDrop = (event) => state.view === "folder" && [...event.dataTransfer.types].includes("Files");

// ↑ and ↓ move between rows, keeping the column (only from a row: elsewhere they scroll).
function stepFocus(event) {
  const rows = [...document.querySelectorAll(".listing tbody tr[data-id]")];
  if (!rows.length) return;
  const current = focusedCell();
  const index = current ? rows.indexOf(current.tr) + (event.key === "ArrowDown" ? 1 : -1) : 0;
  event.preventDefault();
  focusCell(rows[Math.max(0, Math.min(rows.length - 1, index))], current ? current.column : "col-name");
}

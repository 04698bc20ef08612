// The two frames of the page: the sign-in form (log in or create an account) and the drive's
// shell (top bar, sidebar, listing, uploads panel), built once from the templates of app.html.
import { api } from "./api.js";
import { trashSelected } from "./actions.js";
import { createFolderDialog } from "./dialogs.js";
import { load, renderRows } from "./listing.js";
import { go, state } from "./state.js";
import { filesFromDrop, openPanel, startUploads } from "./uploads.js";
import { $ } from "./ui.js";

export function renderAuth(mode, invite) {
  const app = $("#app");
  app.replaceChildren($("#tpl-auth").content.cloneNode(true));
  const form = $(".auth-form", app);
  const isLogin = mode === "login";
  $(".auth-title", form).textContent = isLogin ? "Log in" : "Create an account";
  $(".auth-submit", form).textContent = isLogin ? "Log in" : "Create account";
  const switcher = $(".auth-switch a", form);
  switcher.textContent = isLogin ? "No account yet? Create one" : "Have an account? Log in";
  switcher.href = isLogin ? "#/register" : "#/login";
  $("#auth-password", form).autocomplete = isLogin ? "current-password" : "new-password";
  $(".remember-row", form).hidden = !isLogin;
  $(".auth-forgot", form).hidden = !isLogin;
  if (!isLogin && invite) $(".auth-note", form).textContent = "You were invited: choose a username and a password.";
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
        $(".auth-submit", form).textContent = "Verify";
        $("#auth-code", form).focus();
        $(".auth-note", form).textContent = "Enter the 6-digit code from your authenticator app, or a recovery code.";
      } else {
        error.textContent = err.message;
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
    go(text ? "#/search/" + encodeURIComponent(text) : "#/folder/root");
  });
  const input = $(".file-input");
  $(".new-upload").addEventListener("click", () => input.click());
  input.addEventListener("change", () => { startUploads([...input.files]); input.value = ""; });
  const folderInput = $(".folder-input");
  $(".new-folder-upload").addEventListener("click", () => folderInput.click());
  folderInput.addEventListener("change", () => { startUploads([...folderInput.files]); folderInput.value = ""; });
  $(".uploads-open").addEventListener("click", openPanel);
  $(".new-folder").addEventListener("click", createFolderDialog);
  $(".select-all").addEventListener("change", (event) => {
    state.selected = event.target.checked ? new Set(state.items.map((i) => i.id)) : new Set();
    renderRows();
  });
  for (const button of document.querySelectorAll("th button[data-sort]")) {
    button.addEventListener("click", () => {
      const field = button.dataset.sort;
      state.order = state.sort === field && state.order === "asc" ? "desc" : "asc";
      state.sort = field;
      load();
    });
  }
  $(".load-more").addEventListener("click", () => load(state.page + 1));
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
    if (state.view === "folder") filesFromDrop(event.dataTransfer).then(startUploads);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Delete" && state.selected.size && state.view !== "trash" && !$("#dialog").open
        && !["INPUT", "TEXTAREA"].includes(document.activeElement.tagName)) trashSelected();
  });
}

const canDrop = (event) => state.view === "folder" && [...event.dataTransfer.types].includes("Files");

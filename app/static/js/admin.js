// The administration page (#/admin, administrators only): users (search, create, quota,
// disable, password, delete), invitations and the server's events. Nothing here shows files.
import { api, query } from "./api.js";
import { describe, details } from "./account.js";
import { card, field, form, pager, showPage, table } from "./pages.js";
import { state } from "./state.js";
import { el, humanDate, humanSize, toast } from "./ui.js";

const LIMIT = 25;
const admin = { page: 1, q: "" };

// "500M", "2G", "1.5 GiB", a number of bytes; "" is the server's default, "0" unlimited.
export function parseSize(text) {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!match) throw new Error("Write a size such as 500M, 2G or 0 (unlimited).");
  return Math.round(parseFloat(match[1]) * 1024 ** " kmgt".indexOf((match[2] || " ").toLowerCase()));
}

// The other way round, as short as it is exact: 1073741824 is "1G".
const sizeText = (bytes) => {
  for (const [power, unit] of [[4, "T"], [3, "G"], [2, "M"], [1, "K"]]) if (bytes && bytes % 1024 ** power === 0) return `${bytes / 1024 ** power}${unit}`;
  return String(bytes);
};

export async function renderAdmin() {
  const page = showPage("Administration");
  const search = field("Find users", { name: "q", type: "search", value: admin.q, placeholder: "part of a username" });
  page.append(
    el("p", { class: "page-lead", text: "Accounts, quotas and invitations. Administrators never see users' files here." }),
    card("Users", form([search], "Search", async (values) => { admin.q = values.q.trim(); admin.page = 1; renderAdmin(); }),
      await usersTable()),
    createUserCard(), await invitesCard(), await eventsCard());
}

async function usersTable() {
  const data = await api("GET", "/api/admin/users" + query({ page: admin.page, limit: LIMIT, q: admin.q }));
  const quota = (u) => u.quota_bytes ? humanSize(u.quota_bytes) : "unlimited";
  return el("div", {},
    table("Users", [
      ["User", (u) => u.username + (u.role === "admin" ? " (admin)" : "")],
      ["Email", (u) => u.email || ""],
      ["Used", (u) => `${humanSize(u.used_bytes)} of ${quota(u)}${u.own_quota ? "" : " (default)"}`],
      ["Last active", (u) => humanDate(u.last_seen_at)],
      ["State", (u) => u.disabled ? "disabled" : "active"],
      ["", (u) => el("button", { type: "button", text: "Manage", "aria-label": `Manage ${u.username}`, onclick: () => manage(u) })],
    ], data.users),
    pager(admin.page, LIMIT, data.total, (p) => { admin.page = p; renderAdmin(); }));
}

// One user's settings, in place of the list.
function manage(user) {
  const page = showPage(`User ${user.username}`);
  const back = el("button", { type: "button", text: "← All users", onclick: renderAdmin });
  const save = async (changes, message) => { Object.assign(user, await api("PATCH", `/api/admin/users/${user.id}`, changes)); toast(message); manage(user); };
  const quota = field("Quota (e.g. 500M, 20G; 0: unlimited; empty: the server's default)", { name: "quota", value: user.own_quota ? sizeText(user.quota_bytes) : "" });
  const email = field("Email address (taken as verified)", { name: "email", type: "email", value: user.email || "" });
  const role = field("Role", { type: "select", name: "role", value: user.role, choices: [["user", "User"], ["admin", "Administrator"]] });
  const self = user.id === state.user.id;
  page.append(back,
    el("p", { class: "page-lead", text: `${humanSize(user.used_bytes)} used · created ${humanDate(user.created_at)} · ${user.disabled ? "disabled" : "active"}` }),
    card("Settings", form([quota, email, role], "Save", (v) => {
      const changes = { quota_bytes: v.quota.trim() === "" ? null : parseSize(v.quota) };
      if ((v.email.trim() || null) !== (user.email || null)) changes.email = v.email.trim() || null; // only when changed
      if (v.role !== user.role) changes.role = v.role;
      return save(changes, "Saved");
    })),
    card(user.disabled ? "Enable" : "Disable", el("p", { text: user.disabled
      ? "Let the user log in again; their tokens and links answer again."
      : "Their sessions end at once; their tokens, WebDAV logins and share links stop answering." }),
    el("button", { type: "button", class: user.disabled ? "primary" : "danger", disabled: self && !user.disabled,
      text: user.disabled ? "Enable the account" : "Disable the account",
      onclick: () => save({ disabled: !user.disabled }, user.disabled ? "Enabled" : "Disabled") })),
    card("Reset the password", form([field("New password (tell it to them)", { name: "password", type: "password", autocomplete: "new-password", minlength: "8" })],
      "Set password", async (v) => { await api("POST", `/api/admin/users/${user.id}/password`, v); return "Set. Their sessions were logged out."; })),
    card("Delete", el("p", { text: "Deletes the account with all its files, versions, links and tokens. There is no undo." }),
      form([field(`Type ${user.username} to confirm`, { name: "confirm", autocomplete: "off" })], "Delete the account", async (v) => {
        await api("DELETE", `/api/admin/users/${user.id}`, v);
        toast(`Deleted ${user.username}`);
        renderAdmin();
      }, { danger: !self })));
  back.focus();
}

function createUserCard() {
  return card("Create a user", form([
    field("Username", { name: "username", autocomplete: "off", required: true }),
    field("Password", { name: "password", type: "password", autocomplete: "new-password", required: true }),
    field("Quota (empty: the server's default)", { name: "quota" }),
  ], "Create", async (v) => {
    const user = await api("POST", "/api/admin/users", { username: v.username.trim(), password: v.password,
      quota_bytes: v.quota.trim() === "" ? null : parseSize(v.quota) });
    toast(`Created ${user.username}`);
    renderAdmin();
  }));
}

async function invitesCard() {
  const { invites } = await api("GET", "/api/admin/invites");
  const shown = el("div", { role: "status" });
  return card("Invitations", el("p", { text: "A single-use link to create an account (needed when REGISTRATION=invite)." }),
    form([
      field("Valid for (hours)", { name: "hours", type: "number", min: "1", max: "720", value: "72" }),
      field("Note (who it is for)", { name: "note", maxlength: "200" }),
      field("Email it to (optional; needs SMTP)", { name: "email", type: "email" }),
    ], "Create invitation", async (v) => {
      const made = await api("POST", "/api/admin/invites", { hours: Number(v.hours), note: v.note.trim() || null, email: v.email.trim() || null });
      const link = el("input", { value: made.url, readonly: true, "aria-label": "Invitation link" });
      shown.replaceChildren(el("p", { text: made.emailed ? "Sent. The link, shown only now:" : "Give the person this link (shown only now):" }), link);
      link.select();
      return null;
    }), shown,
    table("Open invitations", [
      ["Note", (i) => i.note || ""], ["Created", (i) => humanDate(i.created_at)], ["Expires", (i) => humanDate(i.expires_at)],
      ["", (i) => el("button", { type: "button", text: "Withdraw", onclick: async () => { await api("DELETE", `/api/admin/invites/${i.id}`); toast("Withdrawn"); renderAdmin(); } })],
    ], invites));
}

async function eventsCard() {
  const data = await api("GET", "/api/admin/events" + query({ limit: 20 }));
  return card("Recent events", table("Recent events on the server", [
    ["When", (e) => humanDate(e.at)], ["What", (e) => describe(e.action)], ["Who (user id)", (e) => e.actor_id || "—"],
    ["Address", (e) => e.address || ""], ["Details", details],
  ], data.events));
}

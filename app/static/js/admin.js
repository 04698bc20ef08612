// The administration page (#/admin, administrators only): users (search, create, quota,
// disable, password, delete), invitations and the server's events. Nothing here shows files.
import { api, query } from "./api.js";
import { describe, details } from "./account.js";
import { t } from "./i18n.js";
import { card, field, form, pager, showPage, table } from "./pages.js";
import { state } from "./state.js";
import { el, humanDate, humanSize, toast } from "./ui.js";

const LIMIT = 25;
const admin = { page: 1, q: "" };

// "500M", "2G", "1.5 GiB", a number of bytes; "" is the server's default, "0" unlimited.
export function parseSize(text) {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!match) throw new Error(t("admin.sizeHelp"));
  return Math.round(parseFloat(match[1]) * 1024 ** " kmgt".indexOf((match[2] || " ").toLowerCase()));
}

// The other way round, as short as it is exact: 1073741824 is "1G".
const sizeText = (bytes) => {
  for (const [power, unit] of [[4, "T"], [3, "G"], [2, "M"], [1, "K"]]) if (bytes && bytes % 1024 ** power === 0) return `${bytes / 1024 ** power}${unit}`;
  return String(bytes);
};

export async function renderAdmin() {
  const page = showPage(t("admin.title"));
  const search = field(t("admin.find"), { name: "q", type: "search", value: admin.q, placeholder: t("admin.findPlaceholder") });
  page.append(
    el("p", { class: "page-lead", text: t("admin.lead") }),
    card(t("admin.users"), form([search], t("admin.search"), async (values) => { admin.q = values.q.trim(); admin.page = 1; renderAdmin(); }),
      await usersTable()),
    createUserCard(), await invitesCard(), await eventsCard());
}

async function usersTable() {
  const data = await api("GET", "/api/admin/users" + query({ page: admin.page, limit: LIMIT, q: admin.q }));
  const quota = (u) => u.quota_bytes ? humanSize(u.quota_bytes) : t("admin.unlimited");
  return el("div", {},
    table(t("admin.users"), [
      [t("admin.user"), (u) => (u.role === "admin" ? t("admin.userAdmin", { username: u.username }) : u.username)],
      [t("admin.email"), (u) => u.email || ""],
      [t("admin.used"), (u) => t(u.own_quota ? "admin.usedOf" : "admin.usedOfDefault", { used: humanSize(u.used_bytes), quota: quota(u) })],
      [t("admin.lastActive"), (u) => humanDate(u.last_seen_at)],
      [t("admin.state"), stateOf],
      ["", (u) => el("button", { type: "button", text: t("admin.manage"), "aria-label": t("admin.manageLabel", { username: u.username }), onclick: () => manage(u) })],
    ], data.users),
    pager(admin.page, LIMIT, data.total, (p) => { admin.page = p; renderAdmin(); }));
}

const stateOf = (user) => t(user.disabled ? "admin.stateDisabled" : "admin.stateActive");

// One user's settings, in place of the list.
function manage(user) {
  const page = showPage(t("admin.userTitle", { username: user.username }));
  const back = el("button", { type: "button", text: t("admin.back"), onclick: renderAdmin });
  const save = async (changes, message) => { Object.assign(user, await api("PATCH", `/api/admin/users/${user.id}`, changes)); toast(message); manage(user); };
  const quota = field(t("admin.quota"), { name: "quota", value: user.own_quota ? sizeText(user.quota_bytes) : "" });
  const email = field(t("admin.emailVerified"), { name: "email", type: "email", value: user.email || "" });
  const role = field(t("admin.role"), { type: "select", name: "role", value: user.role, choices: [["user", t("admin.roleUser")], ["admin", t("admin.roleAdmin")]] });
  const self = user.id === state.user.id;
  page.append(back,
    el("p", { class: "page-lead", text: t("admin.summary", { used: humanSize(user.used_bytes), created: humanDate(user.created_at), state: stateOf(user) }) }),
    card(t("admin.settings"), form([quota, email, role], t("admin.save"), (v) => {
      const changes = { quota_bytes: v.quota.trim() === "" ? null : parseSize(v.quota) };
      if ((v.email.trim() || null) !== (user.email || null)) changes.email = v.email.trim() || null; // only when changed
      if (v.role !== user.role) changes.role = v.role;
      return save(changes, t("admin.saved"));
    })),
    card(t(user.disabled ? "admin.enable" : "admin.disable"), el("p", { text: t(user.disabled ? "admin.enableLead" : "admin.disableLead") }),
    el("button", { type: "button", class: user.disabled ? "primary" : "danger", disabled: self && !user.disabled,
      text: t(user.disabled ? "admin.enableButton" : "admin.disableButton"),
      onclick: () => save({ disabled: !user.disabled }, t(user.disabled ? "admin.enabled" : "admin.disabled")) })),
    card(t("admin.resetTitle"), form([field(t("admin.resetPassword"), { name: "password", type: "password", autocomplete: "new-password", minlength: "8" })],
      t("admin.resetSubmit"), async (v) => { await api("POST", `/api/admin/users/${user.id}/password`, v); return t("admin.resetDone"); })),
    card(t("admin.deleteTitle"), el("p", { text: t("admin.deleteLead") }),
      form([field(t("admin.deleteConfirm", { username: user.username }), { name: "confirm", autocomplete: "off" })], t("admin.deleteSubmit"), async (v) => {
        await api("DELETE", `/api/admin/users/${user.id}`, v);
        toast(t("admin.deleted", { username: user.username }));
        renderAdmin();
      }, { danger: !self })));
  back.focus();
}

function createUserCard() {
  return card(t("admin.createTitle"), form([
    field(t("auth.username"), { name: "username", autocomplete: "off", required: true }),
    field(t("auth.password"), { name: "password", type: "password", autocomplete: "new-password", required: true }),
    field(t("admin.createQuota"), { name: "quota" }),
  ], t("admin.createSubmit"), async (v) => {
    const user = await api("POST", "/api/admin/users", { username: v.username.trim(), password: v.password,
      quota_bytes: v.quota.trim() === "" ? null : parseSize(v.quota) });
    toast(t("admin.created", { username: user.username }));
    renderAdmin();
  }));
}

async function invitesCard() {
  const { invites } = await api("GET", "/api/admin/invites");
  const shown = el("div", { role: "status" });
  return card(t("admin.invitesTitle"), el("p", { text: t("admin.invitesLead") }),
    form([
      field(t("admin.inviteHours"), { name: "hours", type: "number", min: "1", max: "720", value: "72" }),
      field(t("admin.inviteNote"), { name: "note", maxlength: "200" }),
      field(t("admin.inviteEmail"), { name: "email", type: "email" }),
    ], t("admin.inviteSubmit"), async (v) => {
      const made = await api("POST", "/api/admin/invites", { hours: Number(v.hours), note: v.note.trim() || null, email: v.email.trim() || null });
      const link = el("input", { value: made.url, readonly: true, "aria-label": t("admin.inviteLink") });
      shown.replaceChildren(el("p", { text: t(made.emailed ? "admin.inviteSent" : "admin.inviteGive") }), link);
      link.select();
      return null;
    }), shown,
    table(t("admin.invitesOpen"), [
      [t("admin.note"), (i) => i.note || ""], [t("admin.createdAt"), (i) => humanDate(i.created_at)], [t("admin.expires"), (i) => humanDate(i.expires_at)],
      ["", (i) => el("button", { type: "button", text: t("admin.withdraw"), onclick: async () => { await api("DELETE", `/api/admin/invites/${i.id}`); toast(t("admin.withdrawn")); renderAdmin(); } })],
    ], invites));
}

async function eventsCard() {
  const data = await api("GET", "/api/admin/events" + query({ limit: 20 }));
  return card(t("admin.eventsTitle"), table(t("admin.eventsCaption"), [
    [t("activity.when"), (e) => humanDate(e.at)], [t("activity.what"), (e) => describe(e.action)], [t("admin.who"), (e) => e.actor_id || "—"],
    [t("activity.address"), (e) => e.address || ""], [t("activity.details"), details],
  ], data.events));
}

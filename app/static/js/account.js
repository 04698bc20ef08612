// The account page (#/account: email, password, sessions, two-factor login, language, export,
// deletion) and the activity page (#/activity).
import { api, query } from "./api.js";
import { LANGUAGES, has, language, setLanguage, t } from "./i18n.js";
import { card, field, form, pager, showPage, table } from "./pages.js";
import { go, state } from "./state.js";
import { el, humanDate, toast } from "./ui.js";

const password = (label = t("account.yourPassword"), name = "password") => field(label, { name, type: "password", autocomplete: "current-password", required: true });
const code = () => field(t("account.code"), { name: "code", autocomplete: "one-time-code", inputmode: "numeric", maxlength: "19" });

export async function renderAccount() {
  const page = showPage(t("account.title"));
  const me = state.user = await api("GET", "/api/me");
  page.append(
    el("p", { class: "page-lead", text: t(me.role === "admin" ? "account.leadAdmin" : "account.lead", { username: me.username }) }),
    emailCard(me), passwordCard(), await sessionsCard(), twoFactorCard(me), languageCard(), exportCard(me), deleteCard(me));
}

function emailCard(me) {
  const address = field(t("account.email.new"), { name: "email", type: "email", autocomplete: "email", required: true });
  const children = [
    el("p", { text: me.email ? t("account.email.current", { email: me.email }) : t("account.email.none") }),
    form([address, password()], t("account.email.send"), async (values) => {
      await api("POST", "/api/me/email", values);
      return t("account.email.sent");
    }),
  ];
  if (me.email) {
    children.push(form([password(t("account.email.removePassword"))], t("account.email.remove"), async (values) => {
      await api("DELETE", "/api/me/email", values);
      toast(t("account.email.removed"));
      renderAccount();
    }, { danger: true }));
  }
  return card(t("account.email.title"), ...children);
}

function passwordCard() {
  const revoke = field(t("account.password.revokeTokens"), { name: "revoke_tokens", type: "checkbox" });
  revoke.classList.add("check");
  return card(t("account.password.title"), form([
    password(t("account.password.current"), "current_password"),
    field(t("field.newPassword"), { name: "new_password", type: "password", autocomplete: "new-password", minlength: "8", required: true }),
    revoke,
  ], t("account.password.change"), async (values) => {
    await api("POST", "/api/me/password", values);
    return t("account.password.changed");
  }));
}

async function sessionsCard() {
  const { sessions } = await api("GET", "/api/me/sessions");
  const end = (session) => session.current ? el("span", { text: t("account.sessions.thisBrowser") }) : el("button", {
    type: "button", text: t("account.sessions.logout"),
    "aria-label": t("account.sessions.logoutLabel", { address: session.address || t("account.sessions.unknownAddress") }),
    onclick: async () => { await api("DELETE", `/api/me/sessions/${encodeURIComponent(session.id)}`); toast(t("account.sessions.ended")); renderAccount(); },
  });
  return card(t("account.sessions.title"),
    table(t("account.sessions.caption"), [
      [t("account.sessions.browser"), (s) => s.user_agent || t("account.sessions.unknownBrowser")], [t("account.sessions.address"), (s) => s.address || ""],
      [t("account.sessions.loggedIn"), (s) => humanDate(s.created_at)], [t("account.sessions.lastUsed"), (s) => humanDate(s.last_used_at)], ["", end],
    ], sessions),
    el("button", { type: "button", class: "danger", text: t("account.sessions.logoutAll"), onclick: async () => {
      await api("DELETE", "/api/me/sessions");
      state.user = null;
      go("#/login");
    } }));
}

function twoFactorCard(me) {
  if (me.two_factor) {
    return card(t("account.twoFactor.title"), el("p", { text: t("account.twoFactor.on") }),
      form([password(), code()], t("account.twoFactor.turnOff"), async (values) => {
        await api("POST", "/api/me/2fa/disable", values);
        toast(t("account.twoFactor.turnedOff"));
        renderAccount();
      }, { danger: true }));
  }
  const area = el("div");
  area.append(form([password()], t("account.twoFactor.setUp"), async (values) => {
    const setup = await api("POST", "/api/me/2fa/setup", values);
    const qr = el("img", { class: "qr", alt: t("account.twoFactor.qr"), width: "200", height: "200",
      src: URL.createObjectURL(new Blob([setup.qr_svg], { type: "image/svg+xml" })) });
    area.replaceChildren(
      el("p", { text: t("account.twoFactor.scan") }), qr,
      el("p", {}, el("code", { class: "secret", text: setup.secret })),
      form([code()], t("account.twoFactor.turnOn"), async (answer) => {
        const { recovery_codes: codes } = await api("POST", "/api/me/2fa/enable", answer);
        area.replaceChildren(el("p", { text: t("account.twoFactor.codes") }),
          el("ul", { class: "codes" }, ...codes.map((c) => el("li", {}, el("code", { text: c })))),
          el("button", { type: "button", text: t("account.twoFactor.done"), onclick: renderAccount }));
      }));
  }));
  return card(t("account.twoFactor.title"), el("p", { text: t("account.twoFactor.off") }), area);
}

// The language of the web app in this browser (the page reloads in it).
function languageCard() {
  const choice = field(t("language.label"), { type: "select", name: "language", value: language,
    choices: Object.entries(LANGUAGES) });
  for (const option of choice.input.options) option.lang = option.value;
  return card(t("language.label"), el("p", { text: t("account.language.lead") }),
    form([choice], t("language.submit"), (values) => { setLanguage(values.language); return null; }));
}

function exportCard(me) {
  return card(t("account.export.title"), el("p", { text: t("account.export.lead") }),
    el("a", { class: "button", href: "/api/me/export", download: `${me.username}-export.zip`, text: t("account.export.link") }));
}

function deleteCard(me) {
  const fields = [password()];
  if (me.two_factor) fields.push(code());
  return card(t("account.delete.title"), el("p", { text: t("account.delete.lead") }),
    form(fields, t("account.delete.submit"), async (values) => {
      if (!window.confirm(t("account.delete.confirm", { username: me.username }))) return null;
      await api("DELETE", "/api/me", values);
      state.user = null;
      go("#/login");
    }, { danger: true }));
}

// An audit event's action in words (an action newer than the catalogue: its code, made readable).
const describe = (action) => (has(`audit.${action}`) ? t(`audit.${action}`) : action[0].toUpperCase() + action.slice(1).replaceAll("_", " "));
const details = (event) => Object.entries(event.details || {}).filter(([, v]) => v !== null && typeof v !== "object")
  .map(([k, v]) => `${k.replaceAll("_", " ")}: ${v}`).join(", ");

export { describe, details };

export async function renderActivity(page = 1) {
  const view = showPage(t("activity.title"));
  const limit = 50;
  const data = await api("GET", "/api/me/activity" + query({ page, limit }));
  view.append(
    el("p", { class: "page-lead", text: t("activity.lead") }),
    table(t("activity.title"), [
      [t("activity.when"), (e) => humanDate(e.at)], [t("activity.what"), (e) => describe(e.action)],
      [t("activity.address"), (e) => e.address || ""], [t("activity.details"), details],
    ], data.events),
    pager(page, limit, data.total, renderActivity));
}

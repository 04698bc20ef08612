// The account page (#/account: email, password, sessions, two-factor login, export, deletion)
// and the activity page (#/activity).
import { api, query } from "./api.js";
import { card, field, form, pager, showPage, table } from "./pages.js";
import { go, state } from "./state.js";
import { el, humanDate, toast } from "./ui.js";

const password = (label = "Your password", name = "password") => field(label, { name, type: "password", autocomplete: "current-password", required: true });
const code = () => field("Code from your authenticator app (or a recovery code)", { name: "code", autocomplete: "one-time-code", inputmode: "numeric", maxlength: "19" });

export async function renderAccount() {
  const page = showPage("Account");
  const me = state.user = await api("GET", "/api/me");
  page.append(
    el("p", { class: "page-lead", text: `Logged in as ${me.username}${me.role === "admin" ? " (administrator)" : ""}.` }),
    emailCard(me), passwordCard(), await sessionsCard(), twoFactorCard(me), exportCard(me), deleteCard(me));
}

function emailCard(me) {
  const address = field("New address", { name: "email", type: "email", autocomplete: "email", required: true });
  const children = [
    el("p", { text: me.email ? `Password reset links go to ${me.email}.` : "No address yet: if you forget your password, an administrator has to reset it." }),
    form([address, password()], "Send a confirmation link", async (values) => {
      const answer = await api("POST", "/api/me/email", values);
      return answer.message;
    }),
  ];
  if (me.email) {
    children.push(form([password("Your password, to remove the address")], "Remove the address", async (values) => {
      await api("DELETE", "/api/me/email", values);
      toast("Address removed");
      renderAccount();
    }, { danger: true }));
  }
  return card("Email address", ...children);
}

function passwordCard() {
  const revoke = field("Also revoke every API token (scripts, WebDAV clients)", { name: "revoke_tokens", type: "checkbox" });
  revoke.classList.add("check");
  return card("Password", form([
    password("Current password", "current_password"),
    field("New password (8 characters or more)", { name: "new_password", type: "password", autocomplete: "new-password", minlength: "8", required: true }),
    revoke,
  ], "Change password", async (values) => {
    await api("POST", "/api/me/password", values);
    return "Changed. Every other session was logged out.";
  }));
}

async function sessionsCard() {
  const { sessions } = await api("GET", "/api/me/sessions");
  const end = (session) => session.current ? el("span", { text: "This browser" }) : el("button", {
    type: "button", text: "Log out", "aria-label": `Log out the session from ${session.address || "an unknown address"}`,
    onclick: async () => { await api("DELETE", `/api/me/sessions/${encodeURIComponent(session.id)}`); toast("Session ended"); renderAccount(); },
  });
  return card("Where you are logged in",
    table("Your sessions", [
      ["Browser", (s) => s.user_agent || "unknown"], ["Address", (s) => s.address || ""],
      ["Logged in", (s) => humanDate(s.created_at)], ["Last used", (s) => humanDate(s.last_used_at)], ["", end],
    ], sessions),
    el("button", { type: "button", class: "danger", text: "Log out everywhere", onclick: async () => {
      await api("DELETE", "/api/me/sessions");
      state.user = null;
      go("#/login");
    } }));
}

function twoFactorCard(me) {
  if (me.two_factor) {
    return card("Two-factor login", el("p", { text: "On: logging in asks for a code from your authenticator app." }),
      form([password(), code()], "Turn off", async (values) => {
        await api("POST", "/api/me/2fa/disable", values);
        toast("Two-factor login is off");
        renderAccount();
      }, { danger: true }));
  }
  const area = el("div");
  area.append(form([password()], "Set up", async (values) => {
    const setup = await api("POST", "/api/me/2fa/setup", values);
    const qr = el("img", { class: "qr", alt: "QR code of the secret for your authenticator app", width: "200", height: "200",
      src: URL.createObjectURL(new Blob([setup.qr_svg], { type: "image/svg+xml" })) });
    area.replaceChildren(
      el("p", { text: "Scan this with your authenticator app, or type the secret into it:" }), qr,
      el("p", {}, el("code", { class: "secret", text: setup.secret })),
      form([code()], "Turn on", async (answer) => {
        const { recovery_codes: codes } = await api("POST", "/api/me/2fa/enable", answer);
        area.replaceChildren(el("p", { text: "On. Keep these recovery codes somewhere safe: each logs you in once without the app. They are shown only now." }),
          el("ul", { class: "codes" }, ...codes.map((c) => el("li", {}, el("code", { text: c })))),
          el("button", { type: "button", text: "Done", onclick: renderAccount }));
      }));
  }));
  return card("Two-factor login", el("p", { text: "Off. With it on, logging in also asks for a code from an app on your phone." }), area);
}

function exportCard(me) {
  return card("Your data", el("p", { text: "Everything of yours in one ZIP: your files in their folders and their details." }),
    el("a", { class: "button", href: "/api/me/export", download: `${me.username}-export.zip`, text: "Download all my data" }));
}

function deleteCard(me) {
  const fields = [password()];
  if (me.two_factor) fields.push(code());
  return card("Delete account", el("p", { text: "Deletes your account with every file, folder, version, link and token. There is no undo." }),
    form(fields, "Delete my account", async (values) => {
      if (!window.confirm(`Delete the account ${me.username} and everything in it?`)) return null;
      await api("DELETE", "/api/me", values);
      state.user = null;
      go("#/login");
    }, { danger: true }));
}

const ACTIONS = {
  login: "Logged in", login_failed: "Failed login", login_code_failed: "Wrong two-factor code",
  login_password_ok: "Password right, waiting for the code", logout: "Logged out", file_uploaded: "Uploaded",
  file_downloaded: "Downloaded", password_reset: "Password reset by email", two_factor_enabled: "Two-factor login on",
  two_factor_disabled: "Two-factor login off",
};
const describe = (action) => ACTIONS[action] || action[0].toUpperCase() + action.slice(1).replaceAll("_", " ");
const details = (event) => Object.entries(event.details || {}).filter(([, v]) => v !== null && typeof v !== "object")
  .map(([k, v]) => `${k.replaceAll("_", " ")}: ${v}`).join(", ");

export { describe, details };

export async function renderActivity(page = 1) {
  const view = showPage("Activity");
  const limit = 50;
  const data = await api("GET", "/api/me/activity" + query({ page, limit }));
  view.append(
    el("p", { class: "page-lead", text: "What happened in your drive and account, newest first." }),
    table("Activity", [
      ["When", (e) => humanDate(e.at)], ["What", (e) => describe(e.action)],
      ["Address", (e) => e.address || ""], ["Details", details],
    ], data.events),
    pager(page, limit, data.total, renderActivity));
}

// Pages reached from emailed links or without a login: forgotten password (#/forgot), choosing
// a new one (#/reset?token=...), confirming an address (#/verify-email?token=...).
import { api } from "./api.js";
import { errorText, languageSwitch, t } from "./i18n.js";
import { field, form } from "./pages.js";
import { $, el } from "./ui.js";

function authPage(title, ...children) {
  const heading = el("h2", { text: title });
  $("#app").replaceChildren(el("main", { class: "auth" }, el("h1", { text: "Cloud Drive" }),
    el("div", { class: "auth-form" }, heading, ...children, el("p", { class: "auth-switch" }, el("a", { href: "#/login", text: t("recovery.back") }))),
    languageSwitch()));
  document.title = t("app.title", { title });
  const first = $("#app input");
  (first || heading).focus();
}

export function renderForgot() {
  authPage(t("recovery.forgot.title"),
    el("p", { text: t("recovery.forgot.lead") }),
    form([field(t("recovery.forgot.email"), { name: "email", type: "email", autocomplete: "email", required: true })], t("recovery.forgot.submit"),
      async (values) => {
        await api("POST", "/api/password/forgot", { email: values.email.trim() });
        return t("recovery.forgot.sent");
      }));
}

export function renderReset(token) {
  authPage(t("recovery.reset.title"),
    form([field(t("field.newPassword"), { name: "new_password", type: "password", autocomplete: "new-password", minlength: "8", required: true })],
      t("recovery.reset.submit"), async (values) => {
        await api("POST", "/api/password/reset", { token, new_password: values.new_password });
        $("#app form button[type=submit]").disabled = true;
        return t("recovery.reset.done");
      }));
}

export async function renderVerify(token) {
  const result = el("p", { role: "status", text: t("recovery.verify.waiting") });
  authPage(t("recovery.verify.title"), result);
  try {
    const user = await api("POST", "/api/email/verify", { token });
    result.textContent = t("recovery.verify.done", { email: user.email, username: user.username });
  } catch (err) {
    result.textContent = errorText(err);
  }
}

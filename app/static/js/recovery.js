// Pages reached from emailed links or without a login: forgotten password (#/forgot), choosing
// a new one (#/reset?token=...), confirming an address (#/verify-email?token=...).
import { api } from "./api.js";
import { field, form } from "./pages.js";
import { $, el } from "./ui.js";

function authPage(title, ...children) {
  const heading = el("h2", { text: title });
  $("#app").replaceChildren(el("main", { class: "auth" }, el("h1", { text: "Cloud Drive" }),
    el("div", { class: "auth-form" }, heading, ...children, el("p", { class: "auth-switch" }, el("a", { href: "#/login", text: "Back to log in" })))));
  document.title = `${title} · Cloud Drive`;
  const first = $("#app input");
  (first || heading).focus();
}

export function renderForgot() {
  authPage("Forgot your password?",
    el("p", { text: "If your account has a confirmed email address, we send a link there to choose a new password." }),
    form([field("Email address", { name: "email", type: "email", autocomplete: "email", required: true })], "Send the link",
      async (values) => (await api("POST", "/api/password/forgot", { email: values.email.trim() })).message));
}

export function renderReset(token) {
  authPage("Choose a new password",
    form([field("New password (8 characters or more)", { name: "new_password", type: "password", autocomplete: "new-password", minlength: "8", required: true })],
      "Set the password", async (values) => {
        await api("POST", "/api/password/reset", { token, new_password: values.new_password });
        $("#app form button[type=submit]").disabled = true;
        return "Done. Every session was logged out: log in with the new password.";
      }));
}

export async function renderVerify(token) {
  const result = el("p", { role: "status", text: "Confirming…" });
  authPage("Confirm your email address", result);
  try {
    const user = await api("POST", "/api/email/verify", { token });
    result.textContent = `Confirmed: ${user.email} is the address of ${user.username}.`;
  } catch (err) {
    result.textContent = err.message;
  }
}

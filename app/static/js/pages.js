// Pages of the shell that are not listings (account settings, activity, administration), and
// the small forms they are made of.
import { errorText, t } from "./i18n.js";
import { $, el } from "./ui.js";

export function showPage(title) {
  const content = $(".content");
  for (const part of content.children) part.hidden = !part.classList.contains("page");
  const page = $(".page", content);
  page.replaceChildren(el("h1", { text: title }));
  document.title = t("app.title", { title });
  return page;
}

export function hidePage() {
  for (const part of $(".content").children) part.hidden = part.classList.contains("page");
}

let fieldCount = 0;

// One labelled input; `options` are its attributes (type, autocomplete, value, ...).
export function field(label, options = {}) {
  fieldCount += 1;
  const id = `field-${fieldCount}`;
  const input = options.type === "select"
    ? el("select", { id, name: options.name }, ...options.choices.map(([value, text]) => el("option", { value, text, selected: value === options.value })))
    : el("input", { id, ...options });
  const wrapper = el("div", { class: "field" }, el("label", { for: id, text: label }), input);
  wrapper.input = input;
  return wrapper;
}

// A form of fields and a submit button. `submit(values)` runs on submit; what it returns (a
// string) is announced under the form, an error's message is shown as the form's error.
export function form(fields, button, submit, { danger = false } = {}) {
  const error = el("p", { class: "form-error", role: "alert" });
  const done = el("p", { class: "form-done", role: "status" });
  const submitButton = el("button", { type: "submit", class: danger ? "danger" : "primary", text: button });
  const node = el("form", { class: "page-form", novalidate: true }, ...fields, el("div", { class: "form-actions" }, submitButton), error, done);
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = done.textContent = "";
    submitButton.disabled = true;
    try {
      const values = Object.fromEntries(fields.filter((f) => f.input).map((f) => [f.input.name, f.input.type === "checkbox" ? f.input.checked : f.input.value]));
      const message = await submit(values);
      if (typeof message === "string") done.textContent = message;
    } catch (err) {
      error.textContent = errorText(err);
    } finally {
      submitButton.disabled = false;
    }
  });
  return node;
}

export const card = (title, ...children) => el("section", { class: "card" }, el("h2", { text: title }), ...children);

// A table of rows with a caption for screen readers; `columns` are [heading, row => cell].
export function table(caption, columns, rows) {
  return el("table", { class: "page-table" },
    el("caption", { class: "visually-hidden", text: caption }),
    el("thead", {}, el("tr", {}, ...columns.map(([heading]) => el("th", { scope: "col", text: heading })))),
    el("tbody", {}, ...rows.map((row) => el("tr", {}, ...columns.map(([, cell]) => {
      const value = cell(row);
      return el("td", {}, value instanceof Node ? value : String(value ?? ""));
    })))));
}

// "Page 2 of 5" with previous and next buttons; `go(page)` shows a page.
export function pager(page, limit, total, goTo) {
  const pages = Math.max(1, Math.ceil(total / limit));
  return el("nav", { class: "pager", "aria-label": t("pager.label") },
    el("button", { type: "button", text: t("pager.previous"), disabled: page <= 1, onclick: () => goTo(page - 1) }),
    el("span", { text: t("pager.status", { page, pages, total }) }),
    el("button", { type: "button", text: t("pager.next"), disabled: page >= pages, onclick: () => goTo(page + 1) }));
}

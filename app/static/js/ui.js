// DOM and formatting helpers. User data only ever reaches the page through textContent and
// attributes (el's "text"), never as HTML.
import { formatDate, formatNumber, t } from "./i18n.js";

export const $ = (selector, root = document) => root.querySelector(selector);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function humanSize(bytes) {
  if (bytes === undefined || bytes === null) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  const digits = unit > 0 && value < 10 ? 1 : 0;
  const number = formatNumber(value, { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: false });
  return t("size.format", { value: number, unit: t(`size.${units[unit]}`) });
}

export const humanDate = formatDate; // in the page's language

export const icon = (name) => el("img", { class: "icon", src: `/static/icons/${name}.svg`, alt: "", width: "20", height: "20" });

// A short message at the bottom (a status region: screen readers read it), optionally with one
// action button such as Undo, kept longer so there is time to press it.
let toastTimer = null;
export function toast(message, action) {
  const node = $(".toast");
  if (!node) return;
  const text = el("span", { text: message });
  const button = action ? el("button", { type: "button", class: "toast-action", text: action.label, onclick: () => {
    node.classList.remove("show");
    action.run();
  } }) : null;
  node.replaceChildren(text, ...(button ? [button] : []));
  node.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => node.classList.remove("show"), action ? 8000 : 4000);
}

// Tells screen readers what changed (a view loaded, a selection made) without reading the page.
export function announce(message) {
  const node = $(".announce");
  if (node) node.textContent = message;
}

// Every string the web app shows goes through t(key, params), from one catalogue per language:
// English (i18n-en.js, the reference) and Arabic (i18n-ar.js, right to left).
//
// To add a string: give it a key named by meaning ("toolbar.download") in i18n-en.js and the same
// key in every other catalogue, with the same {placeholders}; call t("toolbar.download") or
// t("upload.done", { size }). A string that depends on a number is an object of plural
// categories (Intl.PluralRules: zero, one, two, few, many, other; "other" is required) chosen by
// its `count` param: t("listing.items", { count: n }). Params are inserted as text (the result is
// only ever used as textContent or an attribute, never as HTML); numbers are formatted for the
// language. Static text of app.html carries data-i18n="key" (its text), data-i18n-aria-label,
// data-i18n-placeholder or data-i18n-title; translatePage() fills them, the English in the HTML
// being the fallback.
// To add a language: copy i18n-en.js to i18n-xx.js, translate every value, import it below and
// add it to CATALOGUES, LANGUAGES (its own name for itself) and, if it is written right to left,
// RIGHT_TO_LEFT. tests/test_web_ui.py checks that every catalogue has the same keys and
// placeholders as the English one.
//
// Importing this module has no side effects (node can load it to check the catalogues): the page
// calls startLanguage() once, before anything is drawn.
import { ar } from "./i18n-ar.js";
import { en } from "./i18n-en.js";

export const CATALOGUES = { en, ar };
export const LANGUAGES = { en: "English", ar: "العربية" };
const RIGHT_TO_LEFT = new Set(["ar"]);
const FALLBACK = "en";

const base = (tag) => String(tag || "").toLowerCase().split("-")[0];

function preferredLanguages() {
  const nav = globalThis.navigator;
  if (!nav) return [];
  return nav.languages && nav.languages.length ? [...nav.languages] : [nav.language].filter(Boolean);
}

function storedLanguage() {
  try { return globalThis.localStorage ? globalThis.localStorage.getItem("lang") : null; } catch (err) { return null; }
}

// localStorage.lang if it names a catalogue, else the browser's first language we have, else English.
function pickLanguage() {
  const stored = storedLanguage();
  if (stored && CATALOGUES[stored]) return stored;
  const found = preferredLanguages().map(base).find((tag) => CATALOGUES[tag]);
  return found || FALLBACK;
}

export const language = pickLanguage();
export const direction = RIGHT_TO_LEFT.has(language) ? "rtl" : "ltr";
// Numbers and dates follow the browser's own tag of that language (en-GB, ar-EG) when it has one.
const locale = preferredLanguages().find((tag) => base(tag) === language) || language;
const pluralRules = new Intl.PluralRules(locale);
const dateFormat = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });

export const has = (key) => key in CATALOGUES[language] || key in CATALOGUES[FALLBACK];

export function formatNumber(value, options) {
  return Number(value).toLocaleString(locale, options);
}

export function formatDate(iso) {
  return iso ? dateFormat.format(new Date(iso)) : "";
}

// Right-to-left text isolates each inserted value (first-strong isolate … pop), so a Latin file
// name ending in "(1)" keeps its own order inside an Arabic sentence.
const isolate = RIGHT_TO_LEFT.has(language) ? (text) => `\u2068${text}\u2069` : (text) => text;

function paramText(value) {
  if (typeof value === "number") return formatNumber(value);
  return isolate(String(value ?? ""));
}

export function t(key, params = {}) {
  let entry = CATALOGUES[language][key] ?? CATALOGUES[FALLBACK][key] ?? key;
  if (typeof entry === "object") entry = entry[pluralRules.select(Number(params.count))] ?? entry.other;
  return entry.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? paramText(params[name]) : whole));
}

// An API error for people: the catalogue's text for its code, else the server's (English) message.
export function errorText(err) {
  if (!err) return "";
  const key = `error.${err.code}`;
  return err.code && has(key) ? t(key) : err.message || t("error.unknown");
}

const ATTRIBUTES = ["aria-label", "placeholder", "title", "alt"];

// Fills the data-i18n* attributes of root's elements, templates' contents included.
export function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const attribute of ATTRIBUTES) {
    for (const node of root.querySelectorAll(`[data-i18n-${attribute}]`)) node.setAttribute(attribute, t(node.getAttribute(`data-i18n-${attribute}`)));
  }
  for (const template of root.querySelectorAll("template")) translatePage(template.content);
}

// Once, before the first render: the page's language and direction, and its static text.
export function startLanguage() {
  document.documentElement.lang = language;
  document.documentElement.dir = direction;
  translatePage(document);
}

// A new language redraws everything by reloading the page (the URL hash keeps the view).
export function setLanguage(lang) {
  if (!CATALOGUES[lang]) return;
  try { localStorage.setItem("lang", lang); } catch (err) { /* private mode: this page only */ }
  if (lang !== language) location.reload();
}

// Buttons for the other languages, each named in its own language (the sign-in pages).
export function languageSwitch() {
  const nav = document.createElement("nav");
  nav.className = "auth-languages";
  nav.setAttribute("aria-label", t("language.label"));
  for (const [code, name] of Object.entries(LANGUAGES)) {
    if (code === language) continue;
    const button = document.createElement("button");
    button.type = "button";
    button.lang = code;
    button.dir = RIGHT_TO_LEFT.has(code) ? "rtl" : "ltr";
    button.textContent = name;
    button.addEventListener("click", () => setLanguage(code));
    nav.append(button);
  }
  return nav;
}

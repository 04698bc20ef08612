// What a preview shows: images, video and audio from /preview (served inline, sandboxed);
// text, Markdown, CSV and JSON read as text (the first MiB) and drawn here. Markdown is
// rendered by building elements from the text (headings, paragraphs, lists, quotes, code,
// emphasis, links to http(s) and mailto only): no HTML from the file ever reaches the page.
import { t } from "./i18n.js";
import { el } from "./ui.js";

const TEXT_LIMIT = 1024 * 1024;
const CSV_ROWS = 500;
// The image types of the server's PREVIEW_TYPES (app/http.py): served inline by /preview.
const INLINE_IMAGES = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"];

export function previewKind(item) {
  if (item.type !== "file") return null;
  const type = item.content_type || "";
  const name = item.name.toLowerCase();
  if (INLINE_IMAGES.includes(type)) return "image";
  if (type.startsWith("video/")) return "video";
  if (type.startsWith("audio/")) return "audio";
  if (type === "text/markdown" || /\.(md|markdown)$/.test(name)) return "markdown";
  if (type === "text/csv" || name.endsWith(".csv")) return "csv";
  if (type === "application/json" || name.endsWith(".json")) return "json";
  if (type.startsWith("text/") || /\.(txt|log|ya?ml|toml|ini|py|js|css|sh|xml)$/.test(name)) return "text";
  return null;
}

export function previewBody(item) {
  const kind = previewKind(item);
  const src = `/api/files/${item.id}/preview`;
  if (kind === "image") return el("img", { src, alt: item.name });
  if (kind === "video") return el("video", { src, controls: true });
  if (kind === "audio") return el("audio", { src, controls: true });
  const holder = el("div", { class: "preview-text" }, el("pre", { text: t("common.loading") }));
  fetch(`/api/files/${item.id}`, { credentials: "same-origin", headers: { Range: `bytes=0-${TEXT_LIMIT - 1}` } })
    .then((response) => { if (!response.ok) throw new Error(response.statusText); return response.text(); })
    .then((text) => holder.replaceChildren(render(kind, text, item.size > TEXT_LIMIT)))
    .catch(() => holder.replaceChildren(el("p", { text: t("preview.failed") })));
  return holder;
}

function render(kind, text, cut) {
  const note = cut ? el("p", { class: "hint", text: t("preview.cut") }) : null;
  if (kind === "markdown") return el("div", {}, markdown(text), note);
  if (kind === "csv") return el("div", {}, csvTable(text), note);
  if (kind === "json" && !cut) {
    try { return el("pre", { text: JSON.stringify(JSON.parse(text), null, 2) }); } catch (err) { /* shown as it is */ }
  }
  return el("div", {}, el("pre", { text }), note);
}

// Inline Markdown: `code`, **strong**, *em* / _em_, [text](url).
function inline(text) {
  const out = [];
  const pattern = /(`[^`]+`)|(\*\*[^*]+\*\*)|(\*[^*\s][^*]*\*|_[^_\s][^_]*_)|(\[[^\]]+\]\([^)\s]+\))/g;
  let last = 0, match;
  while ((match = pattern.exec(text))) {
    if (match.index > last) out.push(text.slice(last, match.index));
    const token = match[0];
    if (match[1]) out.push(el("code", { text: token.slice(1, -1) }));
    else if (match[2]) out.push(el("strong", {}, ...inline(token.slice(2, -2))));
    else if (match[3]) out.push(el("em", {}, ...inline(token.slice(1, -1))));
    else {
      const [, label, href] = token.match(/^\[([^\]]+)\]\(([^)\s]+)\)$/);
      out.push(/^(https?:|mailto:)/i.test(href) ? el("a", { href, rel: "noopener noreferrer", target: "_blank", text: label }) : label);
    }
    last = match.index + token.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export function markdown(text) {
  const root = el("div", { class: "markdown" });
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^```/.test(line)) {
      const code = [];
      for (i += 1; i < lines.length && !/^```/.test(lines[i]); i += 1) code.push(lines[i]);
      root.append(el("pre", {}, el("code", { text: code.join("\n") })));
      i += 1;
    } else if (/^#{1,6}\s/.test(line)) {
      const level = line.match(/^#+/)[0].length;
      root.append(el(`h${Math.min(6, level + 2)}`, {}, ...inline(line.replace(/^#+\s+/, ""))));
      i += 1;
    } else if (/^\s*([-*+]|\d+[.)])\s/.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = el(ordered ? "ol" : "ul");
      for (; i < lines.length && /^\s*([-*+]|\d+[.)])\s/.test(lines[i]); i += 1) {
        list.append(el("li", {}, ...inline(lines[i].replace(/^\s*([-*+]|\d+[.)])\s+/, ""))));
      }
      root.append(list);
    } else if (/^>\s?/.test(line)) {
      const quote = [];
      for (; i < lines.length && /^>\s?/.test(lines[i]); i += 1) quote.push(lines[i].replace(/^>\s?/, ""));
      root.append(el("blockquote", {}, ...inline(quote.join(" "))));
    } else if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      root.append(el("hr"));
      i += 1;
    } else if (!line.trim()) {
      i += 1;
    } else {
      const para = [];
      for (; i < lines.length && lines[i].trim() && !/^(```|#{1,6}\s|>|\s*([-*+]|\d+[.)])\s)/.test(lines[i]); i += 1) para.push(lines[i].trim());
      root.append(el("p", {}, ...inline(para.join(" "))));
    }
  }
  return root;
}

// RFC 4180 fields: quotes, doubled quotes, separators and line breaks inside quotes.
export function parseCsv(text, limit = CSV_ROWS) {
  const rows = [];
  let row = [], field = "", quoted = false;
  const separator = (text.split("\n", 1)[0].match(/;/g) || []).length > (text.split("\n", 1)[0].match(/,/g) || []).length ? ";" : ",";
  for (let i = 0; i < text.length && rows.length < limit; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === separator) { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i += 1;
      row.push(field); rows.push(row); row = []; field = "";
    } else field += c;
  }
  if ((field || row.length) && rows.length < limit) { row.push(field); rows.push(row); }
  return rows;
}

function csvTable(text) {
  const rows = parseCsv(text);
  if (!rows.length) return el("p", { text: t("preview.empty") });
  const [head, ...body] = rows;
  return el("div", { class: "csv-wrap", tabindex: "0", role: "region", "aria-label": t("preview.table") },
    el("table", { class: "csv" },
      el("thead", {}, el("tr", {}, ...head.map((cell) => el("th", { scope: "col", text: cell })))),
      el("tbody", {}, ...body.map((cells) => el("tr", {}, ...cells.map((cell) => el("td", { text: cell })))))),
    rows.length >= CSV_ROWS ? el("p", { class: "hint", text: t("preview.firstRows", { count: CSV_ROWS }) }) : null);
}

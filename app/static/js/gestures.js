// The list's gestures: a context menu (right click, long press on a touch screen, the menu key
// or Shift+F10 on a row) with the toolbar's actions for the row or the selection it is in;
// dragging rows onto a folder row or a breadcrumb moves them there (one bulk request); files
// dropped from the computer onto a folder row upload into that folder; files dropped anywhere
// else outside the list never make the browser leave the app to open them.
import { runBulk } from "./actions.js";
import { actionsFor, renderRows, selection } from "./listing.js";
import { state } from "./state.js";
import { filesFromDrop, startUploads } from "./uploads.js";
import { t } from "./i18n.js";
import { $, el } from "./ui.js";

const DRAG_TYPE = "application/x-cloud-drive-items";
const LONG_PRESS_MS = 550;
let dragging = [];

const itemOf = (tr) => (tr ? state.items.find((i) => i.id === tr.dataset.id) : null);
const hasFiles = (event) => [...event.dataTransfer.types].includes("Files");
const hasItems = (event) => [...event.dataTransfer.types].includes(DRAG_TYPE);

export function setUpGestures() {
  const body = $(".listing tbody");
  body.addEventListener("contextmenu", (event) => {
    const tr = event.target.closest("tr");
    if (!tr || $(".context-menu")) return;
    event.preventDefault();
    openMenu(tr, event.clientX, event.clientY);
  });
  let press = null; // a touch held still on a row opens the menu (where the browser does not)
  body.addEventListener("pointerdown", (event) => {
    const tr = event.target.closest("tr");
    if (event.pointerType !== "touch" || !tr) return;
    press = { x: event.clientX, y: event.clientY, timer: setTimeout(() => { press = null; if (!$(".context-menu")) openMenu(tr, event.clientX, event.clientY); }, LONG_PRESS_MS) };
  });
  const cancel = (event) => {
    if (!press) return;
    if (event.type === "pointermove" && Math.hypot(event.clientX - press.x, event.clientY - press.y) < 10) return;
    clearTimeout(press.timer);
    press = null;
  };
  for (const type of ["pointerup", "pointercancel", "pointermove"]) body.addEventListener(type, cancel);
  body.addEventListener("keydown", (event) => {
    const tr = event.target.closest("tr");
    if (!tr || !(event.key === "ContextMenu" || (event.key === "F10" && event.shiftKey))) return;
    event.preventDefault();
    const box = tr.getBoundingClientRect();
    openMenu(tr, box.left + 40, box.bottom);
  });

  body.addEventListener("dragstart", (event) => {
    const tr = event.target.closest("tr[draggable]");
    const item = itemOf(tr);
    if (!item) return;
    dragging = state.selected.has(item.id) ? selection() : [item];
    event.dataTransfer.setData(DRAG_TYPE, JSON.stringify(dragging.map((i) => i.id)));
    event.dataTransfer.setData("text/plain", dragging.map((i) => i.name).join("\n"));
    event.dataTransfer.effectAllowed = "move";
  });
  body.addEventListener("dragend", () => { dragging = []; clearTargets(); });
  for (const area of [body, $(".breadcrumbs")]) {
    area.addEventListener("dragover", (event) => {
      const target = dropTarget(event);
      clearTargets();
      if (!target) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = hasItems(event) ? "move" : "copy";
      target.node.classList.add("drop-target");
    });
    area.addEventListener("dragleave", clearTargets);
    area.addEventListener("drop", (event) => {
      const target = dropTarget(event);
      clearTargets();
      if (!target) return;
      event.preventDefault();
      event.handledHere = true; // the list's own drop (upload here) leaves it alone
      if (hasItems(event)) {
        const moving = dragging;
        dragging = [];
        runBulk(moving, "move", t("gestures.movedTo", { name: target.name }), { parent_id: target.id });
      } else {
        filesFromDrop(event.dataTransfer).then((files) => startUploads(files, target.id));
      }
    });
  }
  // Files dropped outside the list: nothing happens (the browser would open them instead).
  window.addEventListener("dragover", (event) => { if (hasFiles(event) && !event.target.closest(".dropzone")) { event.preventDefault(); event.dataTransfer.dropEffect = "none"; } });
  window.addEventListener("drop", (event) => { if (hasFiles(event)) event.preventDefault(); });
}

// A folder row (not one being dragged) or a breadcrumb's folder link under the pointer.
function dropTarget(event) {
  if (!hasItems(event) && !hasFiles(event)) return null;
  if (state.view !== "folder" && hasFiles(event)) return null;
  const link = event.target.closest(".breadcrumbs a[href^='#/folder/']");
  if (link) {
    const id = link.getAttribute("href").slice("#/folder/".length).split("?")[0];
    return hasItems(event) ? { node: link, id, name: link.textContent } : null;
  }
  const tr = event.target.closest("tr");
  const item = itemOf(tr);
  if (!item || item.type !== "folder" || state.view === "trash" || dragging.some((i) => i.id === item.id)) return null;
  return { node: tr, id: item.id, name: item.name };
}

function clearTargets() {
  for (const node of document.querySelectorAll(".drop-target")) node.classList.remove("drop-target");
}

function openMenu(tr, x, y) {
  const item = itemOf(tr);
  if (!item) return;
  if (!state.selected.has(item.id)) {
    state.selected = new Set([item.id]);
    state.anchor = item.id;
    renderRows();
  }
  const actions = actionsFor(selection());
  if (!actions.length) return;
  const returnTo = document.activeElement;
  const menu = el("div", { class: "context-menu", role: "menu", "aria-label": t("gestures.menu") },
    ...actions.map((action) => el("button", { type: "button", role: "menuitem", class: action.danger ? "danger" : null, text: action.text,
      onclick: () => { close(); action.run(); } })));
  document.body.append(menu);
  const box = menu.getBoundingClientRect();
  menu.style.left = `${Math.max(4, Math.min(x, innerWidth - box.width - 4))}px`;
  menu.style.top = `${Math.max(4, Math.min(y, innerHeight - box.height - 4))}px`;
  const items = [...menu.querySelectorAll("button")];
  items[0].focus();
  const outside = (event) => { if (!menu.contains(event.target)) close(); };
  function close() {
    menu.remove();
    document.removeEventListener("pointerdown", outside, true);
    window.removeEventListener("hashchange", close);
    if (returnTo && returnTo.isConnected) returnTo.focus();
  }
  menu.addEventListener("keydown", (event) => {
    const at = items.indexOf(document.activeElement);
    if (event.key === "Escape" || event.key === "Tab") { event.preventDefault(); close(); }
    else if (event.key === "ArrowDown") { event.preventDefault(); items[(at + 1) % items.length].focus(); }
    else if (event.key === "ArrowUp") { event.preventDefault(); items[(at - 1 + items.length) % items.length].focus(); }
    else if (event.key === "Home") { event.preventDefault(); items[0].focus(); }
    else if (event.key === "End") { event.preventDefault(); items[items.length - 1].focus(); }
    event.stopPropagation();
  });
  document.addEventListener("pointerdown", outside, true);
  window.addEventListener("hashchange", close); // another view: its actions were for this one
}

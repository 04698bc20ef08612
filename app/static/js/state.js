// What the page shows, and how to change it: every view has a URL hash (#/folder/<id>,
// #/shared, #/starred, #/trash, #/search/<text>, #/login, #/register) that routing.js turns into
// state. A folder's sort (?sort=size&order=desc) and a search's filters (?type=file&…) are in
// the hash too, so back, reload and a copied link show the same list.

export const state = {
  user: null,
  view: "folder",       // folder | shared | starred | trash | search
  folderId: "root",
  crumbs: [{ id: "root", name: "" }],
  lastFolder: null,     // the folder shown last ({id, name}): a search can be limited to it
  searchText: "",
  filters: {},          // the search's filters, as /api/search takes them
  sort: "name",
  order: "asc",
  items: [],
  total: 0,
  page: 1,
  selected: new Set(),
  anchor: null,         // the row a Shift-click selects from
  show: null,           // an item to select and scroll to once the folder is loaded
  seq: 0,               // bumped by each navigation: answers for an older one are dropped
  loading: false,
  loadError: null,
  layout: (() => { try { return localStorage.getItem("layout") === "grid" ? "grid" : "list"; } catch (err) { return "list"; } })(),
};

export const SORTS = ["name", "size", "updated_at"];

// The hash of a view; a folder keeps the current sort unless it is the default.
export function hashFor(view, arg, params = {}) {
  const search = new URLSearchParams();
  if (view === "folder") {
    if (state.sort !== "name" || state.order !== "asc") { search.set("sort", state.sort); search.set("order", state.order); }
  }
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  const path = view === "folder" ? `#/folder/${arg}` : view === "search" ? `#/search/${encodeURIComponent(arg)}` : `#/${view}`;
  return text ? `${path}?${text}` : path;
}

// Going to the hash already shown routes again (a reload of the view).
export function go(hash) {
  if (location.hash !== hash) location.hash = hash;
  else window.dispatchEvent(new HashChangeEvent("hashchange"));
}

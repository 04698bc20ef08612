// What the page shows, and how to change it: every view has a URL hash (#/folder/<id>,
// #/shared, #/starred, #/trash, #/search/<text>, #/login, #/register) that routing.js turns into state.

export const state = {
  user: null,
  view: "folder",       // folder | shared | starred | trash | search
  folderId: "root",
  searchText: "",
  sort: "name",
  order: "asc",
  items: [],
  total: 0,
  page: 1,
  selected: new Set(),
};

// Going to the hash already shown routes again (a reload of the view).
export function go(hash) {
  if (location.hash !== hash) location.hash = hash;
  else window.dispatchEvent(new HashChangeEvent("hashchange"));
}

// Cloud Drive web app: plain JavaScript modules over the JSON API (same origin, session cookie),
// no build step. The modules import each other's functions and only call them once the page
// runs, so the imports between listing, actions and dialogs may go both ways.
import { startLanguage } from "./i18n.js";
import { route } from "./routing.js";

startLanguage(); // <html lang dir> and the page's static text, before anything is drawn
window.addEventListener("hashchange", route);
route();

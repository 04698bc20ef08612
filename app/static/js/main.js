// Cloud Drive web app: plain JavaScript modules over the JSON API (same origin, session cookie),
// no build step. The modules import each other's functions and only call them once the page
// runs, so the imports between listing, actions and dialogs may go both ways.
import { route } from "./routing.js";

window.addEventListener("hashchange", route);
route();

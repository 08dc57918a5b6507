// The application shell: sign-in, navigation limited to what the key may do, and routing of
// the hash to a view.

import { h, fill, notice } from "./dom.js";
import { ApiError, key, setKey } from "./api.js";
import { current, go, href, onChange } from "./state.js";
import { allows, grants, probe, reset } from "./grants.js";
import { localZone } from "./format.js";
import * as signin from "./views/signin.js";
import * as summary from "./views/summary.js";
import * as reasons from "./views/reasons.js";
import * as events from "./views/events.js";
import * as webhooks from "./views/webhooks.js";
import * as suppressions from "./views/suppressions.js";
import * as health from "./views/health.js";

/** The views: route, navigation label, module, the section (grant) it needs. */
const VIEWS = [
  ["summary", "Summary", summary, "metrics"],
  ["reasons", "Bounces & delays", reasons, "metrics"],
  ["events", "Message events", events, "events"],
  ["webhooks", "Webhooks", webhooks, "webhooks"],
  ["suppressions", "Suppressions", suppressions, "suppressions"],
  ["health", "Health", health, null],
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const account = document.getElementById("account");
const allowed = (view) => !view[3] || allows(view[3]);

function shell(signedIn) {
  nav.hidden = !signedIn;
  account.hidden = !signedIn;
  if (!signedIn) { nav.replaceChildren(); return; }
  const secret = key() || "";
  document.getElementById("key-hint").textContent = `Key ${secret.slice(0, 4)}…`;
  fill(nav, VIEWS.filter(allowed).map(([id, label]) => h("a", { href: href(id), "data-view": id, text: label })));
}

/** Report parameters the summary and the bounce/delay reports share when you switch between them. */
const SHARED = ["range", "from", "to", "tz", "f"];

function markCurrent(view, params) {
  const reports = ["summary", "reasons"];
  const shared = new URLSearchParams();
  if (reports.includes(view)) for (const [k, v] of params) if (SHARED.includes(k)) shared.append(k, v);
  nav.querySelectorAll("a").forEach((a) => {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    if (reports.includes(a.dataset.view) && reports.includes(view)) a.setAttribute("href", href(a.dataset.view, shared));
  });
}

async function signIn(candidate) {
  if (!candidate) return "Enter an API key.";
  setKey(candidate);
  try {
    await probe();
  } catch (error) {
    setKey(null);
    reset();
    return error instanceof ApiError && error.status === 401 ? "That key is not valid (unknown or revoked)." : error.message;
  }
  if (!VIEWS.some((v) => v[3] && allows(v[3]))) {
    setKey(null);
    reset();
    return "This key has none of the grants the reports use (metrics/view, message_events/view, webhooks/view, suppression_lists/manage).";
  }
  shell(true);
  const wanted = VIEWS.find((v) => v[0] === current().view && allowed(v));
  if (wanted) route(); else go(VIEWS.find(allowed)[0], {});
  return null;
}

let signInMessage = null;
let renders = 0;

async function route() {
  document.querySelectorAll("dialog").forEach((d) => d.remove());
  if (!key()) {
    shell(false);
    document.title = "Sign in · eventhose";
    signin.render(main, { onKey: signIn, message: signInMessage });
    signInMessage = null;
    return;
  }
  if (!grants()) {
    fill(main, h("p", { class: "loading", text: "Checking what this key may see" }));
    const problem = await signIn(key());
    if (problem) { signInMessage = problem; route(); }
    return;
  }
  const { view, params } = current();
  const found = VIEWS.find((v) => v[0] === view);
  if (!found) { go(VIEWS.find(allowed)[0], {}); return; }
  markCurrent(view, params);
  document.title = `${found[1]} · eventhose`;
  const root = h("div", { "data-view": view });
  // Renders are numbered, so a test (or a person with DevTools) can tell a fresh view from the last.
  renders += 1;
  main.dataset.route = String(renders);
  fill(main, root);
  if (!allowed(found)) {
    fill(root, h("h1", { text: found[1] }), notice(`This API key may not see ${found[1].toLowerCase()} (it needs the ${
      { metrics: "metrics/view", events: "message_events/view", webhooks: "webhooks/view", suppressions: "suppression_lists/manage" }[found[3]]} grant).`));
    root.dataset.loaded = "true";
    return;
  }
  try {
    await found[2].render(root, params, { zone: params.get("tz") || localZone() });
  } catch (error) {
    fill(root, notice(`Something went wrong: ${error.message}`, "error"));
  }
}

document.getElementById("sign-out").addEventListener("click", () => {
  setKey(null);
  reset();
  location.hash = "";
  route();
});
document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener("eventhose:unauthorised", () => {
  if (!grants()) return; // signing in: the form says what went wrong
  setKey(null);
  reset();
  signInMessage = "The key is no longer accepted. Sign in again.";
  route();
});

onChange(route);
route();

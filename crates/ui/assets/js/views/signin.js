// Sign-in: the API key is checked against the APIs and kept in this browser session only.

import { h, fill, field, notice } from "../dom.js";

/** Renders the sign-in form; `onKey(key)` resolves to an error message or null. */
export function render(root, { onKey, message }) {
  const key = h("input", { type: "password", name: "key", required: true, autocomplete: "off", spellcheck: "false" });
  const out = h("div", { "aria-live": "polite" }, message ? notice(message, "error") : null);
  const submit = h("button", { type: "submit", text: "Sign in" });
  const form = h("form", { class: "panel stack signin", "aria-labelledby": "signin-title", onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    fill(out, h("p", { class: "loading", text: "Checking the key" }));
    const problem = await onKey(key.value.trim());
    submit.disabled = false;
    if (problem) { fill(out, notice(problem, "error")); key.focus(); key.select(); }
  } },
  h("h1", { id: "signin-title", text: "Sign in to eventhose" }),
  h("p", { class: "muted", text: "Use an API key of this server (eventhose keys create). It stays in this browser tab and is forgotten when the tab closes." }),
  field("API key", key), submit, out);
  fill(root, form);
  key.focus();
}

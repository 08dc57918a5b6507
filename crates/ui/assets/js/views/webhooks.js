// Webhooks: the list with each one's health, create and edit (auth, custom headers, events),
// test (validate), and the batch status of one webhook with replay of failed batches.

import { h, fill, table, notice, field, toast } from "../dom.js";
import { get, request } from "../api.js";
import { go, update } from "../state.js";
import { dateTime } from "../format.js";
import { mayWrite, refuse } from "../grants.js";

const PING = [{ msys: {} }];

/** OK, failing, pending or inactive, from the last success and failure. */
export function status(w) {
  if (!w.active) return ["Inactive", ""];
  const ok = w.last_successful ? Date.parse(w.last_successful) : 0;
  const failed = w.last_failure ? Date.parse(w.last_failure) : 0;
  if (failed && failed > ok) return ["Failing", "bad"];
  if (ok) return ["OK", "ok"];
  return ["Pending", "warn"];
}

const when = (text) => (text ? text.replace("T", " ") : "never");

/** Runs a write; a 403 disables writes from then on. Resolves to the answer or null. */
async function write(method, path, body, doneMessage) {
  try {
    const answer = await request(method, path, { body });
    if (doneMessage) toast(doneMessage);
    return answer;
  } catch (error) {
    toast(refuse("webhooks", error) ? "This API key may not change webhooks (it lacks webhooks/modify)." : error.message);
    return null;
  }
}

function writeButton(text, onclick, cls = "ghost") {
  const allowed = mayWrite("webhooks");
  return h("button", { type: "button", class: cls, text, onclick, disabled: !allowed, title: allowed ? null : "This API key may not change webhooks" });
}

async function testWebhook(id, out) {
  fill(out, h("p", { class: "loading", text: "Sending a test batch" }));
  try {
    const answer = await request("POST", `/webhooks/${encodeURIComponent(id)}/validate`, { body: { message: PING } });
    const r = answer?.results || {};
    fill(out, notice(`${r.msg || "Test sent"}: the endpoint answered ${r.response?.status ?? "?"}.`, "ok"));
  } catch (error) {
    refuse("webhooks", error);
    const response = error.body?.errors?.[0]?.response;
    fill(out, notice(`${error.message}${response ? ` (the endpoint answered ${response.status})` : ""}`, "error"));
  }
}

function list(root, zone) {
  const box = h("div", {}, h("p", { class: "loading", text: "Loading" }));
  fill(root, h("div", { class: "row" }, h("div", { class: "grow" }, h("h1", { text: "Webhooks" }),
    h("p", { class: "sub", text: "Where events are pushed, and whether each endpoint keeps up." })),
  writeButton("New webhook", () => update({ edit: "new" }), "")), h("section", { class: "panel" }, box));
  get("/webhooks", { timezone: zone }).then((answer) => {
    const hooks = answer?.results || [];
    fill(box, table([{ label: "Name" }, { label: "Status" }, { label: "Target", wrap: true }, { label: "Events", num: true },
      { label: "Last success" }, { label: "Last failure" }, { label: "" }],
    hooks.map((w) => {
      const [text, tone] = status(w);
      const cells = [
        h("button", { type: "button", class: "link", text: w.name, "aria-label": `View details of ${w.name}`, onclick: () => update({ id: w.id }) }),
        h("span", { class: `badge ${tone}`, "data-status": text, text }), w.target, String(w.events?.length ?? 0),
        when(w.last_successful), when(w.last_failure),
        h("div", { class: "row" },
          h("button", { type: "button", class: "ghost", text: "View details", onclick: () => update({ id: w.id }) }),
          writeButton("Edit", () => update({ edit: w.id }))),
      ];
      cells.attrs = { "data-webhook": w.id };
      return cells;
    }), { caption: "Webhooks", empty: "No webhooks yet. Create one to receive events as they happen." }));
  }).catch((error) => fill(box, notice(error.message, "error")))
    .finally(() => { root.dataset.loaded = "true"; });
}

function details(root, id, zone) {
  const head = h("div", {}, h("p", { class: "loading", text: "Loading" }));
  const batches = h("div", {}, h("p", { class: "loading", text: "Loading batches" }));
  const testOut = h("div", { "aria-live": "polite" });
  fill(root, h("p", {}, h("a", { href: "#/webhooks", text: "← All webhooks" })), head, testOut,
    h("section", { class: "panel", "aria-label": "Batch status" }, h("h2", { text: "Batch status" }),
      h("p", { class: "muted", text: "Batches that needed more than one attempt or failed (kept for a day). A failed batch can be sent again." }), batches));
  get(`/webhooks/${encodeURIComponent(id)}`, { timezone: zone }).then((answer) => {
    const w = answer?.results || {};
    const [text, tone] = status(w);
    fill(head, h("div", { class: "row" }, h("div", { class: "grow" }, h("h1", { text: w.name || id }),
      h("p", { class: "sub" }, h("span", { class: `badge ${tone}`, "data-status": text, text }), ` ${w.target || ""}`)),
    writeButton("Test", () => testWebhook(id, testOut)), writeButton("Edit", () => update({ edit: id, id: null })),
    writeButton("Delete", async () => {
      if (!confirm(`Delete the webhook "${w.name}"? Batches already queued are still sent.`)) return;
      if (await write("DELETE", `/webhooks/${encodeURIComponent(id)}`, undefined, "Webhook deleted")) go("webhooks", {});
    }, "danger")),
    h("section", { class: "panel" }, h("dl", { class: "tiles" },
      [["Authentication", w.auth_type || "none"], ["Active", w.active ? "yes" : "no"],
        ["Last success", when(w.last_successful)], ["Last failure", when(w.last_failure)],
        ["Custom headers", Object.keys(w.custom_headers || {}).join(", ") || "none"],
        [`Events (${(w.events || []).length})`, (w.events || []).join(", "), "wide"]].map(([k, v, wide]) =>
        h("div", { class: `tile ${wide || ""}` }, h("dt", { class: "name", text: k }), h("dd", { text: v }))))));
  }).catch((error) => fill(head, notice(error.message, "error")));
  const loadBatches = () => get(`/webhooks/${encodeURIComponent(id)}/batch-status`, { limit: 200 }).then((answer) => {
    const rows = answer?.results || [];
    fill(batches, table([{ label: "Created" }, { label: "Batch" }, { label: "Attempts", num: true }, { label: "Response", num: true },
      { label: "Failure", num: true }, { label: "Events", num: true }, { label: "Latency", num: true }, { label: "" }],
    rows.map((b) => {
      const delivered = b.response_code && Number(b.response_code) >= 200 && Number(b.response_code) < 300;
      const cells = [dateTime(b.ts, zone), h("span", { class: "mono", text: b.batch_id }), String(b.attempts ?? ""),
        h("span", { class: `badge ${delivered ? "ok" : "bad"}`, text: String(b.response_code ?? "–") }), String(b.failure_code ?? "–"),
        String(b.batch_size ?? ""), b.latency == null ? "–" : `${b.latency} ms`,
        delivered ? "" : writeButton("Replay", async () => {
          try {
            await request("POST", `/webhooks/${encodeURIComponent(id)}/batches/${encodeURIComponent(b.batch_id)}/replay`);
            toast("Replay scheduled");
            loadBatches();
          } catch (error) {
            if (refuse("webhooks", error)) toast("This API key may not change webhooks (it lacks webhooks/modify).");
            else if (error.status === 404) toast("This batch cannot be replayed yet: it is still being retried (or was delivered meanwhile).");
            else toast(error.message);
          }
        })];
      cells.attrs = { "data-batch": b.batch_id, "data-ts": b.ts };
      return cells;
    }), { caption: "Batch status", empty: "No batches recorded yet: every batch so far went through on its first attempt, or none was sent." }));
  }).catch((error) => fill(batches, notice(error.message, "error")))
    .finally(() => { root.dataset.loaded = "true"; });
  loadBatches();
}

async function editor(root, id) {
  const isNew = id === "new";
  fill(root, h("p", { class: "loading", text: "Loading" }));
  let docs = {}, current = { events: [], custom_headers: {}, auth_type: "none", active: true };
  try {
    const [doc, hook] = await Promise.all([get("/webhooks/events/documentation"), isNew ? null : get(`/webhooks/${encodeURIComponent(id)}`)]);
    docs = doc?.results || {};
    if (hook) current = hook.results;
  } catch (error) { fill(root, notice(error.message, "error")); return; }
  const name = h("input", { type: "text", name: "name", required: true, value: current.name || "", maxlength: 1024 });
  const target = h("input", { type: "url", name: "target", required: true, value: current.target || "", placeholder: "https://hooks.example.com/events" });
  const active = h("input", { type: "checkbox", name: "active", checked: current.active !== false });
  const chosen = new Set(current.events || []);
  const eventBoxes = Object.entries(docs).map(([key, category]) => h("fieldset", {},
    h("legend", { text: category.display_name || key }),
    h("div", { class: "checks" }, Object.entries(category.events || {}).map(([type, doc]) =>
      h("label", { title: doc.description || "" }, h("input", { type: "checkbox", name: "event", value: type, checked: isNew ? false : chosen.has(type) }), doc.display_name || type)))));
  const authType = h("select", { name: "auth_type" }, ["none", "basic", "oauth2"].map((t) => h("option", { value: t, text: { none: "None", basic: "Basic authentication", oauth2: "OAuth 2.0 client credentials" }[t] })));
  authType.value = current.auth_type || "none";
  const user = h("input", { type: "text", value: current.auth_credentials?.username || "", autocomplete: "off" });
  const pass = h("input", { type: "password", value: "", autocomplete: "new-password", placeholder: isNew ? "" : "unchanged" });
  const tokenUrl = h("input", { type: "url", value: current.auth_request_details?.url || "" });
  const clientId = h("input", { type: "text", value: current.auth_request_details?.body?.client_id || "" });
  const clientSecret = h("input", { type: "password", value: "", autocomplete: "new-password", placeholder: isNew ? "" : "unchanged" });
  const basicBox = h("div", { class: "row" }, field("User name", user), field("Password", pass));
  const oauthBox = h("div", { class: "row" }, field("Token URL", tokenUrl), field("Client id", clientId), field("Client secret", clientSecret));
  let authTouched = isNew;
  [authType, user, pass, tokenUrl, clientId, clientSecret].forEach((el) => el.addEventListener("input", () => { authTouched = true; }));
  const showAuth = () => { basicBox.hidden = authType.value !== "basic"; oauthBox.hidden = authType.value !== "oauth2"; };
  authType.addEventListener("change", showAuth);
  showAuth();
  const headerRows = h("div", { class: "stack" });
  const addHeader = (k = "", v = "") => {
    const row = h("div", { class: "row header-row" },
      field("Header name", h("input", { type: "text", value: k, class: "header-name" })),
      field("Value", h("input", { type: "text", value: v, class: "header-value" })),
      h("button", { type: "button", class: "ghost", text: "Remove", onclick: () => row.remove() }));
    headerRows.append(row);
  };
  Object.entries(current.custom_headers || {}).forEach(([k, v]) => addHeader(k, v));
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "panel stack", onsubmit: async (event) => {
    event.preventDefault();
    const events = [...form.querySelectorAll("input[name=event]:checked")].map((i) => i.value);
    if (!events.length) { fill(out, notice("Choose at least one event.", "error")); return; }
    const headers = {};
    headerRows.querySelectorAll(".header-row").forEach((row) => {
      const k = row.querySelector(".header-name").value.trim();
      if (k) headers[k] = row.querySelector(".header-value").value;
    });
    const body = { name: name.value.trim(), target: target.value.trim(), events, active: active.checked, custom_headers: headers };
    if (authTouched) {
      body.auth_type = authType.value;
      if (authType.value === "basic") body.auth_credentials = { username: user.value, password: pass.value };
      if (authType.value === "oauth2") body.auth_request_details = { url: tokenUrl.value, body: { client_id: clientId.value, client_secret: clientSecret.value, grant_type: "client_credentials" } };
    }
    fill(out, h("p", { class: "loading", text: isNew ? "Sending a test batch to the target and creating the webhook" : "Saving" }));
    try {
      const answer = await request(isNew ? "POST" : "PUT", isNew ? "/webhooks" : `/webhooks/${encodeURIComponent(id)}`, { body });
      toast(isNew ? "Webhook created" : "Webhook saved");
      const newId = isNew ? answer?.results?.id : id;
      if (isNew && answer?.results?.signing_secret) {
        sessionStorage.setItem("eventhose.new-secret", answer.results.signing_secret);
      }
      update({ edit: null, id: newId });
    } catch (error) {
      refuse("webhooks", error);
      fill(out, notice(error.message, "error"));
    }
  } },
  h("div", { class: "row" }, field("Name", name), h("div", { class: "grow" }, field("Target URL", target, "The endpoint must answer 200 to a test batch."))),
  h("label", { class: "checkline" }, active, " Active: send batches to this target"),
  h("h2", { text: "Events" }),
  h("div", { class: "row" }, h("button", { type: "button", class: "ghost", text: "Select all", onclick: () => form.querySelectorAll("input[name=event]").forEach((i) => { i.checked = true; }) }),
    h("button", { type: "button", class: "ghost", text: "Select none", onclick: () => form.querySelectorAll("input[name=event]").forEach((i) => { i.checked = false; }) })),
  eventBoxes,
  h("h2", { text: "Authentication" }), field("Type", authType), basicBox, oauthBox,
  h("h2", { text: "Custom headers" }), headerRows,
  h("div", {}, h("button", { type: "button", class: "ghost", text: "Add header", onclick: () => addHeader() })),
  out,
  h("div", { class: "row" }, h("button", { type: "submit", text: isNew ? "Create webhook" : "Save changes" }),
    h("button", { type: "button", class: "ghost", text: "Cancel", onclick: () => history.back() })));
  fill(root, h("h1", { text: isNew ? "New webhook" : `Edit ${current.name}` }), form);
  root.dataset.loaded = "true";
}

/** Renders the webhooks section into `root`: list, one webhook, or the editor. */
export function render(root, params, { zone }) {
  const secret = sessionStorage.getItem("eventhose.new-secret");
  if (params.get("edit")) return editor(root, params.get("edit"));
  if (params.get("id")) {
    details(root, params.get("id"), zone);
    if (secret) {
      sessionStorage.removeItem("eventhose.new-secret");
      root.prepend(h("div", { class: "notice ok", role: "status" }, "Webhook created. Its signing secret (shown once): ",
        h("code", { class: "mono", text: secret })));
    }
    return undefined;
  }
  return list(root, zone);
}

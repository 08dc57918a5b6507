// Suppressions: the summary by source, search, add and remove.

import { h, fill, table, notice, field, toast } from "../dom.js";
import { ApiError, get, request } from "../api.js";
import { update } from "../state.js";
import { count, dateTime } from "../format.js";

const SOURCES = ["Spam Complaint", "List Unsubscribe", "Bounce Rule", "Unsubscribe Link", "Manually Added", "Compliance"];
const TYPES = [["transactional", "Transactional"], ["non_transactional", "Non-transactional"]];
const PER_PAGE = 25;
const entries = (n) => `${count(n)} ${n === 1 ? "entry" : "entries"}`;

function summary(box) {
  return get("/suppression-list/summary").then((answer) => {
    const r = answer?.results || {};
    fill(box, h("div", { class: "tiles" },
      [["Total", r.total], ["Bounce rule", r.bounce_rule], ["Spam complaint", r.spam_complaint], ["List unsubscribe", r.list_unsubscribe],
        ["Unsubscribe link", r.unsubscribe_link], ["Manually added", r.manually_added], ["Compliance", r.compliance]].map(([name, n]) =>
        h("div", { class: "tile", "data-source": name }, h("div", { class: "name", text: name }), h("div", { class: "value", text: count(n ?? 0) })))));
  }).catch((error) => fill(box, notice(error.message, "error")));
}

function addForm(onAdded) {
  const recipient = h("input", { type: "email", required: true, autocomplete: "off", placeholder: "someone@example.com" });
  const type = h("select", {}, TYPES.map(([v, t]) => h("option", { value: v, text: t })), h("option", { value: "both", text: "Both" }));
  type.value = "non_transactional";
  const description = h("input", { type: "text", maxlength: 1024, placeholder: "Why this address is suppressed" });
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "panel stack", "aria-label": "Add a suppression", onsubmit: async (event) => {
    event.preventDefault();
    const types = type.value === "both" ? TYPES.map(([v]) => v) : [type.value];
    try {
      await request("PUT", "/suppression-list", { body: { recipients: types.map((t) => ({ recipient: recipient.value.trim(), type: t, description: description.value.trim() || undefined })) } });
      toast(`${recipient.value.trim()} is suppressed`);
      onAdded(recipient.value.trim());
    } catch (error) { fill(out, notice(error.message, "error")); }
  } },
  h("h2", { text: "Add a suppression" }),
  h("div", { class: "row" }, h("div", { class: "grow" }, field("Recipient", recipient)), field("Type", type), h("div", { class: "grow" }, field("Description", description)),
    h("button", { type: "submit", text: "Add" })), out);
  return form;
}

function searchForm(params) {
  const text = h("input", { type: "search", name: "q", value: params.get("q") || "", placeholder: "address or domain", autocomplete: "off" });
  const type = h("select", { name: "types" }, h("option", { value: "", text: "Any type" }), TYPES.map(([v, t]) => h("option", { value: v, text: t })));
  type.value = params.get("types") || "";
  const source = h("select", { name: "sources" }, h("option", { value: "", text: "Any source" }), SOURCES.map((s) => h("option", { value: s, text: s })));
  source.value = params.get("sources") || "";
  return h("form", { class: "row", role: "search", "aria-label": "Search suppressions", onsubmit: (event) => {
    event.preventDefault();
    update({ q: text.value.trim() || null, types: type.value || null, sources: source.value || null, page: null });
  } }, h("div", { class: "grow" }, field("Address or domain", text, "A whole address finds its entries; anything else searches by domain.")),
  field("Type", type), field("Source", source), h("button", { type: "submit", text: "Search" }));
}

async function remove(entry, row, removed) {
  if (!confirm(`Remove ${entry.recipient} (${entry.type}) from the suppression list? Mail to it will be sent again.`)) return;
  try {
    const query = entry.list_id ? `?list_id=${encodeURIComponent(entry.list_id)}` : "?list_id=";
    const headers = entry.subaccount_id ? { "X-MSYS-SUBACCOUNT": String(entry.subaccount_id) } : undefined;
    await request("DELETE", `/suppression-list/${encodeURIComponent(entry.recipient)}${query}`, { body: { type: entry.type }, headers });
    toast(`${entry.recipient} (${entry.type}) removed`);
    const counter = row?.closest("[data-view]")?.querySelector(".entry-count");
    row?.remove();
    if (counter) {
      counter.dataset.total = String(Math.max(0, Number(counter.dataset.total) - 1));
      counter.textContent = entries(Number(counter.dataset.total));
    }
    removed();
  } catch (error) { toast(error.message); }
}

function results(box, params, reload) {
  const q = params.get("q") || "";
  const page = Number(params.get("page") || 1);
  const common = { types: params.get("types") || undefined, sources: params.get("sources") || undefined };
  const call = q.includes("@")
    ? get(`/suppression-list/${encodeURIComponent(q)}`, { ...common, per_page: PER_PAGE, page })
    : get("/suppression-list", { ...common, domain: q || undefined, per_page: PER_PAGE, page });
  fill(box, h("p", { class: "loading", text: "Searching" }));
  return call.then((answer) => render(answer), (error) => {
    if (error instanceof ApiError && error.status === 404) render({ results: [], total_count: 0 });
    else {
      fill(box, notice(error.message, "error"));
      box.closest("[data-view]")?.setAttribute("data-loaded", "true");
    }
  });
  function render(answer) {
    const rows = answer?.results || [];
    const total = answer?.total_count ?? rows.length;
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    fill(box, table([{ label: "Recipient" }, { label: "Type" }, { label: "Source" }, { label: "Description", wrap: true }, { label: "List" },
      { label: "Subaccount" }, { label: "Updated" }, { label: "" }],
    rows.map((e) => {
      const cells = [e.recipient, e.type, e.source, e.description || "", e.list_id || "", e.subaccount_id ? String(e.subaccount_id) : "primary",
        dateTime(e.updated, zone),
        e.source === "Compliance" ? h("span", { class: "muted", text: "locked" })
          : h("button", { type: "button", class: "ghost", text: "Remove", "aria-label": `Remove ${e.recipient} ${e.type}`, onclick: (event) => remove(e, event.currentTarget.closest("tr"), reload) })];
      cells.attrs = { "data-recipient": e.recipient, "data-type": e.type };
      return cells;
    }), { caption: "Suppressions", empty: q ? `Nothing suppressed matches “${q}”.` : "The suppression list is empty." }),
    h("div", { class: "row" }, h("span", { class: "muted" }, h("span", { class: "entry-count", "data-total": total, text: entries(total) }), ` · page ${page}`),
      page > 1 ? h("button", { type: "button", class: "ghost", text: "Previous page", onclick: () => update({ page: page - 1 > 1 ? String(page - 1) : null }) }) : null,
      page * PER_PAGE < total ? h("button", { type: "button", class: "ghost", text: "Next page", onclick: () => update({ page: String(page + 1) }) }) : null));
    box.closest("[data-view]")?.setAttribute("data-loaded", "true");
  }
}

/** Renders the suppression list into `root`. */
export function render(root, params) {
  const summaryBox = h("section", { "aria-label": "Summary" }, h("p", { class: "loading", text: "Loading" }));
  const list = h("div", {});
  const refreshSummary = () => summary(summaryBox);
  const reload = () => { refreshSummary(); results(list, params, refreshSummary); };
  fill(root, h("h1", { text: "Suppressions" }),
    h("p", { class: "sub", text: "Addresses that are not sent to: hard bounces, complaints and unsubscribes are added automatically." }),
    summaryBox,
    addForm((recipient) => {
      if (params.get("q") === recipient) reload(); else update({ q: recipient, page: null, types: null, sources: null });
    }),
    h("section", { class: "panel stack", "aria-label": "Search" }, h("h2", { text: "Search" }), searchForm(params), list));
  reload();
}

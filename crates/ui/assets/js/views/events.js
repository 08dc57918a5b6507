// Message events: search with the Events API's filters, newest first, a page at a time; a
// row opens the event's whole JSON and every event of its message.

import { h, fill, table, notice, field, dialog } from "../dom.js";
import { get } from "../api.js";
import { update } from "../state.js";
import { dateTime, localZone, utcParam } from "../format.js";

const TYPES = ["injection", "delivery", "delay", "bounce", "out_of_band", "policy_rejection", "generation_failure",
  "generation_rejection", "open", "initial_open", "click", "amp_open", "amp_initial_open", "amp_click",
  "spam_complaint", "list_unsubscribe", "link_unsubscribe"];

/** The text filters offered: parameter, label, hint. */
const FILTERS = [
  ["recipients", "Recipient", "Whole addresses, comma separated"],
  ["recipient_domains", "Recipient domain", "e.g. gmail.com"],
  ["campaigns", "Campaign", "Keywords of the campaign id"],
  ["subjects", "Subject", "Keywords of the subject"],
  ["reasons", "Reason", "Keywords of a bounce, delay or rejection reason"],
  ["bounce_classes", "Bounce class", "Codes such as 10, 21"],
  ["sending_domains", "Sending domain", ""],
  ["templates", "Template", ""],
  ["messages", "Message id", ""],
];
const RANGES = [["1h", "Last hour", 60], ["24h", "Last 24 hours", 1440], ["3d", "Last 3 days", 3 * 1440], ["10d", "Last 10 days", 10 * 1440 - 5]];
const PER_PAGE = 50;
/** The Events API keeps 10 days; five minutes of margin keep `from` inside. */
const OLDEST_MINUTES = 10 * 1440 - 5;

const TONE = { delivery: "ok", open: "ok", initial_open: "ok", click: "ok", amp_open: "ok", amp_initial_open: "ok", amp_click: "ok",
  bounce: "bad", out_of_band: "bad", policy_rejection: "bad", generation_failure: "bad", generation_rejection: "bad", spam_complaint: "bad",
  delay: "warn", list_unsubscribe: "warn", link_unsubscribe: "warn" };
const badge = (type) => h("span", { class: `badge ${TONE[type] || ""}`, text: type });

function detailOf(e) {
  return e.reason || e.raw_reason || e.target_link_url || e.subject || "";
}

function query(params) {
  const preset = RANGES.find((r) => r[0] === params.get("range")) || RANGES[1];
  const now = Date.now();
  const out = {
    from: params.get("from") || utcParam(new Date(now - preset[2] * 60e3)),
    to: params.get("to") || utcParam(new Date(now + 60e3)),
    per_page: PER_PAGE,
    events: params.get("events") || undefined,
    cursor: params.get("cursor") || undefined,
  };
  for (const [name] of FILTERS) if (params.get(name)) out[name] = params.get(name);
  return out;
}

function searchForm(params) {
  const inputs = FILTERS.map(([name, label, hint]) => {
    const input = h("input", { type: "search", name, value: params.get(name) || "", autocomplete: "off" });
    return [name, field(label, input, hint || null)];
  });
  const type = h("select", { name: "events" }, h("option", { value: "", text: "All events" }), TYPES.map((t) => h("option", { value: t, text: t })));
  type.value = params.get("events") || "";
  const range = h("select", { name: "range" }, RANGES.map(([id, label]) => h("option", { value: id, text: label })));
  range.value = params.get("range") || "24h";
  const form = h("form", { class: "panel stack", role: "search", "aria-label": "Search events", onsubmit: (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const changes = { cursor: null, from: null, to: null, page: null, event: null, msg: null };
    for (const [name, value] of data.entries()) changes[name] = String(value).trim() || null;
    if (changes.range === "24h") changes.range = null;
    update(changes);
  } },
  h("div", { class: "row" }, field("Event type", type), field("Time", range), inputs.slice(0, 3).map(([, f]) => f)),
  h("details", { open: inputs.slice(3).some(([name]) => params.get(name)) },
    h("summary", { text: "More filters" }), h("div", { class: "row" }, inputs.slice(3).map(([, f]) => f))),
  h("div", { class: "row" }, h("button", { type: "submit", text: "Search" }),
    h("button", { type: "button", class: "ghost", text: "Reset", onclick: () => update(Object.fromEntries([...params.keys()].map((k) => [k, null]))) })));
  return form;
}

function jsonBlock(value) {
  return h("pre", { class: "json", tabindex: "0", "aria-label": "Event JSON", text: JSON.stringify(value, null, 2) });
}

/** Opens the dialog with event `id`'s JSON and its message's history. */
function openEvent(id, messageId) {
  const zone = localZone();
  const since = utcParam(new Date(Date.now() - OLDEST_MINUTES * 60e3));
  const until = utcParam(new Date(Date.now() + 60e3));
  const eventBox = h("div", {}, h("p", { class: "loading", text: "Loading the event" }));
  const historyBox = h("div", {}, h("p", { class: "loading", text: "Loading the message's history" }));
  const box = dialog("Event details", [h("h3", { text: "Message history" }), historyBox, h("h3", { text: "Event JSON" }), eventBox],
    { onClose: () => update({ event: null, msg: null }) });
  box.classList.add("event-dialog");
  get("/events/message", { event_ids: id, from: since, to: until, per_page: 1 }).then(async (answer) => {
    const event = answer?.results?.[0];
    if (!event) { fill(eventBox, notice("This event is no longer stored (events are kept 10 days).")); fill(historyBox); return; }
    fill(eventBox, jsonBlock(event));
    const message = messageId || event.message_id;
    if (!message) { fill(historyBox, notice("This event has no message id.")); return; }
    const history = await get("/events/message", { messages: message, from: since, to: until, per_page: 1000 });
    // The API answers newest first; reversed, then sorted stably, events of one second keep their order.
    const events = [...(history?.results || [])].reverse().sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
    fill(historyBox,
      h("p", { class: "muted" }, `Message `, h("span", { class: "mono", text: message }), ` to ${event.rcpt_to || "?"}: ${events.length} events, oldest first.`),
      h("ol", { class: "timeline", "aria-label": "Events of this message" }, events.map((e) => h("li", { class: e.event_id === id ? "current" : "", "data-event-type": e.type },
        h("span", { text: dateTime(e.timestamp, zone) }), h("span", {}, badge(e.type)), h("span", { class: "wrap", text: detailOf(e) })))));
    box.dataset.loaded = "true";
  }).catch((error) => fill(eventBox, notice(error.message, "error")));
}

/** Renders the event search into `root`. */
export function render(root, params) {
  const zone = localZone();
  const results = h("section", { class: "panel", "aria-label": "Results" }, h("p", { class: "loading", text: "Searching" }));
  fill(root, h("h1", { text: "Message events" }),
    h("p", { class: "sub", text: "Every event of the last 10 days, newest first. Click an event to see its JSON and its message's whole history." }),
    searchForm(params), results);
  const page = Number(params.get("page") || 1);
  get("/events/message", query(params)).then((answer) => {
    const rows = answer?.results || [];
    const next = answer?.links?.next;
    const shown = rows.map((e) => {
      const cells = [
        h("button", { type: "button", class: "link", "data-event-id": e.event_id, text: dateTime(e.timestamp, zone),
          "aria-label": `Open ${e.type} event to ${e.rcpt_to || "unknown recipient"}`,
          onclick: () => update({ event: e.event_id, msg: e.message_id || null }) }),
        badge(e.type), e.rcpt_to || "", e.campaign_id || "", h("span", { text: detailOf(e) }),
      ];
      cells.attrs = { "data-type": e.type };
      return cells;
    });
    const nav = h("div", { class: "row" },
      h("span", { class: "muted", text: `${(answer?.total_count ?? rows.length).toLocaleString()} matching events · page ${page}` }),
      page > 1 ? h("button", { type: "button", class: "ghost", text: "First page", onclick: () => update({ cursor: null, from: null, to: null, page: null }) }) : null,
      page > 1 ? h("button", { type: "button", class: "ghost", text: "Previous page", onclick: () => history.back() }) : null,
      next ? h("button", { type: "button", class: "ghost", text: "Next page", onclick: () => {
        const link = new URLSearchParams(next.split("?")[1] || "");
        update({ cursor: link.get("cursor"), from: link.get("from"), to: link.get("to"), page: String(page + 1) });
      } }) : null);
    fill(results, table([{ label: "Time" }, { label: "Event" }, { label: "Recipient" }, { label: "Campaign" }, { label: "Details", wrap: true }], shown,
      { caption: "Message events", empty: "No events match. Widen the time range or remove a filter." }), nav);
  }).catch((error) => fill(results, notice(error.message, "error")))
    .finally(() => { root.dataset.loaded = "true"; });
  if (params.get("event")) openEvent(params.get("event"), params.get("msg"));
}

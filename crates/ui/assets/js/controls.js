// The report controls shared by the summary and the bounce/rejection/delay reports: date range,
// time zone, precision and filters, all read from and written to the URL.

import { h, field } from "./dom.js";
import { get } from "./api.js";
import { update } from "./state.js";
import { localZone, wallClock, wallMinutes, zones } from "./format.js";

/** The facets a report can be broken down and filtered by. */
export const FACETS = [
  { id: "domain", label: "Recipient domain", param: "domains", key: "domain", list: "domains" },
  { id: "mailbox-provider", label: "Mailbox provider", param: "mailbox_providers", key: "mailbox_provider", list: "mailbox-providers" },
  { id: "sending-domain", label: "Sending domain", param: "sending_domains", key: "sending_domain", list: "sending-domains" },
  { id: "campaign", label: "Campaign", param: "campaigns", key: "campaign_id", list: "campaigns" },
  { id: "template", label: "Template", param: "templates", key: "template_id", list: "templates" },
  { id: "ip-pool", label: "IP pool", param: "ip_pools", key: "ip_pool", list: "ip-pools" },
  { id: "sending-ip", label: "Sending IP", param: "sending_ips", key: "sending_ip", list: "sending-ips" },
  { id: "subaccount", label: "Subaccount", param: "subaccounts", key: "subaccount_id", list: null },
];

export const facetByParam = (param) => FACETS.find((f) => f.param === param);

/** Date range presets: id, label, minutes. */
export const RANGES = [
  ["1h", "Last hour", 60], ["24h", "Last 24 hours", 1440], ["7d", "Last 7 days", 7 * 1440],
  ["30d", "Last 30 days", 30 * 1440], ["90d", "Last 90 days", 90 * 1440], ["180d", "Last 6 months", 182 * 1440],
];

/** Time-series precisions and the longest window (minutes) each allows. */
const PRECISIONS = [
  ["1min", "Minute", 1440], ["5min", "5 minutes", 1440], ["15min", "15 minutes", 2880],
  ["hour", "Hour", 44640], ["12hr", "12 hours", Infinity], ["day", "Day", Infinity],
  ["week", "Week", Infinity], ["month", "Month", Infinity],
];
/** A precision in words: "5 minutes". */
export const precisionName = (id) => (PRECISIONS.find((p) => p[0] === id) || [id, id])[1].toLowerCase();
const BUCKET_MINUTES = { "1min": 1, "5min": 5, "15min": 15, hour: 60, "12hr": 720, day: 1440, week: 10080, month: 43200 };

function autoPrecision(span) {
  if (span <= 120) return "1min";
  if (span <= 720) return "5min";
  if (span <= 2880) return "15min";
  if (span <= 31 * 1440) return "hour";
  return "day";
}

/** The aggregate endpoints' precision: as fine as the window allows (it rounds the window). */
function aggregatePrecision(span) {
  if (span <= 1440) return "1min";
  if (span <= 2880) return "15min";
  if (span <= 30 * 1440) return "hour";
  return "day";
}

/** The report window the URL describes, resolved against the present moment. */
export function reportWindow(params) {
  const tz = params.get("tz") || localZone();
  let range = params.get("range") || "24h";
  let from, to;
  if (range === "custom" && params.get("from") && params.get("to")) {
    from = params.get("from");
    to = params.get("to");
  } else {
    const preset = RANGES.find((r) => r[0] === range) || RANGES[1];
    range = preset[0];
    const now = new Date();
    to = wallClock(now, tz);
    from = wallClock(new Date(now.getTime() - preset[2] * 60e3), tz);
  }
  const span = Math.max(wallMinutes(from, to), 1);
  const asked = params.get("precision") || "auto";
  const allowed = PRECISIONS.find((p) => p[0] === asked && span <= p[2] && span / BUCKET_MINUTES[p[0]] <= 2000);
  const precision = allowed ? asked : autoPrecision(span);
  return { range, from, to, tz, span, precision, asked, aggregate: aggregatePrecision(span) };
}

/** The filters in the URL: `[{param, value}]`. */
export function filters(params) {
  return params.getAll("f").map((text) => {
    const at = text.indexOf(":");
    return { param: text.slice(0, at), value: text.slice(at + 1) };
  }).filter((f) => facetByParam(f.param) && f.value !== "");
}

/** The filters as Metrics API parameters: `{domains: "a.com,b.com", …}`. */
export function filterQuery(params) {
  const out = {};
  for (const { param, value } of filters(params)) out[param] = out[param] ? `${out[param]},${value}` : value;
  return out;
}

/** The window and filters as Metrics API parameters. */
export function metricsQuery(params, win, { precision } = {}) {
  return { from: win.from, to: win.to, timezone: win.tz, precision, ...filterQuery(params) };
}

/** The range, time zone and (optionally) precision controls. */
export function windowControls(params, win, { withPrecision = true } = {}) {
  const range = h("select", { onchange: (e) => {
    if (e.target.value === "custom") update({ range: "custom", from: win.from, to: win.to });
    else update({ range: e.target.value, from: null, to: null });
  } },
  RANGES.map(([id, label]) => h("option", { value: id, text: label })), h("option", { value: "custom", text: "Custom range" }));
  range.value = win.range;
  const parts = [field("Date range", range)];
  if (win.range === "custom") {
    const from = h("input", { type: "datetime-local", value: win.from, required: true });
    const to = h("input", { type: "datetime-local", value: win.to, required: true });
    const apply = () => { if (from.value && to.value && from.value < to.value) update({ from: from.value.slice(0, 16), to: to.value.slice(0, 16) }); };
    from.addEventListener("change", apply);
    to.addEventListener("change", apply);
    parts.push(field("From", from), field("To", to));
  }
  const zone = h("select", { onchange: (e) => update({ tz: e.target.value === localZone() ? null : e.target.value }) },
    zones().map((z) => h("option", { value: z, text: z === localZone() ? `${z} (this computer)` : z })));
  zone.value = win.tz;
  parts.push(field("Time zone", zone));
  if (withPrecision) {
    const precision = h("select", { onchange: (e) => update({ precision: e.target.value === "auto" ? null : e.target.value }) },
      h("option", { value: "auto", text: `Automatic (${precisionName(win.precision)})` }),
      PRECISIONS.map(([id, label, max]) => h("option", {
        value: id, text: label, disabled: win.span > max || win.span / BUCKET_MINUTES[id] > 2000,
      })));
    precision.value = win.asked === win.precision ? win.asked : "auto";
    parts.push(field("Precision", precision));
  }
  return h("div", { class: "row" }, parts);
}

/** The filter chips (each removable) and a small form to add one. */
export function filterBar(params) {
  const current = filters(params);
  const remove = (index) => update({ f: params.getAll("f").filter((_, i) => i !== index) });
  const chips = current.map(({ param, value }, i) =>
    h("span", { class: "chip", "data-filter": `${param}:${value}` },
      `${facetByParam(param).label}: ${value}`,
      h("button", { type: "button", "aria-label": `Remove filter ${facetByParam(param).label} ${value}`, text: "×", onclick: () => remove(i) })));
  const facet = h("select", { "aria-label": "Filter by" }, FACETS.map((f) => h("option", { value: f.param, text: f.label })));
  const value = h("input", { type: "text", placeholder: "value", "aria-label": "Filter value", list: "filter-values", autocomplete: "off" });
  const options = h("datalist", { id: "filter-values" });
  const suggest = async () => {
    const f = facetByParam(facet.value);
    options.replaceChildren();
    if (!f.list) return;
    try {
      const answer = await get(`/metrics/${f.list}`, { limit: 50, match: value.value || undefined });
      const values = answer?.results?.[f.list] || [];
      options.replaceChildren(...values.map((v) => h("option", { value: v })));
    } catch { /* suggestions are optional */ }
  };
  facet.addEventListener("change", suggest);
  value.addEventListener("focus", suggest, { once: true });
  const add = h("form", { class: "row add-filter", onsubmit: (e) => {
    e.preventDefault();
    const text = value.value.trim();
    if (text) update({ f: [...params.getAll("f"), `${facet.value}:${text}`] });
  } }, facet, value, options, h("button", { type: "submit", class: "ghost", text: "Add filter" }));
  return h("div", { class: "stack" },
    h("div", { class: "chips", "aria-label": "Filters", role: "group" },
      h("span", { class: "label", text: "Filters" }),
      chips.length ? chips : h("span", { class: "muted", text: "None: every message is counted. Click a row below to drill down." }),
      chips.length > 1 ? h("button", { type: "button", class: "link", text: "Clear all", onclick: () => update({ f: null }) }) : null),
    add);
}

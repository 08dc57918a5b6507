// The summary report: headline numbers and rates, a time series of chosen metrics, and a
// breakdown table by facet whose rows drill down (add a filter).

import { h, fill, table, notice, arrowKeys } from "../dom.js";
import { get } from "../api.js";
import { update } from "../state.js";
import { count, rate } from "../format.js";
import { lineChart } from "../chart.js";
import { FACETS, filters, filterBar, metricsQuery, precisionName, reportWindow, windowControls } from "../controls.js";

/** Metrics the chart offers, with their names in reports. */
export const METRICS = [
  ["count_targeted", "Targeted"], ["count_injected", "Injected"], ["count_sent", "Sent"],
  ["count_accepted", "Accepted"], ["count_delivered", "Delivered"], ["count_delivered_first", "Delivered first attempt"],
  ["count_delivered_subsequent", "Delivered after retries"], ["count_bounce", "Bounces"], ["count_hard_bounce", "Hard bounces"],
  ["count_soft_bounce", "Soft bounces"], ["count_block_bounce", "Block bounces"], ["count_admin_bounce", "Admin bounces"],
  ["count_undetermined_bounce", "Undetermined bounces"], ["count_outofband_bounce", "Out-of-band bounces"],
  ["count_rejected", "Rejected"], ["count_policy_rejection", "Policy rejections"], ["count_generation_failed", "Generation failures"],
  ["count_delayed", "Delays"], ["count_delayed_first", "Delayed first attempt"], ["count_rendered", "Opens"],
  ["count_unique_rendered", "Unique opens"], ["count_unique_confirmed_opened", "Unique confirmed opens"],
  ["count_clicked", "Clicks"], ["count_unique_clicked", "Unique clicks"], ["count_spam_complaint", "Spam complaints"],
  ["count_unsubscribe", "Unsubscribes"],
];
export const DEFAULT_METRICS = ["count_targeted", "count_delivered", "count_bounce", "count_delayed", "count_unique_rendered", "count_unique_clicked"];
const label = (id) => (METRICS.find((m) => m[0] === id) || [id, id])[1];

/** What the headline numbers need. */
const HEADLINE = [
  "count_targeted", "count_sent", "count_accepted", "count_delivered", "count_bounce", "count_hard_bounce",
  "count_soft_bounce", "count_block_bounce", "count_undetermined_bounce", "count_admin_bounce", "count_rejected",
  "count_delayed_first", "count_unique_confirmed_opened", "count_unique_clicked", "count_spam_complaint", "count_unsubscribe",
];

/** The rates SparkPost's reports show: name, numerator, denominator. */
export const RATES = [
  ["Accepted rate", "count_accepted", "count_sent"],
  ["Bounce rate", "count_bounce", "count_sent"],
  ["Hard bounce rate", "count_hard_bounce", "count_sent"],
  ["Soft bounce rate", "count_soft_bounce", "count_sent"],
  ["Block bounce rate", "count_block_bounce", "count_sent"],
  ["Undetermined bounce rate", "count_undetermined_bounce", "count_sent"],
  ["Admin bounce rate", "count_admin_bounce", "count_targeted"],
  ["Rejection rate", "count_rejected", "count_targeted"],
  ["Delayed rate", "count_delayed_first", "count_accepted"],
  ["Open rate", "count_unique_confirmed_opened", "count_accepted"],
  ["Click-through rate", "count_unique_clicked", "count_accepted"],
  ["Spam complaint rate", "count_spam_complaint", "count_accepted"],
  ["Unsubscribe rate", "count_unsubscribe", "count_accepted"],
];

const ratio = (a, b) => (b ? (a || 0) / b : null);
const pct = (v) => (v === null ? "–" : `${(100 * v).toFixed(2)}%`);

/** The breakdown table's columns: id, heading, value of a row, format. */
const COLUMNS = [
  ["count_targeted", "Targeted", (r) => r.count_targeted, count],
  ["count_delivered", "Delivered", (r) => r.count_delivered, count],
  ["accepted_rate", "Accepted rate", (r) => ratio(r.count_accepted, r.count_sent), pct],
  ["bounce_rate", "Bounce rate", (r) => ratio(r.count_bounce, r.count_sent), pct],
  ["delayed_rate", "Delayed rate", (r) => ratio(r.count_delayed_first, r.count_accepted), pct],
  ["open_rate", "Open rate", (r) => ratio(r.count_unique_confirmed_opened, r.count_accepted), pct],
  ["click_rate", "Click-through rate", (r) => ratio(r.count_unique_clicked, r.count_accepted), pct],
  ["spam_rate", "Spam complaint rate", (r) => ratio(r.count_spam_complaint, r.count_accepted), pct],
];
const BREAKDOWN_METRICS = ["count_targeted", "count_delivered", "count_sent", "count_accepted", "count_bounce", "count_delayed_first",
  "count_unique_confirmed_opened", "count_unique_clicked", "count_spam_complaint"];

/** Where a drill-down goes next: the first facet in this order not filtered yet. */
const DRILL_ORDER = ["campaign", "domain", "sending-domain", "template", "ip-pool", "sending-ip", "mailbox-provider", "subaccount"];

function tile(name, value, detail, attrs = {}) {
  return h("div", { class: "tile", ...attrs },
    h("div", { class: "name", text: name }), h("div", { class: "value", text: value }),
    detail ? h("div", { class: "detail", text: detail }) : null);
}

function headline(container, totals) {
  const counts = [
    ["Targeted", "count_targeted", "messages requested"],
    ["Accepted", "count_accepted", "by the receiving servers"],
    ["Delivered", "count_delivered", `${count(totals.count_sent)} sent`],
    ["Bounces", "count_bounce", "in-band and out-of-band"],
    ["Rejected", "count_rejected", "by policy or generation"],
    ["Confirmed opens", "count_unique_confirmed_opened", "unique, opened or clicked"],
    ["Unique clicks", "count_unique_clicked", "clicked a link"],
    ["Spam complaints", "count_spam_complaint", "from mailbox providers"],
  ].map(([name, metric, detail]) => tile(name, count(totals[metric]), detail, { "data-metric": metric, "data-value": totals[metric] ?? 0 }));
  const rates = RATES.map(([name, part, whole]) => h("div", {
    class: "rate", "data-rate": name, "data-part": totals[part] ?? 0, "data-whole": totals[whole] ?? 0,
    title: `${count(totals[part])} of ${count(totals[whole])}`,
  }, h("span", { class: "name", text: name }), h("span", { class: "value", text: rate(totals[part], totals[whole]) })));
  fill(container, h("div", { class: "tiles counts" }, counts),
    h("div", { class: "panel rates", role: "group", "aria-label": "Rates" }, rates));
}

function metricPicker(chosen) {
  const boxes = METRICS.map(([id, name]) => h("label", {},
    h("input", { type: "checkbox", value: id, checked: chosen.includes(id), onchange: () => {
      const picked = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
      if (picked.length) update({ metrics: picked.join(",") === DEFAULT_METRICS.join(",") ? null : picked.join(",") });
    } }), name));
  return h("details", { class: "metric-picker" },
    h("summary", { text: `Chart metrics (${chosen.length})` }),
    h("fieldset", {}, h("legend", { text: "Metrics shown in the chart" }), h("div", { class: "checks" }, boxes)));
}

function breakdown(container, params, win, facet) {
  const tabs = arrowKeys(h("div", { class: "tabs", role: "tablist", "aria-label": "Break down by" },
    FACETS.map((f) => h("button", {
      type: "button", role: "tab", "aria-selected": String(f.id === facet.id), "data-facet": f.id,
      text: f.label, onclick: () => update({ by: f.id === "domain" ? null : f.id }),
    }))));
  const body = h("div", { role: "tabpanel", "aria-label": `By ${facet.label}` }, h("p", { class: "loading", text: "Loading" }));
  fill(container, h("h2", { text: "Breakdown" }), tabs, body);
  const sortBy = COLUMNS.find((c) => c[0] === params.get("sort")) || COLUMNS[0];
  const active = new Set(filters(params).map((f) => f.param));
  return get(`/metrics/deliverability/${facet.id}`, {
    ...metricsQuery(params, win, { precision: win.aggregate }), metrics: BREAKDOWN_METRICS.join(","),
    order_by: "count_targeted", limit: 100,
  }).then((answer) => {
    const rows = [...(answer?.results || [])].sort((a, b) => (sortBy[2](b) ?? -1) - (sortBy[2](a) ?? -1));
    const next = DRILL_ORDER.map((id) => FACETS.find((f) => f.id === id))
      .find((f) => f.id !== facet.id && !active.has(f.param) && f.param !== facet.param);
    const columns = [{ label: facet.label }, ...COLUMNS.map(([id, heading]) => ({
      num: true,
      ariaSort: id === sortBy[0] ? "descending" : null,
      head: h("button", { type: "button", title: `Sort by ${heading}, largest first`,
        onclick: () => update({ sort: id === "count_targeted" ? null : id }) }, heading, id === sortBy[0] ? " ▾" : ""),
    }))];
    const shown = rows.map((row) => {
      const raw = row[facet.key];
      const value = raw === undefined || raw === null ? "" : String(raw);
      const name = facet.id === "subaccount" && value === "0" ? "Primary account" : value || "(none)";
      const drill = value !== "" && !active.has(facet.param)
        ? h("button", { type: "button", class: "link", "data-drill": value, title: `Show only ${facet.label} ${name}`, text: name,
          onclick: () => update({ f: [...params.getAll("f"), `${facet.param}:${value}`], by: next ? next.id : null }) })
        : name;
      const cells = [drill, ...COLUMNS.map(([, , value, format]) => format(value(row)))];
      cells.attrs = { "data-key": value };
      return cells;
    });
    fill(body, table(columns, shown, { caption: `Breakdown by ${facet.label}`, empty: "No messages in this range." }));
  }).catch((error) => fill(body, notice(error.message, "error")));
}

/** Renders the summary report into `root`. */
export function render(root, params) {
  const win = reportWindow(params);
  const chosen = (params.get("metrics") || DEFAULT_METRICS.join(",")).split(",").filter((m) => METRICS.some((x) => x[0] === m));
  const facet = FACETS.find((f) => f.id === params.get("by")) || FACETS[0];
  const headlineBox = h("section", { "aria-label": "Headline numbers" }, h("p", { class: "loading", text: "Loading" }));
  const chartBox = h("div", {}, h("p", { class: "loading", text: "Loading" }));
  const tableBox = h("section", { class: "panel", "aria-label": "Breakdown" });
  fill(root,
    h("h1", { text: "Summary report" }),
    h("p", { class: "sub", text: `${win.from.replace("T", " ")} to ${win.to.replace("T", " ")} (${win.tz}), by ${precisionName(win.precision)}` }),
    h("section", { class: "panel stack", "aria-label": "Report settings" }, windowControls(params, win), filterBar(params), metricPicker(chosen)),
    headlineBox,
    h("section", { class: "panel", "aria-label": "Chart" }, h("h2", { text: "Over time" }), chartBox),
    tableBox);
  const started = performance.now();
  const summary = get("/metrics/deliverability", { ...metricsQuery(params, win, { precision: win.aggregate }), metrics: HEADLINE.join(",") })
    .then((answer) => headline(headlineBox, answer?.results?.[0] || {}))
    .catch((error) => fill(headlineBox, notice(error.message, "error")));
  const series = get("/metrics/deliverability/time-series", { ...metricsQuery(params, win, { precision: win.precision }), metrics: chosen.join(",") })
    .then((answer) => {
      const rows = answer?.results || [];
      if (!rows.length) { fill(chartBox, notice("No data in this range.")); return; }
      lineChart(chartBox, chosen.map((id) => ({
        key: id, label: label(id), points: rows.map((row) => ({ t: new Date(row.ts), v: Number(row[id] || 0) })),
      })), { zone: win.tz, spanMinutes: win.span, title: `Chart of ${chosen.map(label).join(", ")} by ${win.precision}` });
    })
    .catch((error) => fill(chartBox, notice(error.message, "error")));
  const rowsDone = breakdown(tableBox, params, win, facet);
  Promise.all([summary, series, rowsDone]).then(() => {
    root.dataset.loaded = "true";
    root.dataset.renderMs = String(Math.round(performance.now() - started));
  });
}

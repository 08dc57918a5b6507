// Bounce, rejection and delay reports: reasons and classifications with their counts, by
// recipient domain, for the same window and filters as the summary.

import { h, fill, table, notice, arrowKeys } from "../dom.js";
import { get } from "../api.js";
import { update } from "../state.js";
import { count, rate } from "../format.js";
import { filterBar, metricsQuery, reportWindow, windowControls, filters } from "../controls.js";

const KINDS = [["bounces", "Bounces"], ["rejections", "Rejections"], ["delays", "Delays"]];

function domainCell(params, domain) {
  if (!domain) return "(none)";
  if (filters(params).some((f) => f.param === "domains")) return domain;
  return h("button", { type: "button", class: "link", text: domain, title: `Show only ${domain}`,
    onclick: () => update({ f: [...params.getAll("f"), `domains:${domain}`] }) });
}

function section(title, box) {
  return h("section", { class: "panel", "aria-label": title }, h("h2", { text: title }), box);
}

function load(box, path, query, build) {
  fill(box, h("p", { class: "loading", text: "Loading" }));
  return get(path, query).then((answer) => fill(box, build(answer?.results || [])))
    .catch((error) => fill(box, notice(error.message, "error")));
}

/** Renders the report chosen by `kind` into `root`. */
export function render(root, params) {
  const win = reportWindow(params);
  const kind = KINDS.find((k) => k[0] === params.get("kind")) ? params.get("kind") : "bounces";
  const base = { ...metricsQuery(params, win, { precision: win.aggregate }) };
  const tabs = arrowKeys(h("div", { class: "tabs", role: "tablist", "aria-label": "Report" },
    KINDS.map(([id, name]) => h("button", { type: "button", role: "tab", "aria-selected": String(id === kind), text: name,
      onclick: () => update({ kind: id === "bounces" ? null : id }) }))));
  const totals = h("div", {});
  const first = h("div", {});
  const second = h("div", {});
  fill(root,
    h("h1", { text: "Bounces, rejections and delays" }),
    h("p", { class: "sub", text: `Why mail did not get through, ${win.from.replace("T", " ")} to ${win.to.replace("T", " ")} (${win.tz})` }),
    h("section", { class: "panel stack", "aria-label": "Report settings" }, windowControls(params, win, { withPrecision: false }), filterBar(params)),
    tabs, totals);
  const pending = [];
  pending.push(load(totals, "/metrics/deliverability", { ...base, metrics: "count_sent,count_targeted,count_accepted,count_bounce,count_hard_bounce,count_soft_bounce,count_block_bounce,count_admin_bounce,count_rejected,count_delayed,count_delayed_first" },
    ([t = {}]) => h("div", { class: "tiles" },
      (kind === "bounces" ? [
        ["Bounces", count(t.count_bounce), `${rate(t.count_bounce, t.count_sent)} of sent`],
        ["Hard", count(t.count_hard_bounce), rate(t.count_hard_bounce, t.count_sent)],
        ["Soft", count(t.count_soft_bounce), rate(t.count_soft_bounce, t.count_sent)],
        ["Block", count(t.count_block_bounce), rate(t.count_block_bounce, t.count_sent)],
        ["Admin", count(t.count_admin_bounce), `${rate(t.count_admin_bounce, t.count_targeted)} of targeted`],
      ] : kind === "rejections" ? [
        ["Rejected", count(t.count_rejected), `${rate(t.count_rejected, t.count_targeted)} of targeted`],
      ] : [
        ["Delays", count(t.count_delayed), "delivery attempts deferred"],
        ["Delayed first attempt", count(t.count_delayed_first), `${rate(t.count_delayed_first, t.count_accepted)} of accepted`],
      ]).map(([name, value, detail]) => h("div", { class: "tile" }, h("div", { class: "name", text: name }),
        h("div", { class: "value", text: value }), h("div", { class: "detail", text: detail }))))));
  if (kind === "bounces") {
    root.append(section("Bounce classifications", first), section("Bounce reasons by domain", second));
    pending.push(load(first, "/metrics/deliverability/bounce-classification", { ...base, metrics: "count_bounce,count_inband_bounce,count_outofband_bounce,count_admin_bounce" },
      (rows) => table(
        [{ label: "Class" }, { label: "Name" }, { label: "Category" }, { label: "Description", wrap: true }, { label: "Bounces", num: true }, { label: "In-band", num: true }, { label: "Out-of-band", num: true }, { label: "Admin", num: true }],
        rows.map((r) => [String(r.classification_id ?? ""), r.bounce_class_name, r.bounce_category_name, r.bounce_class_description,
          count(r.count_bounce), count(r.count_inband_bounce), count(r.count_outofband_bounce), count(r.count_admin_bounce)]),
        { caption: "Bounce classifications", empty: "No bounces in this range." })));
    pending.push(load(second, "/metrics/deliverability/bounce-reason/domain", { ...base, metrics: "count_bounce,count_inband_bounce,count_outofband_bounce", limit: 200 },
      (rows) => table(
        [{ label: "Reason", wrap: true }, { label: "Domain" }, { label: "Classification" }, { label: "Bounces", num: true }, { label: "In-band", num: true }, { label: "Out-of-band", num: true }],
        rows.map((r) => [r.reason, domainCell(params, r.domain), `${r.bounce_class_name ?? ""} (${r.classification_id ?? "?"})`,
          count(r.count_bounce), count(r.count_inband_bounce), count(r.count_outofband_bounce)]),
        { caption: "Bounce reasons by domain", empty: "No bounces in this range." })));
  } else if (kind === "rejections") {
    root.append(section("Rejection reasons by domain", first));
    pending.push(load(first, "/metrics/deliverability/rejection-reason/domain", { ...base, limit: 200 },
      (rows) => table([{ label: "Reason", wrap: true }, { label: "Domain" }, { label: "Type" }, { label: "Rejected", num: true }],
        rows.map((r) => [r.reason, domainCell(params, r.domain), r.rejection_type, count(r.count_rejected)]),
        { caption: "Rejection reasons by domain", empty: "No rejections in this range." })));
  } else {
    root.append(section("Delay reasons by domain", first));
    pending.push(load(first, "/metrics/deliverability/delay-reason/domain", { ...base, limit: 200 },
      (rows) => table([{ label: "Reason", wrap: true }, { label: "Domain" }, { label: "Delays", num: true }, { label: "First attempt", num: true }],
        rows.map((r) => [r.reason, domainCell(params, r.domain), count(r.count_delayed), count(r.count_delayed_first)]),
        { caption: "Delay reasons by domain", empty: "No delays in this range." })));
  }
  Promise.all(pending).then(() => { root.dataset.loaded = "true"; });
}

// Health: whether the pipeline keeps up. Reads the Prometheus text at /metrics (no key
// needed) every few seconds: ingest rate, and how far behind each subscriber of the hose is.

import { h, fill, table, notice } from "../dom.js";
import { plain } from "../api.js";
import { bytes, count } from "../format.js";

const EVERY_MS = 5000;
/** Lag below this is "keeping up"; below FAR "behind"; more is "far behind". */
const NEAR = 1 << 20, FAR = 64 << 20;

/** Parses Prometheus text into `[{name, labels, value}]`. */
export function parse(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const [, key, value] of (match[2] || "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key] = value.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

const total = (samples, name) => samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);

function byLabel(samples, name, label) {
  const out = new Map();
  for (const s of samples.filter((x) => x.name === name)) out.set(s.labels[label] || "", (out.get(s.labels[label] || "") || 0) + s.value);
  return out;
}

function verdict(lag) {
  if (lag < NEAR) return ["Keeping up", "ok"];
  if (lag < FAR) return ["Behind", "warn"];
  return ["Far behind", "bad"];
}

/** Renders the health view into `root`; refreshes while it is on screen. */
export function render(root) {
  const tiles = h("div", { class: "tiles" }, h("p", { class: "loading", text: "Measuring" }));
  const lagBox = h("div", {});
  const queueBox = h("div", {});
  fill(root, h("h1", { text: "Pipeline health" }),
    h("p", { class: "sub", text: `Does the pipeline keep up? Refreshed every ${EVERY_MS / 1000} seconds from the server's /metrics.` }),
    tiles,
    h("section", { class: "panel", "aria-label": "Subscribers" }, h("h2", { text: "Subscribers of the event hose" }), lagBox),
    queueBox);
  let previous = null;
  let rounds = 0;
  async function sample() {
    if (!root.isConnected) return;
    try {
      const [metrics, ready] = await Promise.all([plain("/metrics"), plain("/readyz").catch(() => ({ status: 0 }))]);
      const samples = parse(metrics.text);
      const now = performance.now();
      const ingested = total(samples, "eventhose_ingest_events_total");
      const processed = byLabel(samples, "eventhose_subscriber_events_total", "subscriber");
      const seconds = previous ? (now - previous.at) / 1000 : 0;
      const perSecond = (a, b) => (previous && seconds > 0 ? Math.max(0, (a - b) / seconds) : null);
      const rate = perSecond(ingested, previous?.ingested ?? 0);
      const lags = byLabel(samples, "eventhose_hose_subscriber_lag_bytes", "subscriber");
      const queues = byLabel(samples, "eventhose_hose_queue_messages", "queue");
      const worst = Math.max(0, ...lags.values());
      const [overall, tone] = lags.size ? verdict(worst) : [queues.size ? "RabbitMQ hose" : "No subscribers reported", ""];
      fill(tiles,
        h("div", { class: "tile", "data-health": "ready" }, h("div", { class: "name", text: "Server" }),
          h("div", { class: "value" }, h("span", { class: `badge ${ready.status === 200 ? "ok" : "bad"}`, text: ready.status === 200 ? "Ready" : "Not ready" }))),
        h("div", { class: "tile", "data-health": "pipeline" }, h("div", { class: "name", text: "Pipeline" }),
          h("div", { class: "value" }, h("span", { class: `badge ${tone}`, text: overall }))),
        h("div", { class: "tile", "data-health": "ingest-rate", "data-value": rate ?? "" }, h("div", { class: "name", text: "Ingest rate" }),
          h("div", { class: "value", text: rate === null ? "measuring" : `${count(rate)}/s` }), h("div", { class: "detail", text: `${count(ingested)} events since start` })));
      fill(lagBox, lags.size
        ? table([{ label: "Subscriber" }, { label: "Status" }, { label: "Lag", num: true }, { label: "Trend" }, { label: "Events processed", num: true }, { label: "Processing rate", num: true }],
          [...lags.entries()].sort().map(([name, lag]) => {
            const [text, t] = verdict(lag);
            const before = previous?.lags.get(name);
            const trend = before === undefined ? "–" : lag > before ? "growing" : lag < before ? "shrinking" : "steady";
            const done = processed.get(name);
            const speed = done === undefined ? null : perSecond(done, previous?.processed.get(name) ?? 0);
            const cells = [name, h("span", { class: `badge ${t}`, text }), bytes(lag), trend, done === undefined ? "–" : count(done), speed === null ? "–" : `${count(speed)}/s`];
            cells.attrs = { "data-subscriber": name, "data-lag": lag };
            return cells;
          }), { caption: "Subscriber lag" })
        : notice(queues.size ? "The hose is RabbitMQ: see the queues below." : "No subscriber lag reported yet."));
      fill(queueBox, queues.size
        ? h("section", { class: "panel" }, h("h2", { text: "RabbitMQ queues" }), table([{ label: "Queue" }, { label: "Messages waiting", num: true }],
          [...queues.entries()].sort().map(([q, n]) => [q, count(n)]), { caption: "Queue depth" }))
        : "");
      previous = { at: now, ingested, lags, processed };
      root.dataset.loaded = "true";
    } catch (error) {
      fill(tiles, notice(`Could not read /metrics: ${error.message}`, "error"));
    }
    // The first rate needs two samples: take the second soon.
    rounds += 1;
    setTimeout(sample, rounds === 1 ? 2000 : EVERY_MS);
  }
  sample();
}

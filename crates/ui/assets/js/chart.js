// A line chart of time series, drawn as SVG: axes, grid, a legend that toggles series, and a
// tooltip that follows the pointer or the arrow keys.

import { h, s, fill } from "./dom.js";
import { count, short, tick, dateTime } from "./format.js";

/** Colours distinguishable from each other and readable on white. */
export const PALETTE = ["#1f4e8c", "#1b7f3b", "#b3261e", "#a15c00", "#6a3d9a", "#00788a", "#c2185b", "#4e5d6c"];

const H = 300, M = { top: 16, right: 16, bottom: 34, left: 56 };

/** Rounds a maximum up to a readable axis top and gives its step. */
function niceScale(max) {
  if (max <= 0) return { top: 1, step: 0.25 };
  const raw = max / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((m) => m >= raw);
  return { top: step * Math.ceil(max / step), step };
}

/**
 * Draws `series` ([{key, label, points: [{t: Date, v: number}]}]) into `container`.
 * `zone` formats the times; `spanMinutes` chooses the label format.
 */
export function lineChart(container, series, { zone, spanMinutes, title }) {
  const hiddenKeys = new Set();
  const legend = h("div", { class: "legend", role: "group", "aria-label": "Series shown" });
  const tooltip = h("div", { class: "tooltip", hidden: true, "aria-hidden": "true" });
  const times = series[0]?.points.map((p) => p.t) || [];
  let focusIndex = -1;

  // Drawn in the pixels it is shown in (the viewBox follows the width), so text is never stretched.
  let W = 960;
  const svg = s("svg", {
    role: "img", tabindex: "0",
    "aria-label": `${title}. Use the left and right arrow keys to read the values of each time.`,
  });

  function x(i) {
    const n = Math.max(times.length - 1, 1);
    return M.left + ((W - M.left - M.right) * i) / n;
  }

  function draw() {
    W = Math.max(Math.round(svg.parentElement?.clientWidth || 0), 320) || 960;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const visible = series.filter((ser) => !hiddenKeys.has(ser.key));
    const max = Math.max(0, ...visible.flatMap((ser) => ser.points.map((p) => p.v)));
    const { top, step } = niceScale(max);
    const y = (v) => H - M.bottom - ((H - M.top - M.bottom) * v) / top;
    const nodes = [];
    for (let v = 0; v <= top + step / 2; v += step) {
      nodes.push(s("line", { class: "grid", x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }));
      nodes.push(s("text", { x: M.left - 8, y: y(v) + 4, "text-anchor": "end" }, short(v)));
    }
    const labels = Math.min(times.length, Math.max(2, Math.floor((W - M.left) / 120)));
    for (let k = 0; k < labels; k += 1) {
      const i = labels === 1 ? 0 : Math.round((k * (times.length - 1)) / (labels - 1));
      nodes.push(s("text", { x: x(i), y: H - 10, "text-anchor": k === 0 ? "start" : k === labels - 1 ? "end" : "middle" },
        tick(times[i], zone, spanMinutes)));
    }
    const axis = s("g", { class: "axis" }, nodes);
    const lines = series.map((ser, n) => {
      if (hiddenKeys.has(ser.key)) return null;
      const d = ser.points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.v).toFixed(1)}`).join("");
      return s("path", {
        d, fill: "none", stroke: PALETTE[n % PALETTE.length], "stroke-width": 2,
        "vector-effect": "non-scaling-stroke", "stroke-linejoin": "round", "data-series": ser.key,
      });
    });
    const hover = focusIndex >= 0
      ? s("line", { class: "hover-line", x1: x(focusIndex), x2: x(focusIndex), y1: M.top, y2: H - M.bottom, "vector-effect": "non-scaling-stroke" })
      : null;
    fill(svg, s("title", {}, title), axis, lines, hover);
  }

  function showTip(i, clientX) {
    if (i < 0 || !times.length) { tooltip.hidden = true; focusIndex = -1; draw(); return; }
    focusIndex = i;
    draw();
    fill(tooltip,
      h("strong", { text: dateTime(times[i], zone, { seconds: false }) }),
      series.filter((ser) => !hiddenKeys.has(ser.key)).map((ser) =>
        h("div", {}, h("span", {}, h("span", { class: "swatch", "data-color": ser.key }), " ", ser.label), h("b", { text: count(ser.points[i].v) }))));
    tooltip.querySelectorAll(".swatch").forEach((el) => {
      const n = series.findIndex((ser) => ser.key === el.dataset.color);
      el.style.background = PALETTE[n % PALETTE.length];
    });
    tooltip.hidden = false;
    const box = svg.getBoundingClientRect();
    const left = clientX ?? box.left + (x(i) / W) * box.width;
    const offset = left - box.left;
    tooltip.style.top = "12px";
    tooltip.style.left = `${Math.min(Math.max(offset + 14, 0), box.width - 190)}px`;
  }

  svg.addEventListener("pointermove", (event) => {
    const box = svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * W;
    const n = Math.max(times.length - 1, 1);
    const i = Math.round(((px - M.left) / (W - M.left - M.right)) * n);
    showTip(Math.min(Math.max(i, 0), times.length - 1), event.clientX);
  });
  svg.addEventListener("pointerleave", () => showTip(-1));
  svg.addEventListener("blur", () => showTip(-1));
  svg.addEventListener("keydown", (event) => {
    const last = times.length - 1;
    const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -Infinity, End: Infinity };
    if (!(event.key in moves)) { if (event.key === "Escape") showTip(-1); return; }
    event.preventDefault();
    const start = focusIndex < 0 ? (moves[event.key] > 0 ? -1 : last + 1) : focusIndex;
    showTip(Math.min(Math.max(start + moves[event.key], 0), last));
  });

  series.forEach((ser, n) => {
    const total = ser.points.reduce((sum, p) => sum + p.v, 0);
    const swatch = h("span", { class: "swatch" });
    swatch.style.background = PALETTE[n % PALETTE.length];
    const button = h("button", {
      type: "button", "aria-pressed": "true", "data-series": ser.key, "data-total": total,
      title: `Show or hide ${ser.label}`,
    }, swatch, `${ser.label} (${count(total)})`);
    button.addEventListener("click", () => {
      if (hiddenKeys.has(ser.key)) hiddenKeys.delete(ser.key); else hiddenKeys.add(ser.key);
      button.setAttribute("aria-pressed", String(!hiddenKeys.has(ser.key)));
      draw();
    });
    legend.append(button);
  });

  fill(container, h("div", { class: "chart" }, svg, tooltip), legend);
  draw();
  let width = svg.parentElement.clientWidth;
  const resized = new ResizeObserver(() => {
    if (!svg.isConnected) { resized.disconnect(); return; }
    if (svg.parentElement.clientWidth !== width) { width = svg.parentElement.clientWidth; draw(); }
  });
  resized.observe(svg.parentElement);
  return svg;
}

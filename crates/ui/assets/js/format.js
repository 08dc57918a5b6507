// Numbers, rates, times and time zones, formatted for people.

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });

/** 12,345 */
export const count = (n) => (n === undefined || n === null ? "–" : integer.format(n));

/** 12.3K (chart axes) */
export const short = (n) => compact.format(n);

/** `part / whole` as a percentage with two decimals, or "–" when the whole is zero. */
export function rate(part, whole) {
  if (!whole) return "–";
  return `${((100 * (part || 0)) / whole).toFixed(2)}%`;
}

/** The browser's time zone. */
export const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** Every IANA zone the browser knows, UTC and the local one first. */
export function zones() {
  const all = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return [...new Set(["UTC", localZone(), ...all])];
}

function parts(date, zone, options) {
  const format = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hourCycle: "h23", ...options });
  return Object.fromEntries(format.formatToParts(date).map((p) => [p.type, p.value]));
}

/** The wall-clock time of `date` in `zone` as the Metrics API reads it: `YYYY-MM-DDTHH:MM`. */
export function wallClock(date, zone) {
  const p = parts(date, zone, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** Minutes between two wall-clock strings (`YYYY-MM-DDTHH:MM`), ignoring DST. */
export function wallMinutes(from, to) {
  return (Date.parse(`${to}:00Z`) - Date.parse(`${from}:00Z`)) / 60000;
}

/** A UTC time as the Events API reads it: `YYYY-MM-DDTHH:MM:SSZ`. */
export const utcParam = (date) => `${date.toISOString().slice(0, 19)}Z`;

/** A date and time in `zone`, e.g. "27 Nov 2026, 14:05:09". */
export function dateTime(value, zone, { seconds = true } = {}) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value ?? "–");
  return new Intl.DateTimeFormat(undefined, {
    timeZone: zone, year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: seconds ? "2-digit" : undefined, hourCycle: "h23",
  }).format(date);
}

/** An axis label for `date` in `zone`, as fine as the span needs. */
export function tick(date, zone, spanMinutes) {
  const options = spanMinutes > 3 * 1440
    ? { month: "short", day: "numeric" }
    : spanMinutes > 1440
      ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }
      : { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  return new Intl.DateTimeFormat(undefined, { timeZone: zone, ...options }).format(date);
}

/** Bytes as KB/MB/GB. */
export function bytes(n) {
  if (!Number.isFinite(n)) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

// What the signed-in key may do, found by cheap reads on each API (no endpoint lists grants):
// a 403 means the grant is missing, and the section is hidden. Writes the key may not make are
// learned when the server refuses one (see `refuse`), and their controls are disabled then.

import { ApiError, get } from "./api.js";
import { utcParam, wallClock } from "./format.js";

/** The sections and the grant each needs. */
export const SECTIONS = {
  metrics: "metrics/view",
  events: "message_events/view",
  webhooks: "webhooks/view",
  suppressions: "suppression_lists/manage",
};

let known = null;

/** Probes every API once; throws ApiError(401) when the key is not accepted. */
export async function probe() {
  const now = new Date();
  const hourAgo = new Date(now.getTime() - 3600e3);
  const checks = {
    metrics: () => get("/metrics/deliverability", { from: wallClock(hourAgo, "UTC"), metrics: "count_targeted", precision: "hour" }),
    events: () => get("/events/message", { per_page: 1, from: utcParam(new Date(now.getTime() - 60e3)), to: utcParam(now) }),
    webhooks: () => get("/webhooks"),
    suppressions: () => get("/suppression-list/summary"),
  };
  const names = Object.keys(checks);
  const outcomes = await Promise.allSettled(names.map((name) => checks[name]()));
  const result = { writeRefused: {} };
  outcomes.forEach((outcome, i) => {
    const refused = outcome.status === "rejected";
    if (refused && outcome.reason instanceof ApiError && outcome.reason.status === 401) throw outcome.reason;
    // Anything but a 403 (say, a busy server) leaves the section visible: its view says what failed.
    result[names[i]] = !(refused && outcome.reason instanceof ApiError && outcome.reason.status === 403);
  });
  known = result;
  return result;
}

/** The grants found by the last probe (null before sign-in). */
export const grants = () => known;

/** Whether the key may use `section`. */
export const allows = (section) => Boolean(known && known[section]);

/** Whether writes of `kind` (e.g. "webhooks") are still believed allowed. */
export const mayWrite = (kind) => Boolean(known && !known.writeRefused[kind]);

/** Records that the server refused a write of `kind` with 403; true when it did. */
export function refuse(kind, error) {
  if (known && error instanceof ApiError && error.status === 403) {
    known.writeRefused[kind] = true;
    return true;
  }
  return false;
}

/** Forgets everything (sign-out). */
export function reset() {
  known = null;
}

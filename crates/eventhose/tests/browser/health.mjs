// Every other page renders without an error: the bounce, rejection and delay reports (with
// data from the simulator) and the health view (the subscribers keep up).

import { api, check, hourWindow, open, run, signIn } from "./lib.mjs";

await run("health", async (page) => {
  await signIn(page);
  const { from, to } = hourWindow(6, 1);
  const range = `range=custom&from=${from}&to=${to}&tz=UTC`;
  const query = { from, to, timezone: "UTC" };
  const checks = [
    ["bounces", "/metrics/deliverability/bounce-reason/domain", { metrics: "count_bounce" }],
    ["rejections", "/metrics/deliverability/rejection-reason/domain", {}],
    ["delays", "/metrics/deliverability/delay-reason/domain", {}],
  ];
  for (const [kind, path, extra] of checks) {
    await open(page, `#/reasons?${range}&kind=${kind}`);
    const expected = (await api(path, { ...query, ...extra, limit: 200 })).results.length;
    const rows = await page.locator("section.panel").last().locator("tbody tr:not(:has(td.empty))").count();
    check(expected > 0 && rows === expected, `${kind} by domain: ${rows} rows on the page, ${expected} from the API`);
  }
  await open(page, `#/reasons?${range}`);
  const classes = await page.locator("section[aria-label='Bounce classifications'] tbody tr:not(:has(td.empty))").count();
  check(classes > 0, "bounce classifications are listed");

  await open(page, "#/health");
  await page.locator("[data-health='ingest-rate'][data-value]:not([data-value=''])").waitFor();
  const subscribers = await page.locator("tr[data-subscriber]").evaluateAll((rows) => rows.map((r) => r.dataset.subscriber));
  for (const name of ["counter", "metrics", "message_events", "suppressions", "webhooks"]) {
    check(subscribers.includes(name), `the health view lists subscriber ${name} (${subscribers.join(", ")})`);
  }
  check(await page.locator("[data-health='ready'] .badge.ok").count() === 1, "the server is ready");
});

// Six months of data: the summary report (chart by day, headline, breakdown) shows what the
// Metrics API counts. The render times are printed, never asserted (machines are noisy);
// BENCHMARKS.md has them measured over a full-size six-month store.

import { api, check, open, run, signIn } from "./lib.mjs";

await run("six-months", async (page) => {
  await signIn(page);
  await open(page, "#/summary?range=180d&tz=UTC");
  const ms = Number(await page.locator("main > [data-view]").getAttribute("data-render-ms"));
  const points = await page.locator(".chart svg path[data-series='count_targeted']").getAttribute("d");
  check(points.split("L").length >= 180, "the chart has a point per day");
  const [from, to] = (await page.locator("main .sub").first().textContent()).match(/\d{4}-\d\d-\d\d \d\d:\d\d/g).map((t) => t.replace(" ", "T"));
  const summary = (await api("/metrics/deliverability", { from, to, timezone: "UTC", precision: "day", metrics: "count_targeted" })).results[0];
  const shown = Number(await page.locator(".tile[data-metric='count_targeted']").getAttribute("data-value"));
  check(shown === summary.count_targeted && shown > 0, `targeted over six months: page ${shown}, API ${summary.count_targeted}`);
  // Again by campaign (cached assets, warm store).
  await open(page, "#/summary?range=180d&tz=UTC&by=campaign");
  const again = Number(await page.locator("main > [data-view]").getAttribute("data-render-ms"));
  check(again > 0, "the campaign view rendered");
  console.log(`render times: ${ms} ms, ${again} ms`);
});

// Drill down from a recipient domain: the filter becomes a chip and goes into the URL, the
// numbers follow the API for that domain, the table moves on to campaigns; removing the chip
// undoes it.

import { after, api, check, hourWindow, open, run, signIn } from "./lib.mjs";

await run("drilldown", async (page) => {
  await signIn(page);
  const { from, to } = hourWindow(6, 1);
  await open(page, `#/summary?range=custom&from=${from}&to=${to}&tz=UTC`);
  const first = page.locator("[role=tabpanel] tbody tr[data-key] button[data-drill]").first();
  const domain = await first.getAttribute("data-drill");
  await after(page, () => first.click());

  const chip = page.locator(`.chip[data-filter='domains:${domain}']`);
  check(await chip.count() === 1, `a chip shows the filter on ${domain}`);
  check(decodeURIComponent(page.url()).includes(`f=domains:${domain}`), `the URL holds the filter (${page.url()})`);
  check(await page.locator("[role=tab][data-facet='campaign'][aria-selected='true']").count() === 1, "the breakdown moves on to campaigns");

  const query = { from, to, timezone: "UTC", precision: "1min", domains: domain };
  const summary = (await api("/metrics/deliverability", { ...query, metrics: "count_targeted,count_delivered" })).results[0];
  const shown = Number(await page.locator(".tile[data-metric='count_targeted']").getAttribute("data-value"));
  check(shown === summary.count_targeted && shown > 0, `targeted for ${domain}: page ${shown}, API ${summary.count_targeted}`);
  const campaigns = (await api("/metrics/deliverability/campaign", { ...query, metrics: "count_targeted" })).results;
  const rows = await page.locator("[role=tabpanel] tbody tr[data-key]").count();
  check(rows === campaigns.length, `the campaigns of ${domain} are listed (${rows} rows, API ${campaigns.length})`);

  // A shared link opens the same view.
  const shared = page.url();
  await page.goto("about:blank");
  await page.goto(shared);
  await page.waitForFunction(() => document.querySelector("main > [data-view][data-loaded='true']"));
  check(await page.locator(`.chip[data-filter='domains:${domain}']`).count() === 1, "the bookmarked URL restores the filter");
  const again = Number(await page.locator(".tile[data-metric='count_targeted']").getAttribute("data-value"));
  check(again === summary.count_targeted, "the bookmarked URL shows the same numbers");

  // Removing the chip widens the report again; the screenshot shows the drilled-down view.
  await after(page, () => page.locator(`.chip[data-filter='domains:${domain}'] button`).click());
  check(await page.locator(".chip").count() === 0, "the chip is gone");
  const all = Number(await page.locator(".tile[data-metric='count_targeted']").getAttribute("data-value"));
  check(all > summary.count_targeted, "without the filter, more messages are counted");
  await after(page, () => page.goBack());
  check(await page.locator(`.chip[data-filter='domains:${domain}']`).count() === 1, "Back restores the drill-down");
});

// Sign in; the summary report's headline numbers, rates and chart equal what the Metrics API
// answers for the same window, and are not zero.

import { api, check, hourWindow, open, run, signIn } from "./lib.mjs";

const CHART = ["count_targeted", "count_delivered", "count_bounce", "count_delayed", "count_unique_rendered", "count_unique_clicked"];
const HEADLINE = ["count_targeted", "count_delivered", "count_bounce", "count_accepted", "count_rejected", "count_unique_confirmed_opened", "count_unique_clicked", "count_spam_complaint"];
const RATES = [
  ["Accepted rate", "count_accepted", "count_sent"], ["Bounce rate", "count_bounce", "count_sent"],
  ["Hard bounce rate", "count_hard_bounce", "count_sent"], ["Soft bounce rate", "count_soft_bounce", "count_sent"],
  ["Block bounce rate", "count_block_bounce", "count_sent"], ["Undetermined bounce rate", "count_undetermined_bounce", "count_sent"],
  ["Admin bounce rate", "count_admin_bounce", "count_targeted"], ["Rejection rate", "count_rejected", "count_targeted"],
  ["Delayed rate", "count_delayed_first", "count_accepted"], ["Open rate", "count_unique_confirmed_opened", "count_accepted"],
  ["Click-through rate", "count_unique_clicked", "count_accepted"], ["Spam complaint rate", "count_spam_complaint", "count_accepted"],
  ["Unsubscribe rate", "count_unsubscribe", "count_accepted"],
];

await run("summary", async (page) => {
  await signIn(page);
  check(page.url().includes("#/summary"), `signing in lands on the summary (at ${page.url()})`);
  check(Number(await page.locator(".tile[data-metric='count_targeted']").getAttribute("data-value")) > 0, "the default range (last 24 hours) has data");

  // A whole-hour window: the API rounds nothing, so the chart's buckets add up to the summary.
  const { from, to } = hourWindow(6, 1);
  await open(page, `#/summary?range=custom&from=${from}&to=${to}&tz=UTC`);
  const query = { from, to, timezone: "UTC" };
  const summary = (await api("/metrics/deliverability", { ...query, precision: "1min", metrics: [...HEADLINE, "count_sent", "count_accepted"].join(",") })).results[0];
  check(summary.count_targeted > 0, "the simulator's messages are in the Metrics API");
  for (const metric of HEADLINE) {
    const shown = Number(await page.locator(`.tile[data-metric='${metric}']`).getAttribute("data-value"));
    check(shown === summary[metric], `${metric}: the page shows ${shown}, the API says ${summary[metric]}`);
  }
  // The rates of SparkPost's reports (sparkpost-api.md §3.4), from the API's counts.
  const all = (await api("/metrics/deliverability", { ...query, precision: "1min", metrics: [...new Set(RATES.flatMap(([, a, b]) => [a, b]))].join(",") })).results[0];
  for (const [name, part, whole] of RATES) {
    const shown = page.locator(`.rate[data-rate='${name}']`);
    const expected = all[whole] ? `${((100 * all[part]) / all[whole]).toFixed(2)}%` : "–";
    const text = await shown.locator(".value").textContent();
    check(text === expected, `${name} = ${part} / ${whole}: the page shows ${text}, the API's counts give ${expected}`);
  }

  const series = (await api("/metrics/deliverability/time-series", { ...query, precision: "5min", metrics: CHART.join(",") })).results;
  check(series.length === 84, `7 hours at 5 minutes are 84 buckets (got ${series.length})`);
  let nonZero = 0;
  for (const metric of CHART) {
    const total = series.reduce((sum, row) => sum + Number(row[metric] || 0), 0);
    const shown = Number(await page.locator(`.legend button[data-series='${metric}']`).getAttribute("data-total"));
    check(shown === total, `chart total of ${metric}: the page shows ${shown}, the API's series adds up to ${total}`);
    check(await page.locator(`.chart svg path[data-series='${metric}']`).count() === 1, `a line is drawn for ${metric}`);
    if (total > 0) nonZero += 1;
  }
  check(nonZero >= 4, `most charted metrics have data (${nonZero} of ${CHART.length})`);
  const targetedTotal = series.reduce((sum, row) => sum + row.count_targeted, 0);
  check(targetedTotal === summary.count_targeted, "the series of count_targeted adds up to the summary");

  const rows = await page.locator("[role=tabpanel] tbody tr[data-key]").count();
  const domains = (await api("/metrics/deliverability/domain", { ...query, precision: "1min", metrics: "count_targeted", limit: 100 })).results;
  check(rows === domains.length && rows > 0, `the breakdown lists every recipient domain (${rows} rows, API ${domains.length})`);

  const ms = Number(await page.locator("main > [data-view]").getAttribute("data-render-ms"));
  check(ms < 1000, `the report rendered in ${ms} ms`);

  // Keyboard: the chart reads out a time with the arrow keys.
  await page.locator(".chart svg").focus();
  await page.keyboard.press("End");
  check(await page.locator(".tooltip:not([hidden])").count() === 1, "the chart's tooltip follows the keyboard");
  await page.keyboard.press("Escape");
  check(await page.locator(".tooltip:not([hidden])").count() === 0, "Escape hides the tooltip");
  await page.locator(".chart svg").blur();

});

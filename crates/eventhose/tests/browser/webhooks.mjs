// Create a webhook to the test receiver (which refuses the first batches), test it, see its
// batch status (attempts, codes, latency), and replay a batch that ran out of attempts.

import { after, check, open, receiver, run, signIn, STEP_MS } from "./lib.mjs";

await run("webhooks", async (page) => {
  check(receiver && receiver.startsWith("http"), "a receiver URL is given");
  await signIn(page);
  await open(page, "#/webhooks");
  await after(page, () => page.getByRole("button", { name: "New webhook" }).click());
  await page.getByLabel("Name", { exact: true }).fill("Reports UI test");
  await page.getByLabel("Target URL", { exact: true }).fill(receiver);
  await page.getByRole("button", { name: "Select all" }).click();
  await page.getByLabel("Type", { exact: true }).selectOption("basic");
  await page.getByLabel("User name", { exact: true }).fill("ui-user");
  await page.getByLabel("Password", { exact: true }).fill("ui-secret");
  await page.getByRole("button", { name: "Add header" }).click();
  await page.getByLabel("Header name", { exact: true }).fill("X-Test-Source");
  await page.getByLabel("Value", { exact: true }).fill("reports-ui");
  await after(page, () => page.getByRole("button", { name: "Create webhook" }).click());
  check(page.url().includes("id="), `creating opens the webhook (${page.url()})`);
  check(await page.getByText("Its signing secret (shown once)").count() === 1, "the signing secret is shown once");

  // Test (validate) from the details page.
  await page.getByRole("button", { name: "Test", exact: true }).click();
  await page.locator(".notice.ok", { hasText: "answered 200" }).waitFor();

  // Batches flow while the scenario runs. The receiver refuses the first ones, and after two
  // attempts (the test server's retry schedule) a batch is kept as failed, for replay.
  const refresh = () => after(page, () => page.evaluate(() => { location.hash = `${location.hash.split("&")[0]}&refresh=${Date.now()}`; }));
  const deadline = Date.now() + 4 * STEP_MS;
  let failed;
  // A refused batch is retried once after a second; one first refused 5 s ago has run out.
  for (;;) {
    const rows = page.locator("tr[data-batch]:has(button:text-is('Replay'))");
    const times = await rows.evaluateAll((trs) => trs.map((tr) => Date.parse(tr.dataset.ts)));
    const old = times.findIndex((ts) => ts < Date.now() - 5000);
    failed = old >= 0 ? rows.nth(old) : null;
    if (failed) break;
    check(Date.now() < deadline, "a failed batch shows in batch status");
    await page.waitForTimeout(1000);
    await refresh();
  }
  const batch = await failed.getAttribute("data-batch");
  let cells = await failed.locator("td").allTextContents();
  check(cells[4] === "503" && cells[3] !== "200", `the failed batch shows the receiver's refusal (${cells.join(" | ")})`);
  check(Number(cells[2]) >= 1 && Number(cells[5]) > 0 && /^\d+ ms$/.test(cells[6]), `attempts, size and latency are shown (${cells.join(" | ")})`);
  await failed.getByRole("button", { name: "Replay" }).click();
  await page.locator("#toast", { hasText: "Replay scheduled" }).waitFor();
  console.log(`replayed ${batch}`);

  // The replay is sent as a new first attempt; the test checks that the receiver got it.

  // The list shows it as OK once a batch went through.
  await open(page, "#/webhooks");
  const status = page.locator("tr[data-webhook] [data-status]").first();
  check((await status.textContent()) === "OK", `the webhook's status is OK (${await status.textContent()})`);
  await after(page, () => page.getByRole("button", { name: "View details" }).first().click());
  await page.locator("tr[data-batch]").first().waitFor();
});

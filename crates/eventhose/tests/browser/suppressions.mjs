// Add a suppression, find it, remove it; the summary follows.

import { after, api, check, open, run, signIn } from "./lib.mjs";

const ADDRESS = "reports.ui.test@example.net";

await run("suppressions", async (page) => {
  await signIn(page);
  await open(page, "#/suppressions");
  const before = (await api("/suppression-list/summary")).results;
  const manual = () => page.locator(".tile[data-source='Manually added'] .value").textContent();
  check((await manual()) === before.manually_added.toLocaleString("en-US"), "the summary shows the API's numbers");

  await page.getByLabel("Recipient").fill(ADDRESS);
  await page.getByLabel("Type", { exact: true }).first().selectOption("both");
  await page.getByLabel("Description").fill("added by the browser test");
  await after(page, () => page.getByRole("button", { name: "Add", exact: true }).click());
  check(decodeURIComponent(page.url()).includes(`q=${ADDRESS}`), "adding searches for the address");
  const rows = page.locator(`tr[data-recipient='${ADDRESS}']`);
  check(await rows.count() === 2, "both types are listed");
  const after1 = (await api("/suppression-list/summary")).results;
  check(after1.manually_added === before.manually_added + 2, "the API has the two entries");
  await page.locator(".tile[data-source='Manually added'] .value", { hasText: after1.manually_added.toLocaleString("en-US") }).waitFor();

  // Remove the transactional one (the dialog asking to confirm is accepted).
  await page.getByRole("button", { name: `Remove ${ADDRESS} transactional` }).click();
  await page.locator(`tr[data-recipient='${ADDRESS}'][data-type='transactional']`).waitFor({ state: "detached" });
  await page.locator(".tile[data-source='Manually added'] .value", { hasText: (after1.manually_added - 1).toLocaleString("en-US") }).waitFor();
  const left = (await api(`/suppression-list/${encodeURIComponent(ADDRESS)}`)).results;
  check(left.length === 1 && left[0].type === "non_transactional", "the API keeps only the non-transactional entry");
  check(await rows.count() === 1, "the page lists the one left");
  check((await page.locator(".entry-count").textContent()) === "1 entry", "the count follows");
});

// A key with only metrics/view and webhooks/view: the sections it may not see are not offered
// and say why when opened by URL; webhook writes, refused once, are disabled from then on.
// The 403 answers of the sign-in probes and of the refused write are expected.

import { after, check, open, receiver, run, signIn } from "./lib.mjs";

await run("grants", async (page) => {
  await signIn(page);
  const nav = await page.locator("nav a").allTextContents();
  check(JSON.stringify(nav) === JSON.stringify(["Summary", "Bounces & delays", "Webhooks", "Health"]), `the navigation offers what the key may see (${nav.join(", ")})`);
  await open(page, "#/events");
  check(await page.getByText("may not see message events").count() === 1, "message events say the grant is missing");
  await open(page, "#/suppressions");
  check(await page.getByText("suppression_lists/manage").count() === 1, "suppressions name the missing grant");

  await open(page, "#/webhooks");
  await after(page, () => page.getByRole("button", { name: "New webhook" }).click());
  await page.getByLabel("Name", { exact: true }).fill("not allowed");
  await page.getByLabel("Target URL", { exact: true }).fill(receiver || "https://hooks.example.com/");
  await page.getByRole("button", { name: "Select all" }).click();
  await page.getByRole("button", { name: "Create webhook" }).click();
  await page.locator(".notice.error").waitFor();
  await open(page, "#/webhooks");
  check(await page.getByRole("button", { name: "New webhook" }).isDisabled(), "after the refusal, New webhook is disabled");
  await open(page, "#/summary");
}, { expectedStatus: [403] });

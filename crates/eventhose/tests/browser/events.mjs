// Search message events by recipient, open one: its JSON and its message's whole history.

import { after, api, check, open, run, signIn } from "./lib.mjs";

await run("events", async (page) => {
  const now = Date.now();
  const window = { from: new Date(now - 24 * 3600e3).toISOString().slice(0, 19) + "Z", to: new Date(now + 60e3).toISOString().slice(0, 19) + "Z" };
  const sample = (await api("/events/message", { ...window, events: "click", per_page: 1 })).results[0];
  check(sample, "the simulator's events are in the Events API");
  const recipient = sample.rcpt_to;
  const expected = (await api("/events/message", { ...window, recipients: recipient, per_page: 1000 })).total_count;

  await signIn(page);
  await open(page, "#/events");
  await page.getByLabel("Recipient", { exact: true }).fill(recipient);
  await after(page, () => page.getByRole("button", { name: "Search" }).click());
  check(decodeURIComponent(page.url()).includes(`recipients=${recipient}`), "the URL holds the search");
  const rows = page.locator("tbody tr[data-type]");
  const count = await rows.count();
  check(count === Math.min(expected, 50), `the page lists ${count} events; the API has ${expected} for ${recipient}`);
  const recipients = await page.locator("tbody tr[data-type] td:nth-child(3)").allTextContents();
  check(recipients.every((r) => r === recipient), "every row is for the recipient searched");
  const times = await page.locator("tbody tr[data-type] td:first-child button").allTextContents();
  check(times.length === count, "every row can be opened");

  // Open the click: the dialog shows its JSON and every event of its message, oldest first.
  const row = page.locator("tbody tr[data-type='click'] button[data-event-id]").first();
  const eventId = await row.getAttribute("data-event-id");
  await row.click();
  const dialog = page.locator("dialog.event-dialog[data-loaded='true']");
  await dialog.waitFor();
  const json = JSON.parse(await dialog.locator("pre.json").textContent());
  check(json.event_id === eventId && json.type === "click", "the dialog shows the event's JSON");
  const history = (await api("/events/message", { ...window, messages: json.message_id, per_page: 1000 })).results;
  const items = dialog.locator("ol.timeline li");
  check(await items.count() === history.length && history.length >= 3, `the history lists the message's ${history.length} events`);
  const types = await items.evaluateAll((lis) => lis.map((li) => li.dataset.eventType));
  check(types[0] === "injection", `the history starts with the injection (${types.join(", ")})`);
  check(types.includes("delivery") && types.includes("click"), "the history holds the delivery and the click");
  check(await dialog.locator("li.current").count() === 1, "the opened event is marked in the history");
  check(page.url().includes(`event=${eventId}`), "the URL holds the opened event");
  return { fullPage: false };
});

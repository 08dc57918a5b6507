// Shared by the browser scenarios: launching Debian's Chromium through playwright-core,
// recording every console error, page error and failed response, signing in, and talking
// to the API directly to check what the page shows.
//
// Every scenario is run as `node <scenario>.mjs BASE_URL KEY RECEIVER_URL SCREENSHOT_PATH`
// and exits 0 only when all its checks passed and the page logged no error.

import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.EVENTHOSE_CHROMIUM || "/usr/bin/chromium";
/** The most a scenario may take, end to end. */
const SCENARIO_MS = 150_000;
/** The most one step (a wait for an element, a navigation) may take. */
export const STEP_MS = 30_000;

export const [base, key, receiver, screenshot] = process.argv.slice(2);
if (!base || !key || !screenshot) {
  console.error("usage: node <scenario>.mjs BASE_URL KEY RECEIVER_URL SCREENSHOT_PATH");
  process.exit(2);
}

/** Fails the scenario with `message` unless `condition` holds. */
export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** A GET of the API with the key, returning the JSON body. */
export async function api(path, query = {}) {
  const url = new URL(`/api/v1${path}`, base);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  const response = await fetch(url, { headers: { Authorization: key } });
  const body = await response.json();
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

/**
 * Runs `scenario(page, context)` in a fresh browser profile, with a laptop-sized window, and
 * exits with the outcome. Console errors, uncaught page errors and HTTP error responses fail it.
 */
export async function run(name, scenario, { expectedStatus = [] } = {}) {
  // Responses a scenario provokes on purpose (say, 403 for a key without a grant), which the
  // browser also reports on the console.
  const expected = (status) => expectedStatus.includes(status);
  const killer = setTimeout(() => {
    console.error(`${name}: gave up after ${SCENARIO_MS / 1000} s`);
    process.exit(3);
  }, SCENARIO_MS);
  const profile = mkdtempSync(join(tmpdir(), "eventhose-ui-"));
  const problems = [];
  let context;
  let code = 0;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1366, height: 900 },
      timezoneId: "UTC",
      locale: "en-US",
      timeout: STEP_MS,
    });
    context.setDefaultTimeout(STEP_MS);
    const page = context.pages()[0] || (await context.newPage());
    page.on("console", (message) => {
      const text = message.text();
      const provoked = /status of (\d{3})/.exec(text);
      if (message.type() === "error" && !(provoked && expected(Number(provoked[1])))) problems.push(`console error: ${text}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("response", (response) => {
      if (response.status() >= 400 && !expected(response.status())) problems.push(`HTTP ${response.status()} for ${response.request().method()} ${response.url()}`);
    });
    page.on("requestfailed", (request) => {
      const failure = request.failure()?.errorText || "";
      // Leaving a page aborts what it still loads; that is not an error of the page.
      if (!failure.includes("ERR_ABORTED")) problems.push(`request failed: ${request.url()} ${failure}`);
    });
    page.on("dialog", (dialog) => dialog.accept());
    // A scenario may ask for the window only (a modal dialog covers only the window).
    const options = (await scenario(page, context)) || {};
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshot, fullPage: options.fullPage !== false });
    check(problems.length === 0, `the page reported errors:\n  ${problems.join("\n  ")}`);
    console.log(`${name}: ok (screenshot ${screenshot})`);
  } catch (error) {
    console.error(`${name}: ${error.stack || error}`);
    if (problems.length) console.error(`errors seen by the page:\n  ${problems.join("\n  ")}`);
    code = 1;
  } finally {
    clearTimeout(killer);
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  process.exit(code);
}

/** Opens the app and signs in with the key; resolves when the first view has loaded. */
export async function signIn(page) {
  await page.goto(base, { waitUntil: "domcontentloaded" });
  await page.getByLabel("API key").fill(key);
  await after(page, () => page.getByRole("button", { name: "Sign in" }).click());
  check(await page.locator("nav a").count() > 0, "the navigation shows after signing in");
}

/** Goes to a view by its hash and waits until it has loaded. */
export async function open(page, hash) {
  await after(page, () => page.evaluate((h) => { location.hash = h; }, hash));
}

/**
 * Does `action` (which changes the route) and waits until the view rendered after it says it
 * has loaded everything it asked for. The app numbers its renders in `main[data-route]`.
 */
export async function after(page, action) {
  const before = await page.evaluate(() => Number(document.getElementById("main").dataset.route || 0));
  await action();
  await page.waitForFunction((n) => {
    const main = document.getElementById("main");
    return Number(main.dataset.route || 0) > n && main.querySelector(":scope > [data-view][data-loaded='true']");
  }, before, { timeout: STEP_MS });
}

/** A whole-hour UTC window around now, as the Metrics API and the UI's custom range read it. */
export function hourWindow(hoursBack, hoursAhead) {
  const hour = 3600e3;
  const now = Math.floor(Date.now() / hour) * hour;
  const text = (t) => new Date(t).toISOString().slice(0, 16);
  return { from: text(now - hoursBack * hour), to: text(now + hoursAhead * hour) };
}

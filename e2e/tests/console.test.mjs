// The console shell as a new user meets it: a fresh hub, the overview page, keyboard access,
// the theme toggle, and the styled 404 page.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, startHub, watchForErrors } from "../lib/hub.mjs";

let hub;
let browser;

before(async () => {
  hub = await startHub();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  const code = await hub?.stop();
  assert.equal(code, 0, "the hub exits cleanly on SIGTERM");
});

test("the overview renders on a fresh install", async () => {
  const page = await browser.newPage();
  const errors = watchForErrors(page);
  const response = await page.goto(hub.base + "/");
  assert.equal(response.status(), 200);
  assert.equal(await page.title(), "Overview · Switchboard");
  assert.equal(await page.locator("h1").textContent(), "Overview");
  assert.equal(await page.getByTestId("readiness").textContent(), "Ready");
  assert.equal(await page.getByTestId("database").textContent(), "SQLite");
  assert.ok(await page.getByText("No organisations yet").isVisible());

  // The stylesheet loaded (cards are styled) and the script ran (theme toggle shown).
  const radius = await page.locator(".card").first().evaluate((el) => getComputedStyle(el).borderTopLeftRadius);
  assert.equal(radius, "10px");
  assert.ok(await page.locator("[data-theme-toggle]").isVisible());
  assert.deepEqual(errors, [], "no console errors or CSP violations");
  await page.screenshot({ path: "test-results/overview.png", fullPage: true });
  await page.close();
});

test("keyboard users can skip to the content", async () => {
  const page = await browser.newPage();
  await page.goto(hub.base + "/");
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
  assert.equal(focused, "Skip to content");
  await page.keyboard.press("Enter");
  const target = await page.evaluate(() => document.activeElement?.id);
  assert.equal(target, "main");
  await page.close();
});

test("the theme toggle switches to dark and is remembered", async () => {
  const context = await browser.newContext({ colorScheme: "light" });
  const page = await context.newPage();
  await page.goto(hub.base + "/");
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await background();
  await page.locator("[data-theme-toggle]").click(); // system -> light
  await page.locator("[data-theme-toggle]").click(); // light -> dark
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
  const dark = await background();
  assert.notEqual(dark, light);
  await page.reload();
  assert.equal(await background(), dark, "the choice survives a reload");
  await context.close();
});

test("unknown pages show the styled 404", async () => {
  const page = await browser.newPage();
  const response = await page.goto(hub.base + "/no/such/page");
  assert.equal(response.status(), 404);
  assert.equal(await page.locator("h1").textContent(), "Page not found");
  await page.getByRole("link", { name: "Back to the overview" }).click();
  await page.waitForURL(hub.base + "/");
  assert.equal(await page.locator("h1").textContent(), "Overview");
  await page.close();
});

// The console shell: the overview page after sign-in, keyboard access, the theme toggle, and
// the styled 404 page. (Setup and sign-in themselves are in identity.test.mjs.)

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, setupViaApi, signIn, startHub, watchForErrors } from "../lib/hub.mjs";

let hub;
let browser;

before(async () => {
  hub = await startHub();
  await setupViaApi(hub);
  browser = await launchBrowser();
});

/** A signed-in page (each test gets its own browser context). */
async function signedIn(options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await signIn(page, hub);
  return { context, page };
}

after(async () => {
  await browser?.close();
  const code = await hub?.stop();
  assert.equal(code, 0, "the hub exits cleanly on SIGTERM");
});

test("the overview renders after sign-in", async () => {
  const { context, page } = await signedIn();
  const errors = watchForErrors(page);
  const response = await page.goto(hub.base + "/");
  assert.equal(response.status(), 200);
  assert.equal(await page.title(), "Overview · Switchboard");
  assert.equal(await page.locator("h1").textContent(), "Overview");
  assert.equal(await page.getByTestId("readiness").textContent(), "Ready");
  assert.equal(await page.getByTestId("database").textContent(), "SQLite");
  assert.equal(await page.getByTestId("current-org").textContent(), "Acme");

  // The stylesheet loaded (cards are styled) and the script ran (theme toggle shown).
  const radius = await page.locator(".card").first().evaluate((el) => getComputedStyle(el).borderTopLeftRadius);
  assert.equal(radius, "10px");
  assert.ok(await page.locator("[data-theme-toggle]").isVisible());
  assert.deepEqual(errors, [], "no console errors or CSP violations");
  await page.screenshot({ path: "test-results/overview.png", fullPage: true });
  await context.close();
});

test("keyboard users can skip to the content", async () => {
  const { context, page } = await signedIn();
  await page.goto(hub.base + "/");
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
  assert.equal(focused, "Skip to content");
  await page.keyboard.press("Enter");
  const target = await page.evaluate(() => document.activeElement?.id);
  assert.equal(target, "main");
  await context.close();
});

test("the theme toggle switches to dark and is remembered", async () => {
  const { context, page } = await signedIn({ colorScheme: "light" });
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
  const { context, page } = await signedIn();
  const response = await page.goto(hub.base + "/no/such/page");
  assert.equal(response.status(), 404);
  assert.equal(await page.locator("h1").textContent(), "Page not found");
  await page.getByRole("link", { name: "Back to the overview" }).click();
  await page.waitForURL(hub.base + "/");
  assert.equal(await page.locator("h1").textContent(), "Overview");
  await context.close();
});

test("the audit viewer filters, verifies the chain and exports", async () => {
  const { context, page } = await signedIn({ acceptDownloads: true });
  const errors = watchForErrors(page);
  await page.getByRole("link", { name: "Audit log" }).click();
  assert.equal(await page.title(), "Audit log · Switchboard");
  // Setup and the sign-ins are already there, newest first.
  const kinds = await page.getByTestId("audit-events").locator("tbody tr td:nth-child(4)").allTextContents();
  assert.ok(kinds.includes("auth.login"), kinds.join(", "));
  const seqs = (await page.getByTestId("audit-events").locator("tbody tr td:nth-child(1)").allTextContents()).map(Number);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), "newest first");

  await page.getByLabel("Kind starts with").fill("auth.login");
  await page.getByRole("button", { name: "Filter" }).click();
  const filtered = await page.getByTestId("audit-events").locator("tbody tr td:nth-child(4)").allTextContents();
  assert.ok(filtered.length > 0 && filtered.every((k) => k === "auth.login"), filtered.join(", "));

  await page.getByTestId("verify-chain").click();
  assert.match(await page.getByTestId("verify-result").textContent(), /The chain is intact: \d+ events checked/);

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").click()]);
  assert.equal(download.suggestedFilename(), "audit.csv");
  const { readFileSync } = await import("node:fs");
  const lines = readFileSync(await download.path(), "utf8").trim().split("\r\n");
  assert.equal(lines[0], "seq,at,actor_kind,actor_id,kind,target,decision,details,hash");
  assert.ok(lines.length > 1 && lines.slice(1).every((l) => l.includes(",auth.login,")), lines.join("\n"));
  await page.screenshot({ path: "test-results/audit.png", fullPage: true });
  assert.deepEqual(errors, [], "no console errors or CSP violations");
  await context.close();
});

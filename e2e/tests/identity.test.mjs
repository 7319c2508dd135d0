// A new user's first minutes: fresh start → setup code from the log → wizard → sign in →
// turn on TOTP (the test computes the codes) → sign out → sign in with TOTP → create an API
// key → use it with curl.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { OWNER, launchBrowser, setupCode, signIn, startHub, totpCode, watchForErrors } from "../lib/hub.mjs";

const run = promisify(execFile);
let hub;
let browser;

before(async () => {
  hub = await startHub();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  assert.equal(await hub?.stop(), 0);
});

test("setup, TOTP sign-in and an API key, as a new user would", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchForErrors(page);

  // A fresh install sends people to the setup wizard.
  await page.goto(hub.base + "/");
  await page.waitForURL(hub.base + "/setup");
  await page.getByLabel("Setup code").fill(setupCode(hub));
  await page.getByLabel("Organisation name").fill("Acme");
  await page.getByLabel("Short name").fill("acme");
  await page.getByLabel("Your name").fill(OWNER.name);
  await page.getByLabel("Your email").fill(OWNER.email);
  await page.getByLabel("Password").fill(OWNER.password);
  await page.getByRole("button", { name: "Create organisation" }).click();
  await page.waitForURL(hub.base + "/login");
  assert.ok(await page.getByText("Switchboard is set up").isVisible());
  // The wizard is gone.
  assert.equal((await page.request.get(hub.base + "/setup")).status(), 404);

  await signIn(page, hub);
  assert.equal(await page.locator("h1").textContent(), "Overview");

  // Turn on TOTP.
  await page.getByRole("link", { name: "Account" }).click();
  assert.equal(await page.getByTestId("totp-status").textContent(), "Off");
  await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
  assert.ok(await page.locator(".qr svg").isVisible(), "the QR code is shown");
  const secret = (await page.getByTestId("totp-secret").textContent()).trim();
  await page.getByLabel("Code from the app").fill(await totpCode(secret));
  await page.getByRole("button", { name: "Turn on" }).click();
  const backup = await page.getByTestId("backup-codes").locator("li").allTextContents();
  assert.equal(backup.length, 10);

  // Sign out, then back in: now a code is asked for. The enrolment code's step is spent, so
  // use the next step's code (accepted within the one-step tolerance).
  await page.getByTestId("sign-out").click();
  await page.waitForURL(hub.base + "/login");
  assert.ok(await page.getByText("You are signed out").isVisible());
  assert.equal((await page.request.get(hub.base + "/api/v1/me")).status(), 401);
  const next = await totpCode(secret, 1);
  await signIn(page, hub, { totp: () => next });

  // Create an API key and use it with curl.
  await page.getByRole("link", { name: "API keys" }).click();
  await page.getByLabel("Name").fill("billing sync");
  await page.getByLabel("Role").selectOption("member");
  await page.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("new-key").textContent()).trim();
  assert.match(key, /^sb_/);
  const { stdout } = await run("curl", ["-sS", "-H", `Authorization: Bearer ${key}`, hub.base + "/api/v1/me"]);
  const me = JSON.parse(stdout);
  assert.equal(me.credential, "api_key");
  assert.equal(me.current_organization.slug, "acme");
  assert.equal(me.current_organization.role, "member");
  await page.goto(hub.base + "/keys");
  assert.equal(await page.getByRole("cell", { name: "billing sync", exact: true }).count(), 1);
  assert.equal(await page.getByTestId("new-key").count(), 0, "the key is shown only once");

  assert.deepEqual(errors, [], "no console errors or CSP violations");
  await page.screenshot({ path: "test-results/api-keys.png", fullPage: true });
  await context.close();
});

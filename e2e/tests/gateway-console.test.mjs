// The AI gateway in the console, as an admin uses it in a real browser: create a gateway key
// with limits, call the gateway with it, read the usage charts and tables, export CSV, set the
// default model and the guard policy, see every organisation's usage as an operator, revoke.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import {
  fakeProviderConfig,
  launchBrowser,
  setupViaApi,
  signIn,
  startFakeLlm,
  startHub,
  watchForErrors,
} from "../lib/hub.mjs";

let fake;
let hub;
let browser;

const config = (fakeBase) => fakeProviderConfig(fakeBase, { extraModels: ["small"] });

before(async () => {
  fake = await startFakeLlm();
  hub = await startHub({ config: config(fake.base) });
  await setupViaApi(hub);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await hub?.stop();
  fake?.stop();
});

async function chat(key, model = "local/gpt-test") {
  const response = await fetch(hub.base + "/v1/chat/completions", {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "Hello there" }] }),
  });
  return { status: response.status, body: await response.json() };
}

test("an admin creates a gateway key, sees its usage charted and exports it", async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors = watchForErrors(page);
  await signIn(page, hub);

  await page.getByRole("link", { name: "AI gateway" }).click();
  assert.equal(await page.title(), "AI gateway · Switchboard");
  await page.getByLabel("Name").fill("n8n workflows");
  await page.getByLabel("local/gpt-test").check();
  await page.getByLabel("Requests per minute").fill("2");
  await page.getByLabel("Monthly budget (USD)").fill("5");
  await page.getByRole("button", { name: "Create gateway key" }).click();
  const key = (await page.getByTestId("new-gateway-key").textContent()).trim();
  assert.match(key, /^sbk_/);
  assert.equal(await page.getByTestId("gateway-base-url").textContent(), hub.base + "/v1");
  const row = page.getByTestId("gateway-keys").getByRole("row", { name: /n8n workflows/ });
  assert.match(await row.textContent(), /2 req\/min/);
  assert.match(await row.textContent(), /\$0\.00 of \$5\.00/);
  await page.screenshot({ path: "test-results/gateway-keys.png", fullPage: true });

  // The key works for its model only, and its rate limit holds.
  await fake.script([{ text: "One." }, { text: "Two." }]);
  assert.equal((await chat(key)).status, 200);
  assert.equal((await chat(key)).status, 200);
  const limited = await chat(key);
  assert.equal(limited.status, 429);
  assert.equal(limited.body.error.code, "rate_limited");
  assert.equal((await chat(key, "local/small")).body.error.code, "model_not_allowed");

  await page.getByRole("link", { name: "Usage", exact: true }).click();
  assert.equal(await page.title(), "Usage · Switchboard");
  // Every call counts, refused ones as errors.
  assert.equal(await page.getByTestId("total-requests").textContent(), "4");
  const dayChart = page.getByTestId("usage-by-day");
  assert.ok(await dayChart.isVisible());
  assert.equal(await dayChart.locator("rect.chart-bar").count(), 30, "one column per day of the period");
  const box = await dayChart.boundingBox();
  assert.ok(box.width > 300 && box.height > 80, `the chart is drawn (${box.width}x${box.height})`);
  const keyRow = page.getByTestId("usage-by-key-table").getByRole("row", { name: /n8n workflows/ });
  assert.match(await keyRow.textContent(), /n8n workflows\s*4\s*2/);
  assert.match(await page.getByTestId("usage-by-model-table").textContent(), /local\/gpt-test/);

  // Switching the chart to cost keeps the period.
  await page.getByLabel("Chart").selectOption("cost");
  await page.getByRole("button", { name: "Show" }).click();
  assert.match(page.url(), /metric=cost/);
  assert.match(await page.getByTestId("usage-by-model").textContent(), /\$/);
  await page.screenshot({ path: "test-results/usage.png", fullPage: true });

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("usage-by-key-csv").click(),
  ]);
  assert.equal(download.suggestedFilename(), "usage-by-key.csv");
  const csv = readFileSync(await download.path(), "utf8").trim().split("\r\n");
  assert.equal(csv[0], "key,requests,errors,input_tokens,output_tokens,cost_usd");
  assert.match(csv[1], /,4,2,/);

  // Revoked from the console, the key stops at once.
  await page.getByRole("link", { name: "AI gateway" }).click();
  await page.getByRole("button", { name: "Revoke n8n workflows" }).click();
  assert.match(await page.locator(".flash-success").textContent(), /revoked/);
  assert.equal((await chat(key)).status, 401);
  assert.deepEqual(errors, [], "no console errors or CSP violations");
  await context.close();
});

test("an admin sets the default model and the guard policy, and an operator sees every organisation", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchForErrors(page);
  await signIn(page, hub);

  await page.getByRole("link", { name: "Models" }).click();
  assert.match(await page.getByTestId("providers").textContent(), /local\/small/);
  await page.getByLabel(/Used by the assistant/).selectOption("local/small");
  await page.getByRole("button", { name: "Save default" }).click();
  assert.match(await page.locator(".flash-success").textContent(), /default model/);
  assert.match(await page.getByTestId("effective-default").textContent(), /local\/small/);

  await page.getByLabel("email", { exact: true }).selectOption("block");
  await page.getByRole("button", { name: "Save guard policy" }).click();
  assert.match(await page.locator(".flash-success").textContent(), /guard policy/);
  assert.equal(await page.getByLabel("email", { exact: true }).inputValue(), "block");
  await page.screenshot({ path: "test-results/models.png", fullPage: true });

  // The new policy applies to the gateway: an email in a prompt is refused before the provider.
  await page.getByRole("link", { name: "AI gateway" }).click();
  await page.getByLabel("Name").fill("guarded");
  await page.getByRole("button", { name: "Create gateway key" }).click();
  const key = (await page.getByTestId("new-gateway-key").textContent()).trim();
  const seenBefore = (await fake.requests()).length;
  const response = await fetch(hub.base + "/v1/chat/completions", {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "default", messages: [{ role: "user", content: "mail ada@acme.test" }] }),
  });
  assert.equal(response.status, 400);
  assert.equal((await response.json()).error.code, "content_blocked");
  assert.equal((await fake.requests()).length, seenBefore, "the provider saw nothing");

  // The first user is also the platform operator.
  await page.getByRole("link", { name: "Platform usage" }).click();
  assert.equal(await page.title(), "Platform usage · Switchboard");
  assert.match(await page.getByTestId("usage-by-org-table").textContent(), /Acme/);
  assert.ok(await page.getByTestId("usage-by-org").isVisible());
  assert.deepEqual(errors, [], "no console errors or CSP violations");
  await context.close();
});

// Agents as an admin manages them: the system agents are listed read-only; an agent made from
// a template gets a skill, which is saved, exported as JSON and imported into another agent.

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

after(async () => {
  await browser?.close();
  await hub?.stop();
});

test("an admin makes an agent from a template and gives it skills", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchForErrors(page);
  await signIn(page, hub);
  await page.getByRole("link", { name: "Agents" }).click();
  const table = page.getByTestId("agents");
  for (const name of ["Operator", "Workspace", "Documents", "Workflows", "Systems"]) {
    assert.ok(await table.getByRole("link", { name }).isVisible(), `${name} is listed`);
  }
  // System agents are read-only.
  await table.getByRole("link", { name: "Operator" }).click();
  assert.match(await page.locator("main").textContent(), /A system agent/);
  assert.equal(await page.getByRole("button", { name: "Save" }).count(), 0);

  await page.getByRole("link", { name: "All agents" }).click();
  await page.getByLabel("Start from").selectOption("auditor");
  await page.getByLabel("Short name").fill("audits");
  await page.getByRole("button", { name: "Create agent" }).click();
  await page.waitForURL(hub.base + "/agents/audits");
  assert.match(await page.locator(".flash-success").textContent(), /Agent Auditor created/);
  assert.match(await page.getByLabel("Tools").inputValue(), /audit\.search/);

  await page.getByLabel("New skill").fill("Format");
  await page.getByLabel("Its instructions").fill("Answer with a table of times and actors.");
  await page.getByLabel("Step limit").fill("5");
  await page.getByRole("button", { name: "Save" }).click();
  assert.match(await page.locator(".flash-success").textContent(), /Saved/);
  assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "Format");
  assert.equal(await page.getByLabel("Step limit").inputValue(), "5");
  await page.screenshot({ path: "test-results/agent.png", fullPage: true });

  // Export, then import into a second agent.
  const href = await page.getByRole("link", { name: "Export skills (JSON)" }).getAttribute("href");
  const exported = await (await page.request.get(hub.base + href)).json();
  assert.deepEqual(exported, {
    skills: [{ name: "Format", content: "Answer with a table of times and actors.", enabled: true }],
  });
  await page.goto(hub.base + "/agents");
  await page.getByLabel("Short name").fill("night-desk");
  await page.getByLabel("Display name").fill("Night desk");
  await page.getByLabel("Instructions").fill("You cover the night shift.");
  await page.getByRole("button", { name: "Create agent" }).click();
  await page.waitForURL(hub.base + "/agents/night-desk");
  await page.getByLabel(/An export/).fill(JSON.stringify(exported));
  await page.getByRole("button", { name: "Import" }).click();
  assert.match(await page.locator(".flash-success").textContent(), /Imported; 1 skills now/);
  // A bad import says why and changes nothing.
  await page.getByLabel(/An export/).fill("{\"skills\": 3}");
  await page.getByRole("button", { name: "Import" }).click();
  assert.match(await page.locator(".flash-error").textContent(), /not a skills export/);
  assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "Format");
  assert.deepEqual(errors, [], "no console errors or CSP violations");
  await context.close();
});

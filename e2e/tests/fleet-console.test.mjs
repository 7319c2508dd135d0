// The fleet in the console, as an admin does it: create a registration token on the Fleet
// page (shown once, with the register command), register a real `switchboard-agent` with it,
// see the server online, run an echo task from the form and watch its page turn to
// succeeded with the output, run a shell task that changes the server — it waits for an
// approval — approve it in the inbox, and see its output on its page. Then save a template,
// run it from the list, and revoke the agent.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { launchBrowser, ROOT, setupViaApi, signIn, startHub, watchForErrors } from "../lib/hub.mjs";

const AGENT = process.env.SWITCHBOARD_AGENT_BIN ?? join(ROOT, "target", "debug", "switchboard-agent");

let hub;
let browser;
let agent;

before(async () => {
  hub = await startHub();
  await setupViaApi(hub);
  browser = await launchBrowser();
});

after(async () => {
  agent?.kill("SIGKILL");
  await browser?.close();
  await hub?.stop();
});

test("token, agent, an echo task and an approved shell task, all from the console", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchForErrors(page);
  await signIn(page, hub);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Fleet" }).click();
  await page.waitForURL(hub.base + "/fleet");
  assert.equal(await page.title(), "Fleet · Switchboard");
  assert.ok(await page.getByTestId("no-agents").isVisible(), "an empty fleet says how to start");

  // A registration token, shown once with the command that uses it.
  const tokens = page.getByRole("region", { name: "Registration tokens" });
  await tokens.getByLabel("Name").fill("Web servers");
  await tokens.getByLabel("Uses").fill("1");
  await tokens.getByRole("button", { name: "Create token" }).click();
  const token = (await page.getByTestId("new-registration-token").textContent()).trim();
  assert.match(token, /^sbr_/);
  const command = await page.getByTestId("register-command").textContent();
  assert.ok(command.includes(`--hub ${hub.base} --token ${token}`), command);
  assert.match(await page.getByTestId("registration-tokens").textContent(), /Web servers\s*0 of 1/);

  // The register command as shown, with a state directory of our own.
  const dir = mkdtempSync(join(tmpdir(), "sb-console-agent-"));
  const registered = spawnSync(AGENT, ["register", "--hub", hub.base, "--token", token, "--state-dir", join(dir, "state"),
    "--name", "web-1", "--label", "role=web"], { encoding: "utf8" });
  assert.equal(registered.status, 0, registered.stderr);
  const config = join(dir, "agent.toml");
  writeFileSync(config, `[executors.echo]\nenabled = true\n[executors.shell]\nenabled = true\nallow = [{ path = "/bin/echo", args = ["^[a-z ]{1,40}$"] }]\n`);
  agent = spawn(AGENT, ["run", "--state-dir", join(dir, "state"), "--config", config], { stdio: ["ignore", "ignore", "inherit"] });

  // The server shows up online.
  for (let i = 0; ; i++) {
    await page.goto(hub.base + "/fleet");
    const row = page.getByTestId("agent-web-1");
    if (await row.count() && (await row.getByTestId("agent-status").textContent()) === "online") break;
    assert.ok(i < 50, "the agent came online");
    await page.waitForTimeout(200);
  }
  assert.match(await page.getByTestId("agent-web-1").textContent(), /role=web/);

  // An echo task from the form: queued, then its page follows it to the output.
  const run = page.getByRole("region", { name: "Run a task" });
  await run.getByLabel("Type").selectOption("echo");
  await run.getByLabel("Labels").fill("role=web");
  await run.getByLabel("Payload (JSON)").fill('{"message": "hello from the console"}');
  await run.getByRole("button", { name: "Run task" }).click();
  await page.waitForURL(/\/fleet\/tasks\/[0-9a-f-]{36}$/);
  await page.getByTestId("task-status").filter({ hasText: "succeeded" }).waitFor({ timeout: 15_000 });
  assert.match(await page.getByTestId("task-output").textContent(), /hello from the console/);
  assert.match(await page.getByTestId("task-history").textContent(), /queued → leased[\s\S]*leased → succeeded/);

  // A shell task changes the server: it waits for an approval first.
  await page.goto(hub.base + "/fleet");
  await run.getByLabel("Type").selectOption("shell");
  await run.getByLabel("Server").selectOption({ label: "web-1" });
  await run.getByLabel("Payload (JSON)").fill('{"command": "/bin/echo", "args": ["maintenance done"]}');
  await run.getByRole("button", { name: "Run task" }).click();
  await page.waitForURL(hub.base + "/fleet");
  assert.match(await page.locator(".flash").textContent(), /waits for an admin's approval/);
  assert.match(await page.getByTestId("waiting-tasks").textContent(), /shell on web-1/);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: /Approvals/ }).click();
  const card = page.locator("article.approval").filter({ hasText: "fleet.run" });
  assert.match(await card.textContent(), /maintenance done/);
  await card.getByRole("button", { name: "Approve" }).click();
  await page.waitForURL(hub.base + "/approvals");

  // Queued once approved; it runs, and its page shows the output.
  await page.goto(hub.base + "/fleet");
  const shellLink = page.getByTestId("fleet-tasks").getByRole("link", { name: "shell" });
  await shellLink.waitFor();
  await shellLink.click();
  await page.getByTestId("task-status").filter({ hasText: "succeeded" }).waitFor({ timeout: 15_000 });
  assert.match(await page.getByTestId("task-output").textContent(), /"stdout": "maintenance done\\n"/);
  assert.match(await page.getByTestId("task-output").textContent(), /"exit_code": 0/);
  await page.screenshot({ path: "test-results/fleet-task.png", fullPage: true });

  // A template, run from the list.
  await page.goto(hub.base + "/fleet");
  await run.getByLabel("Type").selectOption("echo");
  await run.getByLabel("Labels").fill("role=web");
  await run.getByLabel("Payload (JSON)").fill('{"message": "from a template"}');
  await run.getByLabel("Template name (to save)").fill("Say hello");
  await run.getByRole("button", { name: "Save as template" }).click();
  await page.waitForURL(hub.base + "/fleet");
  assert.match(await page.getByTestId("task-templates").textContent(), /Say hello — echo on role=web/);
  await page.getByRole("button", { name: "Run Say hello" }).click();
  await page.waitForURL(/\/fleet\/tasks\/[0-9a-f-]{36}$/);
  await page.getByTestId("task-status").filter({ hasText: "succeeded" }).waitFor({ timeout: 15_000 });
  assert.match(await page.getByTestId("task-output").textContent(), /from a template/);
  await page.screenshot({ path: "test-results/fleet.png", fullPage: true });

  // Revoking the agent cuts it off.
  await page.goto(hub.base + "/fleet");
  await page.getByRole("link", { name: "web-1" }).click();
  // Its page lists what it ran, the tasks for its labels as well as the one for it by name.
  const recent = page.getByRole("region", { name: "Recent tasks" });
  assert.equal(await recent.getByRole("link", { name: "echo" }).count(), 2);
  assert.equal(await recent.getByRole("link", { name: "shell" }).count(), 1);
  await page.getByRole("button", { name: "Revoke this agent" }).click();
  assert.equal(await page.getByTestId("agent-status").textContent(), "revoked");
  const heartbeat = await fetch(hub.base + "/api/v1/agent/heartbeat", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  assert.equal(heartbeat.status, 401);
  assert.deepEqual(errors, []);
});

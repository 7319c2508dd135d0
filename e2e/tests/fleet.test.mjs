// The fleet with real processes: a registration token from the API, `switchboard-agent
// register` keeping its credentials mode 0600, `switchboard-agent run` with its own
// allowlist; an echo task runs at once; a shell task waits for an approval, then runs and
// its output comes back; a command outside the allowlist is refused by the agent itself;
// the agent stops cleanly on SIGTERM.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { apiSession, ROOT, setupViaApi, startHub } from "../lib/hub.mjs";

const AGENT = process.env.SWITCHBOARD_AGENT_BIN ?? join(ROOT, "target", "debug", "switchboard-agent");

let hub;
let session;
let agent;

before(async () => {
  hub = await startHub();
  await setupViaApi(hub);
  session = await apiSession(hub);
});

after(async () => {
  agent?.kill("SIGKILL");
  await hub?.stop();
});

async function api(method, path, body) {
  const response = await fetch(hub.base + path, { method, headers: session, body: body && JSON.stringify(body) });
  return { status: response.status, body: response.status === 204 ? null : await response.json() };
}

async function until(what, check, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("an agent registers, runs an echo task and an approved shell task, and refuses what its allowlist does not permit", async () => {
  const made = await api("POST", "/api/v1/fleet/registration-tokens", { name: "web servers", max_uses: 1 });
  assert.equal(made.status, 201);
  const dir = mkdtempSync(join(tmpdir(), "sb-agent-"));
  const state = join(dir, "state");
  const registered = spawnSync(AGENT, ["register", "--hub", hub.base, "--token", made.body.token, "--state-dir", state,
    "--name", "web-1", "--label", "role=web"], { encoding: "utf8" });
  assert.equal(registered.status, 0, registered.stderr);
  assert.match(registered.stderr, /registered as agent/);
  assert.equal(statSync(join(state, "agent.json")).mode & 0o777, 0o600, "credentials are private");
  const again = spawnSync(AGENT, ["register", "--hub", hub.base, "--token", made.body.token, "--state-dir", join(dir, "other")], { encoding: "utf8" });
  assert.notEqual(again.status, 0, "a used-up token enrols no one");
  assert.match(again.stderr, /401/);

  const config = join(dir, "agent.toml");
  writeFileSync(config, `[executors.echo]\nenabled = true\n[executors.shell]\nenabled = true\nallow = [{ path = "/bin/echo", args = ["^[a-z]{1,12}$"] }]\n`);
  agent = spawn(AGENT, ["run", "--state-dir", state, "--config", config], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  agent.stderr.on("data", (chunk) => { log += chunk; });
  const agents = await until("the agent to be online", async () => {
    const list = (await api("GET", "/api/v1/fleet/agents")).body;
    return list.find((a) => a.name === "web-1" && a.status === "online") && list;
  });
  assert.deepEqual(agents[0].labels, { role: "web" });

  const echo = await api("POST", "/api/v1/fleet/tasks", { type: "echo", payload: { message: "hello fleet" }, target: { labels: { role: "web" } } });
  assert.equal(echo.status, 201, JSON.stringify(echo.body));
  const echoed = await until("the echo task", async () => {
    const t = (await api("GET", `/api/v1/fleet/tasks/${echo.body.id}`)).body;
    return t.status === "succeeded" && t;
  });
  assert.equal(echoed.result.output.message, "hello fleet");

  const shell = await api("POST", "/api/v1/fleet/tasks", { type: "shell", payload: { command: "/bin/echo", args: ["maintenance"] }, target: { agent_id: agents[0].id } });
  assert.equal(shell.status, 202, "changing a server waits for an approval");
  const approved = await api("POST", `/api/v1/approvals/${shell.body.approval_id}/approve`, {});
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  const ran = await until("the shell task", async () => {
    const list = (await api("GET", "/api/v1/fleet/tasks?status=succeeded")).body;
    return list.find((t) => t.type === "shell");
  });
  assert.equal(ran.result.output.stdout, "maintenance\n");
  assert.equal(ran.result.output.exit_code, 0);

  // The hub cannot widen the allowlist: the agent refuses, the task fails with the reason.
  const wide = await api("POST", "/api/v1/fleet/tasks", { type: "shell", payload: { command: "/bin/echo", args: ["hi; rm -rf /"] }, target: { agent_id: agents[0].id } });
  await api("POST", `/api/v1/approvals/${wide.body.approval_id}/approve`, {});
  const refused = await until("the refused task", async () => {
    const list = (await api("GET", "/api/v1/fleet/tasks?status=failed")).body;
    return list.find((t) => t.type === "shell");
  });
  assert.match(refused.error, /not allowed/);

  agent.kill("SIGTERM");
  const code = await new Promise((resolve) => agent.on("exit", (c) => resolve(c)));
  assert.equal(code, 0, log);
  assert.match(log, /stopping/);
  agent = null;
});

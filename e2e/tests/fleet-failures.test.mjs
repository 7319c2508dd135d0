// The fleet when things break, with the real hub and real `switchboard-agent` processes on
// loopback:
// - an agent is killed (SIGKILL) in the middle of a task: once its lease runs out the task
//   goes back to the queue and another agent runs it; it succeeds once;
// - the hub stops while an agent is running a task: the agent keeps the result on disk and
//   delivers it when the hub is back (same port, same data);
// - PostgreSQL restarts while tasks are being queued and run: every task succeeds exactly
//   once; a client that retries a failed create with its idempotency key gets one task.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { apiSession, freshPostgres, ROOT, setupViaApi, startHub } from "../lib/hub.mjs";

const AGENT = process.env.SWITCHBOARD_AGENT_BIN ?? join(ROOT, "target", "debug", "switchboard-agent");
const CONFIG = `[executors.echo]\nenabled = true\n[executors.shell]\nenabled = true\nallow = [{ path = "/bin/sleep", args = ["^[0-9]{1,2}$"] }]\n`;

const cleanups = [];
after(async () => {
  for (const clean of cleanups.reverse()) await clean();
});

/** The results an agent keeps in its outbox (one `<task>.json` each). */
const kept = (outbox) => readdirSync(outbox).filter((f) => f.endsWith(".json"));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, check, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function client(hub, session) {
  return async (method, path, body) => {
    const response = await fetch(hub.base + path, { method, headers: session, body: body && JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
}

/** Registers an agent with a fresh token and starts `switchboard-agent run`. */
async function startAgent(hub, api, name) {
  const token = await api("POST", "/api/v1/fleet/registration-tokens", { name: `for ${name}`, max_uses: 1 });
  assert.equal(token.status, 201);
  const dir = mkdtempSync(join(tmpdir(), `sb-${name}-`));
  const registered = spawnSync(AGENT, ["register", "--hub", hub.base, "--token", token.body.token, "--state-dir", join(dir, "state"),
    "--name", name, "--label", "role=web"], { encoding: "utf8" });
  assert.equal(registered.status, 0, registered.stderr);
  writeFileSync(join(dir, "agent.toml"), CONFIG);
  return runAgent(dir, name);
}

function runAgent(dir, name) {
  const child = spawn(AGENT, ["run", "--state-dir", join(dir, "state"), "--config", join(dir, "agent.toml")], { stdio: ["ignore", "ignore", "pipe"] });
  const agent = { child, dir, name, log: "" };
  child.stderr.on("data", (chunk) => { agent.log += chunk; });
  cleanups.push(() => child.kill("SIGKILL"));
  return agent;
}

async function agentId(api, name) {
  return until(`${name} online`, async () => (await api("GET", "/api/v1/fleet/agents")).body.find((a) => a.name === name && a.status === "online")?.id);
}

/** A shell task (T3), approved by the owner; resolves with its id once queued. */
async function approvedSleep(api, seconds, target) {
  const asked = await api("POST", "/api/v1/fleet/tasks", { type: "shell", payload: { command: "/bin/sleep", args: [String(seconds)] }, target, max_attempts: 3 });
  assert.equal(asked.status, 202, JSON.stringify(asked.body));
  const approved = await api("POST", `/api/v1/approvals/${asked.body.approval_id}/approve`, {});
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  const executed = await until("the approval to run", async () => {
    const a = (await api("GET", `/api/v1/approvals/${asked.body.approval_id}`)).body;
    return a.status === "executed" && a;
  });
  return executed.result.id;
}

test("an agent killed mid-task: the task runs again on another agent and succeeds once", async () => {
  const hub = await startHub({ env: { SWITCHBOARD_FLEET_LEASE_SECS: "3" } });
  cleanups.push(() => hub.stop());
  await setupViaApi(hub);
  const api = client(hub, await apiSession(hub));
  const first = await startAgent(hub, api, "web-1");
  const firstId = await agentId(api, "web-1");

  const task = await approvedSleep(api, 4, { labels: { role: "web" } });
  await until("web-1 to hold the task", async () => {
    const t = (await api("GET", `/api/v1/fleet/tasks/${task}`)).body;
    return t.status === "leased" && t.agent_id === firstId;
  });
  first.child.kill("SIGKILL");
  await new Promise((r) => first.child.once("exit", r));

  await startAgent(hub, api, "web-2");
  const secondId = await agentId(api, "web-2");
  const done = await until("the task to succeed on web-2", async () => {
    const t = (await api("GET", `/api/v1/fleet/tasks/${task}`)).body;
    return ["succeeded", "failed", "dead"].includes(t.status) && t;
  }, 60_000);
  assert.equal(done.status, "succeeded", JSON.stringify(done));
  assert.equal(done.attempts, 2);
  const moves = done.events.filter((e) => e.kind === "status").map((e) => `${e.from ?? ""}>${e.to}@${e.agent_id ?? ""}`);
  assert.deepEqual(moves, [
    ">queued@",
    `queued>leased@${firstId}`,
    `leased>queued@${firstId}`,
    `queued>leased@${secondId}`,
    `leased>succeeded@${secondId}`,
  ]);
  assert.match(done.events.find((e) => e.to === "queued" && e.from === "leased").message, /lease ran out/);
});

test("the hub stops while an agent runs a task: the result is kept and arrives after the restart", async () => {
  let hub = await startHub();
  const port = new URL(hub.base).port;
  const dir = hub.dir;
  cleanups.push(() => hub.stop());
  await setupViaApi(hub);
  let api = client(hub, await apiSession(hub));
  const agent = await startAgent(hub, api, "web-1");
  const id = await agentId(api, "web-1");
  const task = await approvedSleep(api, 3, { agent_id: id });
  await until("the agent to hold the task", async () => (await api("GET", `/api/v1/fleet/tasks/${task}`)).body.status === "leased");

  assert.equal(await hub.stop({ keep: true }), 0);
  // The task ends while the hub is away: its result waits in the agent's outbox.
  await until("the result in the outbox", async () => {
    const outbox = join(agent.dir, "state", "outbox");
    return existsSync(outbox) && kept(outbox).length === 1;
  }, 20_000);
  hub = await startHub({ dir, listen: `127.0.0.1:${port}` });
  api = client(hub, await apiSession(hub));
  const done = await until("the kept result to arrive", async () => {
    const t = (await api("GET", `/api/v1/fleet/tasks/${task}`)).body;
    return t.status === "succeeded" && t;
  }, 60_000);
  assert.equal(done.attempts, 1, "it ran once");
  assert.equal(done.result.output.exit_code, 0);
  await until("the outbox to empty", async () => kept(join(agent.dir, "state", "outbox")).length === 0);
  assert.match(agent.log, /kept|outbox/i);
});

/** Restarts the PostgreSQL server when this process may (CI runs as root), else cuts every
 *  connection to the database — to the hub, the same as a restart. Runs beside the load (the
 *  event loop keeps sending requests meanwhile); resolves with what it did. */
async function restartPostgres(database) {
  const run = (command, args) => new Promise((resolve) => {
    const child = spawn(command, args, { stdio: "ignore" });
    child.on("error", () => resolve(false));
    child.on("exit", (code) => resolve(code === 0));
  });
  const versions = existsSync("/etc/postgresql") ? readdirSync("/etc/postgresql") : [];
  if (process.getuid?.() === 0 && versions.length === 1
      && await run("pg_ctlcluster", ["--skip-systemctl-redirect", versions[0], "main", "restart"])) {
    return "restarted the server";
  }
  const name = new URL(database).pathname.slice(1);
  await run("psql", [process.env.TEST_DATABASE_URL, "-qc", `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`]);
  return "terminated every connection";
}

test("PostgreSQL restarts under load: no task lost or duplicated", async (t) => {
  const db = freshPostgres();
  if (!db) {
    t.skip("TEST_DATABASE_URL is not set");
    return;
  }
  cleanups.push(async () => db.drop());
  const hub = await startHub({ env: { DATABASE_URL: db.url } });
  cleanups.push(() => hub.stop());
  await setupViaApi(hub);
  const api = client(hub, await apiSession(hub));
  for (const name of ["web-1", "web-2", "web-3"]) {
    await startAgent(hub, api, name);
    await agentId(api, name);
  }

  // 150 echo tasks, 5 at a time; a create that fails is retried with its idempotency key.
  const N = 150;
  let retried = 0;
  let restarting = null;
  const ids = new Map();
  let next = 0;
  async function producer() {
    while (next < N) {
      const n = next++;
      if (n === 50) {
        restarting = restartPostgres(db.url);
      }
      for (let attempt = 0; ; attempt++) {
        const made = await api("POST", "/api/v1/fleet/tasks", { type: "echo", payload: { message: `task ${n}` },
          target: { labels: { role: "web" } }, idempotency_key: `load-${n}` }).catch(() => ({ status: 0 }));
        if (made.status === 201 || made.status === 200) {
          if (ids.has(n)) assert.equal(ids.get(n), made.body.id);
          ids.set(n, made.body.id);
          if (attempt > 0) retried++;
          break;
        }
        assert.ok(attempt < 100, `task ${n} could not be queued: ${made.status}`);
        await sleep(200);
      }
    }
  }
  await Promise.all([producer(), producer(), producer(), producer(), producer()]);
  const restarted = await restarting;
  assert.ok(restarted, "PostgreSQL was restarted mid-way");
  // Retrying a key that was stored returns the same task.
  const again = await api("POST", "/api/v1/fleet/tasks", { type: "echo", payload: { message: "task 0" }, target: { labels: { role: "web" } }, idempotency_key: "load-0" });
  assert.equal(again.status, 200);
  assert.equal(again.body.id, ids.get(0));

  const tasks = await until("every task to finish", async () => {
    const list = [];
    for (const id of ids.values()) list.push((await api("GET", `/api/v1/fleet/tasks/${id}`)).body);
    return list.every((t) => t.status === "succeeded") && list;
  }, 120_000);
  assert.equal(new Set(ids.values()).size, N, "one task per key");
  for (const task of tasks) {
    const finished = task.events.filter((e) => e.kind === "status" && e.to === "succeeded");
    assert.equal(finished.length, 1, `task ${task.id} succeeded once`);
    assert.match(task.result.output.message, /^task \d+$/);
  }
  const all = (await api("GET", "/api/v1/fleet/tasks")).body;
  assert.equal(all.length, 100, "the list shows the latest 100");
  console.log(`# PostgreSQL: ${restarted}; ${retried} creates retried with their idempotency key`);
});

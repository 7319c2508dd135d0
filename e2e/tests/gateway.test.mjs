// The AI gateway as other software uses it: the official `openai` Python package, unchanged,
// against the real binary and the fake provider (e2e/openai/sdk_check.py); and accounting
// parity — after a burst of calls cut short by SIGTERM, the usage records count exactly the
// calls that were answered (the graceful stop flushes the queue; nothing lost or doubled), on
// SQLite and, when TEST_DATABASE_URL is set, on a fresh PostgreSQL database.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { after, before, test } from "node:test";
import { apiSession, fakeProviderConfig, freshPostgres, setupViaApi, startFakeLlm, startHub } from "../lib/hub.mjs";

const PYTHON = process.env.OPENAI_PYTHON ?? "python3";
let fake;
let hub;
let session;

const config = (fakeBase) => fakeProviderConfig(fakeBase, { apiKeyEnv: "LOCAL_LLM_KEY" });

async function createKey(run, headers, name) {
  const response = await fetch(run.base + "/api/v1/gateway/keys", {
    method: "POST",
    headers,
    body: JSON.stringify({ name }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return (await response.json()).key;
}

before(async () => {
  fake = await startFakeLlm();
  hub = await startHub({ config: config(fake.base), env: { LOCAL_LLM_KEY: "upstream-key" } });
  await setupViaApi(hub);
  session = await apiSession(hub);
});

after(async () => {
  await hub?.stop();
  fake?.stop();
});

test("the official openai Python package works unchanged against the gateway", async () => {
  const key = await createKey(hub, session, "python sdk");
  const run = spawnSync(PYTHON, [resolve(import.meta.dirname, "..", "openai", "sdk_check.py")], {
    env: { ...process.env, SWITCHBOARD_GATEWAY_URL: hub.base, SWITCHBOARD_GATEWAY_KEY: key, FAKE_LLM_URL: fake.base },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(run.status, 0, `sdk_check.py failed:\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /openai SDK checks passed/);
  // The provider saw the installation's key, never the client's gateway key.
  const seen = await fake.requests();
  assert.ok(seen.length >= 4);
  for (const r of seen.filter((r) => r.path === "/v1/chat/completions")) {
    assert.ok(r.headers.some(([n, v]) => n === "authorization" && v === "Bearer upstream-key"));
    assert.ok(!JSON.stringify(r).includes(key));
  }
});

/**
 * Parity across a SIGTERM: a wave of calls completes, a second wave is cut off by a graceful
 * stop, and after a restart on the same data the usage records count exactly the answered
 * calls. `hubOptions` chooses the database.
 */
async function sigtermParity(hubOptions) {
  let run = await startHub(hubOptions);
  try {
    await setupViaApi(run);
    const headers = await apiSession(run);
    const key = await createKey(run, headers, "parity");
    // Slow answers keep calls in flight when the signal arrives.
    await fake.script(Array.from({ length: 400 }, () => ({ text: "ok", delay_ms: 30 })));
    const call = () =>
      fetch(run.base + "/v1/chat/completions", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "local/gpt-test", messages: [{ role: "user", content: "count me" }] }),
      }).then(
        async (r) => ({ status: r.status, body: await r.text() }),
        () => ({ status: 0 }),
      );
    // Wave one completes; wave two is cut by SIGTERM after a short while.
    const first = await Promise.all(Array.from({ length: 100 }, call));
    assert.ok(first.every((r) => r.status === 200), "the first wave is all answered");
    const second = Array.from({ length: 300 }, (_, i) =>
      new Promise((r) => setTimeout(r, i)).then(call),
    );
    await new Promise((r) => setTimeout(r, 120));
    const stopping = run.stop({ keep: true });
    const results = [...first, ...(await Promise.all(second))];
    assert.equal(await stopping, 0, "the hub stops cleanly");
    const answered = results.filter((r) => r.status === 200).length;
    assert.ok(answered > 100 && answered < 400, `some calls were cut off (${answered} answered)`);

    run = await startHub({ ...hubOptions, dir: run.dir });
    const after = await apiSession(run);
    assert.equal(await totalRequests(run, after), answered, "one usage record per answered call");
  } finally {
    await run.stop();
  }
}

const hubOptions = (env = {}) => ({
  config: config(fake.base),
  env: { LOCAL_LLM_KEY: "upstream-key", ...env },
});

test("usage records match the answered calls exactly across a SIGTERM (SQLite)", async () => {
  await sigtermParity(hubOptions());
});

test("usage records match the answered calls exactly across a SIGTERM (PostgreSQL)", async (t) => {
  const db = freshPostgres();
  if (!db) {
    t.skip("TEST_DATABASE_URL is not set");
    return;
  }
  try {
    await sigtermParity(hubOptions({ DATABASE_URL: db.url }));
  } finally {
    db.drop();
  }
});

async function totalRequests(run, headers) {
  const response = await fetch(run.base + "/api/v1/usage?group_by=model", { headers });
  assert.equal(response.status, 200);
  return (await response.json()).reduce((n, row) => n + row.requests, 0);
}

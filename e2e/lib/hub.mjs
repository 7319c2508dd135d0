// Starts the real `switchboard` binary in a temporary directory and drives Debian's Chromium.
// Nothing here downloads a browser: playwright-core is pointed at /usr/bin/chromium.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

export const ROOT = resolve(import.meta.dirname, "..", "..");
export const BINARY = process.env.SWITCHBOARD_BIN ?? join(ROOT, "target", "debug", "switchboard");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Starts `switchboard serve` on a random port (or `listen`); resolves once it logs
 * `listening on`.
 * `config` is the text of a `switchboard.toml`; `before` lists commands run first in the same
 * directory, e.g. `{ args: ["sso", "set-secret", "x"], input: "secret" }`.
 */
export async function startHub({ env = {}, config, before = [], dir: reuse, listen = "127.0.0.1:0" } = {}) {
  const dir = reuse ?? mkdtempSync(join(tmpdir(), "sb-e2e-"));
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith("SWITCHBOARD_") && k !== "DATABASE_URL",
    ),
  );
  const fullEnv = { ...cleanEnv, SWITCHBOARD_LOG_FORMAT: "json", ...env };
  if (config !== undefined) {
    writeFileSync(join(dir, "switchboard.toml"), config);
    fullEnv.SWITCHBOARD_CONFIG = join(dir, "switchboard.toml");
  }
  for (const { args, input } of before) {
    const run = spawnSync(BINARY, args, { cwd: dir, env: fullEnv, input, encoding: "utf8" });
    if (run.status !== 0) throw new Error(`switchboard ${args.join(" ")} failed: ${run.stderr}`);
  }
  const child = spawn(BINARY, ["serve", "--listen", listen], {
    cwd: dir,
    env: fullEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs = [];
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout });
  const base = await new Promise((resolveBase, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start: ${stderr}`)), 30_000);
    child.on("exit", (code) => reject(new Error(`hub exited with ${code}: ${stderr}`)));
    lines.on("line", (line) => {
      logs.push(line);
      const match = line.match(/listening on (http:\/\/[0-9.:]+)/);
      if (match) {
        clearTimeout(timer);
        resolveBase(match[1]);
      }
    });
  });
  return {
    base,
    dir,
    logs,
    /** Stops with SIGTERM; `keep` leaves the data directory for another `startHub`. */
    async stop({ keep = false } = {}) {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      if (!keep) rmSync(dir, { recursive: true, force: true });
      return child.exitCode;
    },
  };
}

/** Starts `switchboard-fake-llm` on a random port; resolves with its base URL and `stop()`. */
export async function startFakeLlm() {
  const binary = process.env.FAKE_LLM_BIN ?? join(ROOT, "target", "debug", "switchboard-fake-llm");
  const child = spawn(binary, ["--listen", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
  const lines = createInterface({ input: child.stdout });
  const base = await new Promise((resolveBase, reject) => {
    const timer = setTimeout(() => reject(new Error("fake LLM did not start")), 10_000);
    child.on("exit", (code) => reject(new Error(`fake LLM exited with ${code}`)));
    lines.on("line", (line) => {
      const match = line.match(/listening on (http:\/\/[0-9.:]+)/);
      if (match) {
        clearTimeout(timer);
        resolveBase(match[1]);
      }
    });
  });
  return {
    base,
    async script(scripts) {
      const r = await fetch(base + "/_fake/scripts", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(scripts),
      });
      if (r.status !== 204) throw new Error(`queueing scripts failed: ${r.status}`);
    },
    async requests() {
      return (await fetch(base + "/_fake/requests")).json();
    },
    stop() {
      child.kill("SIGTERM");
    },
  };
}

/** Signs in through the API; returns headers for further API calls (cookie + CSRF). */
export async function apiSession(hub, { email = OWNER.email, password = OWNER.password } = {}) {
  const response = await fetch(hub.base + "/api/v1/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  const body = await response.json();
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith("sb_session=")).split(";")[0];
  return { cookie, "x-csrf-token": body.csrf_token, "content-type": "application/json" };
}

/** Launches headless Chromium with the flags this machine needs (no network, no sandbox). */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** Collects console errors and page errors (CSP violations show up here). */
export function watchForErrors(page) {
  const errors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(msg.text());
  });
  page.on("pageerror", (err) => errors.push(String(err)));
  return errors;
}

/** The first-boot setup code `serve` printed next to the console URL. */
export function setupCode(hub) {
  for (const line of hub.logs) {
    try {
      const code = JSON.parse(line).setup_code;
      if (code) return code;
    } catch {
      // not JSON
    }
  }
  throw new Error("no setup code in the hub's log");
}

export const OWNER = { email: "ada@acme.test", name: "Ada Lovelace", password: "correct horse battery staple" };

/** Completes first-boot setup through the API (for tests about something else). */
export async function setupViaApi(hub) {
  const response = await fetch(hub.base + "/api/v1/setup", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      setup_code: setupCode(hub),
      organization: { name: "Acme", slug: "acme" },
      owner: OWNER,
    }),
  });
  if (response.status !== 201) throw new Error(`setup failed: ${response.status} ${await response.text()}`);
}

/** Signs in through the console's form. */
export async function signIn(page, hub, { email = OWNER.email, password = OWNER.password, totp } = {}) {
  await page.goto(hub.base + "/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  if (totp) {
    // The page asks for the code; the password field is empty again (never echoed back).
    await page.getByLabel("Password").fill(password);
    await page.getByLabel("Authentication code").fill(totp());
    await page.getByRole("button", { name: "Sign in" }).click();
  }
  await page.waitForURL(hub.base + "/");
}

/** RFC 6238 TOTP code (SHA-1, 30 s, 6 digits) for a base32 secret, `offset` steps away. */
export async function totpCode(secretBase32, offset = 0) {
  const { createHmac } = await import("node:crypto");
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secretBase32.replace(/=+$/, "").toUpperCase()) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  const step = Math.floor(Date.now() / 1000 / 30) + offset;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const digest = createHmac("sha1", Buffer.from(bytes)).update(counter).digest();
  const at = digest[19] & 0x0f;
  const binary = (digest.readUInt32BE(at) & 0x7fffffff) % 1_000_000;
  return String(binary).padStart(6, "0");
}

/**
 * A new, empty PostgreSQL database on the server of `TEST_DATABASE_URL` (made with `psql`),
 * or `null` when that variable is not set. `drop()` removes it again.
 */
export function freshPostgres() {
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) return null;
  const name = `sb_e2e_${process.pid}_${Date.now()}`;
  const psql = (sql) => {
    const run = spawnSync("psql", [admin, "-v", "ON_ERROR_STOP=1", "-qc", sql], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`psql failed: ${run.stderr}`);
  };
  psql(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * A `switchboard.toml` with one OpenAI-compatible provider `local` at the fake provider:
 * `local/gpt-test` (1 / 2 USD per million tokens, the default model) and `extraModels` (free).
 * `apiKeyEnv` names the environment variable holding the provider's key, if any.
 */
export function fakeProviderConfig(fakeBase, { apiKeyEnv, extraModels = [] } = {}) {
  const key = apiKeyEnv ? `api_key = "env:${apiKeyEnv}"\n` : "";
  const extra = extraModels.map((name) => `[[llm.providers.models]]\nname = "${name}"\n`).join("");
  return `[llm]
default_model = "local/gpt-test"

[[llm.providers]]
name = "local"
kind = "openai"
base_url = "${fakeBase}/v1"
${key}[[llm.providers.models]]
name = "gpt-test"
input_usd_per_mtok = 1.0
output_usd_per_mtok = 2.0
${extra}`;
}

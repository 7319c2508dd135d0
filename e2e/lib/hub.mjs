// Starts the real `switchboard` binary in a temporary directory and drives Debian's Chromium.
// Nothing here downloads a browser: playwright-core is pointed at /usr/bin/chromium.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const ROOT = resolve(import.meta.dirname, "..", "..");
export const BINARY = process.env.SWITCHBOARD_BIN ?? join(ROOT, "target", "debug", "switchboard");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Starts `switchboard serve` on a random port; resolves once it logs `listening on`. */
export async function startHub({ env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "sb-e2e-"));
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith("SWITCHBOARD_") && k !== "DATABASE_URL",
    ),
  );
  const child = spawn(BINARY, ["serve", "--listen", "127.0.0.1:0"], {
    cwd: dir,
    env: { ...cleanEnv, SWITCHBOARD_LOG_FORMAT: "json", ...env },
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
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
      return child.exitCode;
    },
  };
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

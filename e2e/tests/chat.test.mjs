// The assistant as people use it: an admin asks for something that needs approval; the
// supervisor hands it to a specialist, whose tool call waits; a second admin in another
// browser approves it from the inbox; the first sees the answer stream in without a reload;
// the audit viewer's check shows the chain intact. And without a provider, the chat says how
// to add one.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  apiSession,
  fakeProviderConfig,
  launchBrowser,
  setupViaApi,
  signIn,
  startFakeLlm,
  startHub,
  watchForErrors,
} from "../lib/hub.mjs";

let hub;
let fake;
let browser;
let owner;
const SECOND = { email: "grace@acme.test", password: "another long passphrase" };

async function api(headers, method, path, body) {
  const response = await fetch(hub.base + path, { method, headers, body: body && JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

before(async () => {
  fake = await startFakeLlm();
  hub = await startHub({ config: fakeProviderConfig(fake.base) });
  await setupViaApi(hub);
  owner = await apiSession(hub);
  const invite = await api(owner, "POST", "/api/v1/invites", { email: SECOND.email, role: "admin" });
  assert.equal(invite.status, 201, JSON.stringify(invite.body));
  const accepted = await api({ "content-type": "application/json" }, "POST", "/api/v1/invites/accept", {
    token: invite.body.url.split("/invite/")[1],
    name: "Grace Hopper",
    password: SECOND.password,
  });
  assert.ok(accepted.status < 300, JSON.stringify(accepted.body));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await hub?.stop();
  fake?.stop();
});

test("an answer that needs approval streams in after another admin approves", async () => {
  // Listing members asks an admin in this organisation.
  assert.equal((await api(owner, "PUT", "/api/v1/tools/org.members/settings", { tier: "T3" })).status, 200);
  await fake.script([
    { tool_calls: [{ name: "delegate_to_workspace", arguments: { task: "List the members with their roles." } }] },
    { tool_calls: [{ name: "org__members", arguments: {} }] },
    { text: "Ada Lovelace (owner) and Grace Hopper (admin)." },
    { text: "You have two members: Ada Lovelace, the owner, and Grace Hopper, an admin.", chunks: 8, chunk_delay_ms: 60 },
  ]);

  const mine = await browser.newContext();
  const page = await mine.newPage();
  const errors = watchForErrors(page);
  await signIn(page, hub);
  await page.getByRole("link", { name: "Assistant" }).click();
  await page.getByLabel("Message").fill("Who are the members of our organisation?");
  await page.getByRole("button", { name: "Start" }).click();
  // Without the script the first message is answered on the server: the page returns with
  // the call waiting for approval.
  await page.waitForURL(/\/chat\/[0-9a-f-]+$/);
  const card = page.getByTestId("approval-card");
  await card.waitFor();
  assert.match(await card.textContent(), /org\.members/);
  assert.match(await card.textContent(), /waiting for approval/);
  assert.match(await page.locator(".tool-card").first().textContent(), /delegate_to_workspace/);

  // A second admin approves it from the inbox in another browser.
  const theirs = await browser.newContext();
  const adminPage = await theirs.newPage();
  await signIn(adminPage, hub, SECOND);
  await adminPage.getByRole("link", { name: /Approvals/ }).click();
  const approval = adminPage.locator("article.approval").first();
  assert.match(await approval.textContent(), /org\.members/);
  await approval.getByRole("button", { name: "Approve" }).click();
  assert.match(await adminPage.locator(".flash-success").textContent(), /Approved/);

  // The first admin's page follows the run: the card turns to executed, the answer streams.
  await page.locator("[data-approval-status]", { hasText: "executed" }).waitFor({ timeout: 15_000 });
  const answer = page.locator(".bubble-assistant").last();
  await answer.filter({ hasText: "Grace Hopper, an admin." }).waitFor({ timeout: 15_000 });
  assert.equal(
    (await answer.textContent()).trim(),
    "You have two members: Ada Lovelace, the owner, and Grace Hopper, an admin.",
  );
  await page.screenshot({ path: "test-results/chat.png", fullPage: true });

  // A follow-up is streamed over the API by the page's script.
  await fake.script([{ text: "Glad to help.", chunks: 3 }]);
  await page.getByLabel("Message").fill("Thanks!");
  await page.getByRole("button", { name: "Send" }).click();
  await page.locator(".bubble-assistant", { hasText: "Glad to help." }).waitFor();
  await page.reload();
  const bubbles = await page.locator(".bubble-assistant").allTextContents();
  assert.deepEqual(
    bubbles.map((b) => b.replace("Assistant: ", "").trim()),
    ["You have two members: Ada Lovelace, the owner, and Grace Hopper, an admin.", "Glad to help."],
    "the history holds each answer once",
  );

  // The audit viewer says the chain is intact.
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByTestId("verify-chain").click();
  assert.match(await page.getByTestId("verify-result").textContent(), /The chain is intact: \d+ events checked/);
  const kinds = (await api(owner, "GET", "/api/v1/audit?limit=500")).body.map((e) => e.kind);
  for (const kind of ["ai.call", "tool.call", "approval.requested", "approval.approved", "approval.executed"]) {
    assert.ok(kinds.includes(kind), `${kind} in the audit log`);
  }
  assert.deepEqual(errors, [], "no console errors or CSP violations");
  await mine.close();
  await theirs.close();
});

test("a new ticket gets a triage note; the assistant lists tickets and files a request", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchForErrors(page);
  await signIn(page, hub);

  // Filing a ticket by hand: the triage note arrives in the background.
  await fake.script([{ text: "Suggested priority: high — a whole office is offline. First step: check the VPN router." }]);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tickets" }).click();
  const form = page.getByRole("region", { name: "New ticket" });
  await form.getByLabel("Title").fill("VPN drops every hour");
  await form.getByRole("button", { name: "File ticket" }).click();
  await page.waitForURL(/\/tickets\/[0-9a-f-]{36}$/);
  const comments = page.getByTestId("comments");
  for (let i = 0; i < 50 && !/Assistant \(triage\)/.test(await comments.textContent()); i++) {
    await page.waitForTimeout(200);
    await page.reload();
  }
  assert.match(await comments.textContent(), /Assistant \(triage\).*Suggested priority: high/s);
  assert.match(await comments.textContent(), /internal/);

  // The assistant: the supervisor hands it to the Workspace specialist, which lists the open
  // tickets and files a request (the request's own triage answers with the same text).
  const done = "There is one open ticket, T-1 (VPN drops every hour). I filed R-1 to replace the VPN router.";
  await fake.script([
    { tool_calls: [{ name: "delegate_to_workspace", arguments: { task: "List the open tickets, then file a request to replace the VPN router." } }] },
    { tool_calls: [{ name: "workspace__list_tickets", arguments: { status: "open" } }] },
    { tool_calls: [{ name: "workspace__create_request", arguments: { title: "Replace the VPN router", priority: "high" } }] },
    { text: done },
    { text: done },
    { text: done, chunks: 4 },
  ]);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Assistant" }).click();
  await page.getByLabel("Message").fill("Which tickets are open? And file a request to replace the VPN router.");
  await page.getByRole("button", { name: "Start" }).click();
  await page.waitForURL(/\/chat\/[0-9a-f-]+$/);
  await page.locator(".bubble-assistant", { hasText: "I filed R-1" }).waitFor();
  // The specialist's own calls are inside the delegation; the audit log has each of them.
  assert.match(await page.locator(".tool-card").first().textContent(), /delegate_to_workspace[\s\S]*R-1/);
  const calls = (await api(owner, "GET", "/api/v1/audit?kind=tool.call&limit=500")).body.map((e) => e.target);
  for (const tool of ["workspace.list_tickets", "workspace.create_request"]) {
    assert.ok(calls.includes(tool), `${tool} in the audit log: ${calls}`);
  }

  // Both are in their lists.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Requests" }).click();
  assert.match(await page.getByTestId("items").textContent(), /R-1\s*Replace the VPN router/);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tickets" }).click();
  assert.match(await page.getByTestId("items").textContent(), /T-1\s*VPN drops every hour/);
  await page.screenshot({ path: "test-results/assistant-workspace.png", fullPage: true });
  assert.deepEqual(errors, [], "no console errors or CSP violations");
  await context.close();
});

test("without a provider the chat says how to add one", async () => {
  const bare = await startHub();
  try {
    await setupViaApi(bare);
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, bare);
    await page.goto(bare.base + "/chat");
    const notice = page.getByTestId("no-provider");
    assert.match(await notice.textContent(), /No AI model is configured yet/);
    assert.equal(await notice.getByRole("link", { name: "Add one under Models" }).getAttribute("href"), "/models");
    await context.close();
  } finally {
    await bare.stop();
  }
});

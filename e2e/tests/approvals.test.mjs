// Approvals as people use them: a tool call the policy asks about (T4, four eyes) waits in the
// inbox; the requester cannot decide it; a second admin in another browser sees the badge,
// approves it with a reason; the call runs as the requester and the audit chain stays intact.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { apiSession, launchBrowser, setupViaApi, signIn, startHub, watchForErrors } from "../lib/hub.mjs";

let hub;
let browser;
let owner;
const SECOND = { email: "grace@acme.test", password: "another long passphrase" };

async function api(headers, method, path, body) {
  const response = await fetch(hub.base + path, { method, headers, body: body && JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

before(async () => {
  hub = await startHub();
  await setupViaApi(hub);
  owner = await apiSession(hub);
  const invite = await api(owner, "POST", "/api/v1/invites", { email: SECOND.email, role: "admin" });
  assert.equal(invite.status, 201, JSON.stringify(invite.body));
  const token = invite.body.url.split("/invite/")[1];
  const accepted = await api({ "content-type": "application/json" }, "POST", "/api/v1/invites/accept", {
    token,
    name: "Grace Hopper",
    password: SECOND.password,
  });
  assert.ok(accepted.status < 300, JSON.stringify(accepted.body));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await hub?.stop();
});

test("a second admin approves a four-eyes request from the inbox and it runs", async () => {
  // The organisation raises org.members to T4; the owner asks for it.
  assert.equal((await api(owner, "PUT", "/api/v1/tools/org.members/settings", { tier: "T4" })).status, 200);
  const asked = await api(owner, "POST", "/api/v1/tools/org.members/invoke", { arguments: {} });
  assert.equal(asked.status, 202, JSON.stringify(asked.body));
  const id = asked.body.approval_id;

  // The requester sees it waiting but cannot decide it.
  const mine = await browser.newContext();
  const ownerPage = await mine.newPage();
  await signIn(ownerPage, hub);
  await ownerPage.getByRole("link", { name: /Approvals/ }).click();
  const card = ownerPage.getByTestId(`approval-${id}`);
  assert.match(await card.textContent(), /org\.members/);
  assert.match(await card.textContent(), /You asked for this; another admin decides/);
  assert.equal(await card.getByRole("button", { name: "Approve" }).count(), 0);

  // A second admin, in another browser, sees the badge and approves with a reason.
  const theirs = await browser.newContext();
  const adminPage = await theirs.newPage();
  const errors = watchForErrors(adminPage);
  await signIn(adminPage, hub, SECOND);
  assert.equal((await adminPage.locator("[data-approvals-badge]").textContent()).trim(), "1");
  await adminPage.getByRole("link", { name: /Approvals/ }).click();
  await adminPage.screenshot({ path: "test-results/approvals.png", fullPage: true });
  const theirCard = adminPage.getByTestId(`approval-${id}`);
  await theirCard.getByLabel("Reason to approve").fill("Quarterly access review");
  await theirCard.getByRole("button", { name: "Approve" }).click();
  assert.match(await adminPage.locator(".flash-success").textContent(), /Approved: org\.members runs now/);
  assert.ok(await adminPage.getByTestId("no-pending").isVisible());

  // It ran as the owner; the result is stored and shown; the badge is gone.
  let approval;
  for (let i = 0; i < 50; i++) {
    approval = (await api(owner, "GET", `/api/v1/approvals/${id}`)).body;
    if (approval.status === "executed") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(approval.status, "executed", JSON.stringify(approval));
  assert.equal(approval.decision_reason, "Quarterly access review");
  assert.ok(approval.result.members.some((m) => m.email === SECOND.email));
  await ownerPage.reload();
  assert.ok(await ownerPage.locator("[data-approvals-badge]").isHidden());
  assert.match(await ownerPage.getByTestId("recent-approvals").textContent(), /executed/);

  const verify = await api(owner, "GET", "/api/v1/audit/verify");
  assert.equal(verify.body.ok, true, JSON.stringify(verify.body));
  assert.deepEqual(errors, [], "no console errors or CSP violations");
  await mine.close();
  await theirs.close();
});

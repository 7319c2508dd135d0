// Single sign-on against a real OpenID provider (npm `oidc-provider`) on loopback: the owner
// opens SSO sign-up, a new person signs in through the provider and lands as a member (role
// from the `groups` claim), an existing local account is not taken over, an unverified email
// is refused, and a token minted for another audience is refused — all audited.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { OWNER, launchBrowser, setupViaApi, signIn, startHub, watchForErrors } from "../lib/hub.mjs";
import { reserveIdp } from "../lib/idp.mjs";

const SECRET = "e2e-client-secret-0123456789";
let idp;
let hub;
let browser;

before(async () => {
  idp = await reserveIdp();
  const provider = (id, name, clientId) => `
[[sso.providers]]
id = "${id}"
name = "${name}"
issuer = "${idp.issuer}"
client_id = "${clientId}"
organization = "acme"
role_claim = "groups"
default_role = "none"
[sso.providers.role_map]
staff = "member"
it-admins = "admin"
`;
  hub = await startHub({
    config: provider("testid", "Test ID", "switchboard") + provider("mixup", "Mix-up ID", "switchboard-mixup"),
    before: [
      { args: ["sso", "set-secret", "testid"], input: SECRET },
      { args: ["sso", "set-secret", "mixup"], input: SECRET },
    ],
  });
  idp.start([
    { client_id: "switchboard", client_secret: SECRET, redirect_uris: [`${hub.base}/auth/sso/testid/callback`] },
    {
      client_id: "switchboard-mixup",
      client_secret: SECRET,
      redirect_uris: [`${hub.base}/auth/sso/mixup/callback`],
      wrongAudience: true,
    },
  ]);
  await setupViaApi(hub);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await idp?.stop();
  assert.equal(await hub?.stop(), 0);
});

/** Clicks "Sign in with {name}" and signs in at the provider as `login`. */
async function ssoSignIn(page, name, login) {
  await page.goto(hub.base + "/login");
  await page.getByRole("link", { name: `Sign in with ${name}` }).click();
  await page.waitForURL((url) => url.origin === idp.issuer);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("anything");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL((url) => url.origin === hub.base);
}

async function me(page) {
  const response = await page.request.get(hub.base + "/api/v1/me");
  return { status: response.status(), body: response.status() === 200 ? await response.json() : null };
}

test("single sign-on: sign-up where allowed, no takeover, wrong audience refused", async () => {
  // The owner allows SSO sign-up in the console.
  const owner = await browser.newContext();
  const ownerPage = await owner.newPage();
  await signIn(ownerPage, hub);
  await ownerPage.getByRole("link", { name: "Security" }).click();
  await ownerPage.getByLabel("Let single sign-on create accounts for new people").check();
  await ownerPage.getByRole("button", { name: "Save" }).click();
  assert.equal((await me(ownerPage)).body.current_organization.allow_sso_signup, true);

  // A new person signs in through the provider and lands in Acme with the mapped role.
  const grace = await browser.newContext();
  const page = await grace.newPage();
  await ssoSignIn(page, "Test ID", "grace");
  await page.waitForURL(hub.base + "/");
  // The provider's own pages load outside resources; only the hub's pages must be clean.
  const errors = watchForErrors(page);
  await page.reload();
  assert.equal(await page.locator("h1").textContent(), "Overview");
  const signedIn = await me(page);
  assert.equal(signedIn.body.user.email, "grace@acme.test");
  assert.equal(signedIn.body.current_organization.slug, "acme");
  assert.equal(signedIn.body.current_organization.role, "member");
  // Their account page says the provider handles password and second factor.
  await page.getByRole("link", { name: "Account" }).click();
  assert.match(await page.getByTestId("sso-account").textContent(), /single sign-on/);
  assert.deepEqual(errors, []);

  // Signing out and in again reuses the linked account (no second user).
  await page.getByTestId("sign-out").click();
  await page.waitForURL(hub.base + "/login");
  await page.getByRole("link", { name: "Sign in with Test ID" }).click();
  await page.waitForURL(hub.base + "/");
  assert.equal((await me(page)).body.user.email, "grace@acme.test");

  // A token minted for another audience is refused: no session, a clear message.
  const mixup = await browser.newContext();
  const mixPage = await mixup.newPage();
  await ssoSignIn(mixPage, "Mix-up ID", "grace");
  await mixPage.waitForURL(hub.base + "/login");
  assert.match(await mixPage.locator(".flash-error").textContent(), /another client \(audience\)/);
  assert.equal((await me(mixPage)).status, 401);

  // The owner's local account is not taken over: linking is off for this provider.
  const takeover = await browser.newContext();
  const takeoverPage = await takeover.newPage();
  await ssoSignIn(takeoverPage, "Test ID", "ada");
  await takeoverPage.waitForURL(hub.base + "/login");
  assert.match(await takeoverPage.locator(".flash-error").textContent(), /already exists/);
  assert.equal((await me(takeoverPage)).status, 401);

  // An unverified email creates nothing.
  const unverified = await browser.newContext();
  const unverifiedPage = await unverified.newPage();
  await ssoSignIn(unverifiedPage, "Test ID", "mallory");
  await unverifiedPage.waitForURL(hub.base + "/login");
  assert.match(await unverifiedPage.locator(".flash-error").textContent(), /verified email/);

  // The owner sees all of it in the audit log.
  const audit = await (await ownerPage.request.get(hub.base + "/api/v1/audit?kind=auth.")).json();
  const sso = audit.filter((e) => e.details.method === "sso" || e.kind === "auth.sso_signup");
  // (Emails and addresses in audit details are redacted by the guard; the target is the user.)
  assert.ok(sso.some((e) => e.kind === "auth.sso_signup" && e.target === signedIn.body.user.id));
  assert.equal(sso.filter((e) => e.kind === "auth.login" && e.decision === "ok").length, 2);
  const reasons = sso.filter((e) => e.decision === "denied").map((e) => e.details.reason);
  assert.ok(reasons.some((r) => /audience/.test(r)), JSON.stringify(reasons));
  assert.ok(reasons.some((r) => /linking is off/.test(r)), JSON.stringify(reasons));
  assert.ok(reasons.some((r) => /no verified email/.test(r)), JSON.stringify(reasons));
  const members = await (await ownerPage.request.get(hub.base + "/api/v1/members")).json();
  assert.deepEqual(members.map((m) => m.email).sort(), [OWNER.email, "grace@acme.test"]);

  // No client secret, session id or authorization code reaches the hub's log.
  const log = hub.logs.join("\n");
  const session = (await grace.cookies()).find((c) => c.name === "sb_session").value;
  assert.ok(!log.includes(SECRET), "client secret in the log");
  assert.ok(!log.includes(session), "session id in the log");
  assert.ok(!/[?&]code=/.test(log), "authorization code in the log");

  for (const context of [owner, grace, mixup, takeover, unverified]) await context.close();
});

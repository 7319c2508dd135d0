// Tickets and requests as people use them in the console: a member files a ticket, finds it
// by a word, comments; an admin moves it along and sees every change in the activity log; a
// viewer reads it without the internal comment; bad input says what is wrong.

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

test("a ticket is filed, found, discussed and resolved in the console", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchForErrors(page);
  await signIn(page, hub);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tickets" }).click();
  await page.waitForURL(hub.base + "/tickets");
  assert.ok(await page.getByTestId("no-items").isVisible(), "an empty list says so");

  const form = page.getByRole("region", { name: "New ticket" });
  await form.getByLabel("Title").fill("Printer on the second floor is on fire");
  await form.getByLabel("Description").fill("Smoke from tray 2 since this morning.");
  await form.getByLabel("Priority").selectOption("critical");
  await form.getByRole("button", { name: "File ticket" }).click();
  await page.waitForURL(/\/tickets\/[0-9a-f-]{36}$/);
  assert.match(await page.locator(".flash-success").textContent(), /T-1 filed/);
  assert.equal((await page.getByTestId("item-status").textContent()).trim(), "open");

  await page.getByLabel("Add a comment").fill("Turned off at the wall; fuser ordered.");
  await page.getByLabel("Internal (staff only)").check();
  await page.getByRole("button", { name: "Comment" }).click();
  assert.match(await page.getByTestId("comments").textContent(), /fuser ordered/);

  for (const next of ["in_progress", "resolved"]) {
    await page.getByLabel("Move to").selectOption(next);
    await page.getByRole("button", { name: "Change status" }).click();
    assert.match(await page.locator(".flash-success").textContent(), /T-1 saved/);
  }
  assert.equal((await page.getByTestId("item-status").textContent()).trim(), "resolved");
  const activity = await page.getByTestId("activity").textContent();
  assert.match(activity, /created/);
  assert.match(activity, /status: open → in_progress/);
  assert.match(activity, /status: in_progress → resolved/);
  assert.match(activity, /commented \(internal\)/);
  await page.screenshot({ path: "test-results/ticket.png", fullPage: true });

  // Bad input is refused with the reason and files nothing.
  await page.goto(hub.base + "/tickets");
  await page.getByRole("region", { name: "New ticket" }).getByLabel("Title").fill("   ");
  await page.getByRole("button", { name: "File ticket" }).click();
  assert.match(await page.locator(".flash-error").textContent(), /`title` must be 1–200 characters/);

  // Found by a word; filtered by status.
  await page.getByLabel("Words").fill("fire");
  await page.getByRole("button", { name: "Filter" }).click();
  assert.match(await page.getByTestId("items").textContent(), /T-1/);
  await page.getByLabel("Status").selectOption("open");
  await page.getByRole("button", { name: "Filter" }).click();
  assert.ok(await page.getByTestId("no-items").isVisible(), "it is resolved, not open");
  await page.screenshot({ path: "test-results/tickets.png", fullPage: true });

  // Requests have their own list and lines.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Requests" }).click();
  const request = page.getByRole("region", { name: "New request" });
  await request.getByLabel("Title").fill("New laptop for Sam");
  await request.getByLabel("Category").fill("hardware");
  await page.getByRole("button", { name: "File request" }).click();
  assert.match(await page.locator(".flash-success").textContent(), /R-1 filed/);
  assert.equal((await page.getByTestId("item-status").textContent()).trim(), "submitted");
  const moves = await page.getByLabel("Move to").locator("option").allTextContents();
  assert.deepEqual(moves, ["under review", "in progress", "cancelled"]);

  // The overview counts them, with a chart of the tickets by status.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Overview" }).click();
  const dashboard = page.getByTestId("workspace-dashboard");
  assert.match(await dashboard.textContent(), /0 tickets open · 1 requests open/);
  assert.ok(await dashboard.getByRole("img", { name: "Tickets by status" }).isVisible());
  assert.match(await dashboard.getByRole("table").first().textContent(), /resolved\s*1/);
  await page.screenshot({ path: "test-results/overview.png", fullPage: true });
  assert.deepEqual(errors, [], "no console errors or CSP violations");
  await context.close();
});

test("a project is planned with milestones whose progress adds up", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchForErrors(page);
  await signIn(page, hub);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Projects" }).click();
  assert.ok(await page.getByTestId("no-projects").isVisible());
  const form = page.getByRole("region", { name: "New project" });
  await form.getByLabel("Name").fill("Office move");
  await form.getByLabel("Start date").fill("2026-12-01");
  await form.getByLabel("Due date").fill("2027-01-31");
  await form.getByRole("button", { name: "Start project" }).click();
  assert.match(await page.locator(".flash-success").textContent(), /Office move started/);
  for (const title of ["Pack", "Move"]) {
    await page.getByLabel("New milestone").fill(title);
    await page.getByRole("button", { name: "Add milestone" }).click();
    assert.match(await page.locator(".flash-success").textContent(), new RegExp(`Milestone ${title} added`));
  }
  await page.getByLabel("Progress of Pack").fill("100");
  await page.getByRole("button", { name: "Save Pack" }).click();
  await page.getByLabel("Progress of Move").fill("50");
  await page.getByRole("button", { name: "Save Move" }).click();
  assert.equal((await page.getByTestId("project-progress").textContent()).trim(), "75%");
  assert.match(await page.getByTestId("milestones").textContent(), /Pack\s*done/);
  // The form refuses a progress over 100 before sending it (the server checks it too).
  await page.getByLabel("Progress of Move").fill("150");
  assert.equal(await page.getByLabel("Progress of Move").evaluate((el) => el.checkValidity()), false);
  await page.getByLabel("Progress of Move").fill("50");
  await page.getByLabel("Move to").selectOption("active");
  await page.getByRole("button", { name: "Change status" }).click();
  assert.equal((await page.getByTestId("project-status").textContent()).trim(), "active");
  assert.match(await page.getByTestId("activity").textContent(), /milestone added: Pack/);
  await page.screenshot({ path: "test-results/project.png", fullPage: true });
  assert.deepEqual(errors, [], "no console errors or CSP violations");
  await context.close();
});

test("the assistant's memory is kept, searched and forgotten in the console", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchForErrors(page);
  await signIn(page, hub);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Memory" }).click();
  assert.ok(await page.getByTestId("no-facts").isVisible());
  const remember = async (text, scope) => {
    await page.getByLabel("Fact", { exact: true }).fill(text);
    await page.getByLabel("For", { exact: true }).selectOption(scope);
    await page.getByRole("button", { name: "Remember" }).click();
  };
  await remember("Backups run every night at 02:00 to the NAS", "organization");
  assert.match(await page.locator(".flash-success").textContent(), /Remembered/);
  await remember("I prefer answers in bullet points", "user");
  await remember("backups run every night at 02:00 to the NAS", "organization");
  assert.match(await page.locator(".flash-info").textContent(), /already remembered/);
  await remember("The admin password: Summer2024!", "organization");
  assert.match(await page.locator(".flash-error").textContent(), /credential/);
  assert.equal(await page.getByTestId("facts").locator("li").count(), 2, "the secret was not kept");

  await page.getByLabel("Words").fill("when do the backups run");
  await page.getByRole("button", { name: "Recall" }).click();
  const found = await page.getByTestId("facts").textContent();
  assert.match(found, /Backups run every night/);
  assert.doesNotMatch(found, /bullet points/);
  await page.screenshot({ path: "test-results/memory.png", fullPage: true });

  await page.getByRole("link", { name: "Show all" }).click();
  await page.getByRole("button", { name: "Forget: I prefer answers in bullet points" }).click();
  assert.match(await page.locator(".flash-success").textContent(), /Forgotten/);
  assert.equal(await page.getByTestId("facts").locator("li").count(), 1);
  assert.deepEqual(errors, [], "no console errors or CSP violations");
  await context.close();
});

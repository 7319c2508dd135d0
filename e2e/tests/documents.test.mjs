// The document library as people use it: a member uploads a PDF (through the page's upload
// with progress), finds it by a word from its body with the word highlighted, reads its text,
// downloads the very file, tags it and filters by the tag; an admin deletes it.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { launchBrowser, ROOT, setupViaApi, signIn, startHub, watchForErrors } from "../lib/hub.mjs";

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

const PDF = join(ROOT, "testdata", "documents", "password-policy.pdf");

test("upload a PDF, find it by a word from its body, download, tag and delete it", async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors = watchForErrors(page);
  await signIn(page, hub);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Documents" }).click();
  await page.waitForURL(hub.base + "/documents");
  assert.equal(await page.title(), "Documents · Switchboard");
  assert.ok(await page.getByTestId("no-documents").isVisible(), "an empty library says so");

  // The page uploads through the API (with a progress bar), then opens the document.
  const upload = page.getByRole("region", { name: "Upload a document" });
  await upload.getByLabel("File").setInputFiles(PDF);
  await upload.getByLabel("Tags").fill("Policy, security");
  const [posted] = await Promise.all([
    page.waitForResponse((r) => r.url() === hub.base + "/api/v1/documents" && r.request().method() === "POST"),
    upload.getByRole("button", { name: "Upload" }).click(),
  ]);
  assert.equal(posted.status(), 201);
  await page.waitForURL(/\/documents\/[0-9a-f-]{36}$/);
  assert.equal((await page.getByRole("heading", { level: 1 }).textContent()).trim(), "password-policy.pdf");
  assert.match(await page.locator(".lede").textContent(), /^pdf · \d+ (B|KB) · uploaded/);
  assert.match(await page.getByTestId("document-text").textContent(), /at least 14 characters long/);
  assert.match(await page.getByTestId("activity").textContent(), /created/);
  await page.screenshot({ path: "test-results/document.png", fullPage: true });

  // Found by a word that is only in its body; the word is highlighted.
  await page.getByRole("link", { name: "← All documents" }).click();
  await page.getByLabel("Words").fill("passphrase");
  await page.getByRole("button", { name: "Search" }).click();
  const results = page.getByTestId("search-results");
  assert.equal(await results.locator("li").count(), 1);
  assert.equal((await results.locator("mark").first().textContent()).toLowerCase(), "passphrase");
  assert.match(await results.textContent(), /password-policy\.pdf/);
  await page.screenshot({ path: "test-results/document-search.png", fullPage: true });
  await page.getByLabel("Words").fill("kangaroo");
  await page.getByRole("button", { name: "Search" }).click();
  assert.ok(await page.getByTestId("no-matches").isVisible());

  // The download is the very file.
  await page.getByRole("link", { name: "password-policy.pdf" }).click();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download").click()]);
  assert.equal(download.suggestedFilename(), "password-policy.pdf");
  assert.deepEqual(readFileSync(await download.path()), readFileSync(PDF));

  // Tags change, and filter the list.
  await page.getByLabel("Tags").fill("policy, passwords");
  await page.getByRole("button", { name: "Save tags" }).click();
  assert.match(await page.locator(".flash-success").textContent(), /Tags saved/);
  assert.match(await page.getByTestId("activity").textContent(), /changed tags: policy, security → passwords, policy/);
  await page.goto(hub.base + "/documents?tag=passwords");
  assert.equal(await page.getByTestId("documents").locator("tbody tr").count(), 1);
  await page.goto(hub.base + "/documents?tag=security");
  assert.ok(await page.getByTestId("no-documents").isVisible());

  // The owner deletes it; it is gone from the list and from search.
  await page.goto(hub.base + "/documents");
  await page.getByTestId("documents").getByRole("link", { name: "password-policy.pdf" }).click();
  await page.getByRole("button", { name: "Delete document" }).click();
  assert.match(await page.locator(".flash-success").textContent(), /deleted/);
  assert.ok(await page.getByTestId("no-documents").isVisible());
  assert.deepEqual(errors, [], "no console errors or CSP violations");
  await context.close();
});

test("without scripts the form still uploads, and bad files are refused with the reason", async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, hub);
  await page.goto(hub.base + "/documents");
  const upload = page.getByRole("region", { name: "Upload a document" });
  await upload.getByLabel("File").setInputFiles({ name: "empty.txt", mimeType: "text/plain", buffer: Buffer.alloc(0) });
  await upload.getByRole("button", { name: "Upload" }).click();
  assert.match(await page.locator(".flash-error").textContent(), /The file is empty/);
  await upload.getByLabel("File").setInputFiles({ name: "wifi.md", mimeType: "text/markdown", buffer: Buffer.from("# Guest Wi-Fi\n\nThe **voucher** printer is at reception.") });
  await upload.getByLabel("Tags").fill("not a/tag");
  await upload.getByRole("button", { name: "Upload" }).click();
  assert.match(await page.locator(".flash-error").textContent(), /is not a tag/);
  await upload.getByLabel("File").setInputFiles({ name: "wifi.md", mimeType: "text/markdown", buffer: Buffer.from("# Guest Wi-Fi\n\nThe **voucher** printer is at reception.") });
  await upload.getByRole("button", { name: "Upload" }).click();
  await page.waitForURL(/\/documents\/[0-9a-f-]{36}$/);
  assert.match(await page.locator(".flash-success").textContent(), /Uploaded wifi\.md/);
  assert.match(await page.getByTestId("document-text").textContent(), /The voucher printer is at reception/);
  await context.close();
});

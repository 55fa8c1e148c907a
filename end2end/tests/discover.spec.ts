// Discover (promise P10): publishing is off until the owner confirms what becomes public, types
// the app's name and proves who they are; the publish check blocks a file with a secret; the
// gallery shows the app to anyone signed out until it is unpublished; a signed receipt of each
// verifies; and another person remixes an app whose owner allows it.
import { readFileSync } from "node:fs";
import type { Page } from "@playwright/test";
import { expect, hydrated, seriousViolations, test } from "./fixtures";
import { confirmWithPassword, makeStarterApp, signIn, signUpVerified, uploadFiles } from "./helpers";

async function uploadScript(page: Page, text: string) {
  await uploadFiles(page, [{ name: "app.js", mimeType: "text/javascript", buffer: Buffer.from(text) }]);
}

/** Opens the publish confirmation and fills it in. */
async function confirmPublishing(page: Page, name: string, remix = false) {
  const section = page.getByRole("region", { name: "Publish to Discover" });
  await section.getByText("Publish to Discover…").click();
  if (remix) await section.getByLabel("Allow remixing").check();
  await section.getByLabel("Type the app's name to confirm").fill(name);
  return section;
}

test("publish after the check and sudo, find it signed out, unpublish it, verify the receipts", async ({
  page,
  browser,
  problems,
}) => {
  test.setTimeout(150_000);
  const email = `publisher-${Date.now()}@example.com`;
  await signUpVerified(page, email);
  await signIn(page, email);
  const signedInAt = Date.now();
  const name = `Weather board ${Date.now()}`;
  const appPage = await makeStarterApp(page, name);
  const section = page.getByRole("region", { name: "Publish to Discover" });
  await expect(section.getByText("Not published: only you, your collaborators")).toBeVisible();

  // A script with a key in it: the check blocks publishing and names the file and line.
  await uploadScript(page, "const a = 1;\nconst key = 'sk-proj-abcdefghijklmnopqrstuvwx';\n");
  await confirmPublishing(page, name);
  await expect(section.getByRole("region", { name: "What becomes public" })).toContainText("The author name you give below");
  await expect(section.getByRole("region", { name: "What stays private" })).toContainText("Prompts and secrets");
  expect(await seriousViolations(page)).toEqual([]);
  await section.getByLabel("Type the app's name to confirm").fill("not the name");
  await section.getByRole("button", { name: "Publish" }).click();
  await expect(page.getByText("Type the app's name exactly as it is shown, to confirm.")).toBeVisible();
  await section.getByLabel("Type the app's name to confirm").fill(name);
  await section.getByRole("button", { name: "Publish" }).click();
  const findings = section.getByRole("table", { name: "What the check found" });
  await expect(findings.getByRole("row", { name: /app\.js 2 An API secret key/ })).toBeVisible();
  await expect(section.getByLabel("Reason to publish anyway")).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);

  // Fixed, and past the sudo window: publishing asks who it is, then goes on.
  await uploadScript(page, "document.body.dataset.ready = 'yes';\n");
  await page.waitForTimeout(Math.max(0, signedInAt + 61_000 - Date.now()));
  await confirmPublishing(page, name);
  await section.getByRole("button", { name: "Publish" }).click();
  await confirmWithPassword(page);
  await expect(page).toHaveURL(/notice=app-published/);
  await hydrated(page);
  await expect(section.getByRole("status")).toContainText("On Discover since");

  // Signed out, in another browser: on the gallery, briefly cacheable and indexable.
  const stranger = await browser.newContext();
  const visitor = await stranger.newPage();
  const gallery = await visitor.goto("/discover");
  expect(gallery?.status()).toBe(200);
  expect(gallery?.headers()["cache-control"]).toBe("private, max-age=60");
  expect(gallery?.headers()["x-robots-tag"]).toBeUndefined();
  await hydrated(visitor);
  expect(await seriousViolations(visitor)).toEqual([]);
  await visitor.getByLabel("Search apps").fill(name);
  await visitor.getByRole("button", { name: "Search" }).click();
  await visitor.getByRole("link", { name }).click();
  await expect(visitor.getByRole("heading", { name, level: 1 })).toBeVisible();
  await expect(visitor.frameLocator("iframe").getByRole("heading", { name: "Hello from your app" })).toBeVisible();
  const publicPage = new URL(visitor.url()).pathname;
  expect(await seriousViolations(visitor)).toEqual([]);

  // Unpublished in one click: gone from a fresh signed-out request at once.
  await page.goto(appPage);
  await hydrated(page);
  await section.getByRole("button", { name: "Unpublish" }).click();
  await expect(page.getByText(/Unpublished: the app left Discover/)).toBeVisible();
  const fresh = await browser.newContext();
  const after = await fresh.request.get(publicPage);
  expect(after.status()).toBe(404);
  const listed = await (await fresh.request.get(`/discover?q=${encodeURIComponent(name)}`)).text();
  expect(listed).not.toContain(publicPage);
  expect(listed).toContain("No published app matches");
  await fresh.close();
  await stranger.close();

  // Each receipt downloads and verifies; an edited one does not.
  await hydrated(page);
  const receipts = page.getByRole("table", { name: "Receipts" });
  await expect(receipts.getByRole("row")).toHaveCount(3);
  const download = page.waitForEvent("download");
  await receipts.getByRole("link", { name: /Download the receipt: Published/ }).click();
  const receipt = readFileSync((await (await download).path())!, "utf8");
  await page.goto("/privacy/verify-receipt");
  await hydrated(page);
  await page.getByLabel("Receipt").fill(receipt);
  await page.getByRole("button", { name: "Verify receipt" }).click();
  await expect(page.getByText("Genuine: Custodian signed this publication receipt")).toBeVisible();
  await page.getByLabel("Receipt").fill(receipt.replace(name, "Another app"));
  await page.getByRole("button", { name: "Verify receipt" }).click();
  await expect(page.getByText(/Not genuine/)).toBeVisible();
  expect(problems).toEqual([]);
});

test("another person remixes a published app into a private app of their own", async ({
  page,
  browser,
  problems,
}) => {
  test.setTimeout(90_000);
  const owner = `remixable-${Date.now()}@example.com`;
  await signUpVerified(page, owner);
  await signIn(page, owner);
  const name = `Remixable ${Date.now()}`;
  await makeStarterApp(page, name);
  const section = await confirmPublishing(page, name, true);
  await section.getByRole("button", { name: "Publish" }).click();
  await expect(page).toHaveURL(/notice=app-published/);
  await hydrated(page);
  await section.getByRole("link", { name: "Open its Discover page" }).click();
  await expect(page).toHaveURL(/\/discover\/[0-9a-f-]{36}$/);
  const publicPage = new URL(page.url()).pathname;

  const other = await browser.newContext();
  const them = await other.newPage();
  const email = `remixer-${Date.now()}@example.com`;
  await signUpVerified(them, email);
  await signIn(them, email);
  await them.goto(publicPage);
  await hydrated(them);
  await them.getByRole("button", { name: "Remix into my apps" }).click();
  await expect(them).toHaveURL(/\/apps\/[0-9a-f-]{36}\?notice=app-remixed/);
  await hydrated(them);
  await expect(them.getByRole("heading", { name: `${name} (remix)`, level: 1 })).toBeVisible();
  await expect(them.getByText(new RegExp(`A remix of .${name}., /discover/`))).toBeVisible();
  await expect(them.frameLocator("iframe").getByRole("heading", { name: "Hello from your app" })).toBeVisible();
  await expect(them.getByRole("region", { name: "Publish to Discover" }).getByText("Not published")).toBeVisible();
  expect(await seriousViolations(them)).toEqual([]);
  await other.close();
  expect(problems).toEqual([]);
});

// Your data (promise P8): export everything as a signed archive, built in the background with
// live progress, announced by mail, downloaded in sudo mode and readable offline.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, hydrated, seriousViolations, test } from "./fixtures";
import { confirmWithPassword, mailText as mailTo, signIn, signUpVerified } from "./helpers";

test("export everything: sudo, live progress, mail, download, a manifest that matches, an offline viewer", async ({
  page,
  problems,
}) => {
  // Past the server's one-minute sudo window, so that the request asks who it is.
  test.setTimeout(150_000);
  const email = `export-${Date.now()}@example.com`;
  await signUpVerified(page, email);
  await signIn(page, email);
  await page.waitForTimeout(61_000);

  await page.getByRole("link", { name: "Your data" }).click();
  await expect(page).toHaveURL(/\/data$/);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Your data", level: 1 })).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
  await expect(page.getByText("You have not exported your data yet.")).toBeVisible();

  await page.getByRole("button", { name: "Export all my data" }).click();
  await confirmWithPassword(page);
  await expect(page).toHaveURL(/notice=export-started/);
  await expect(page.getByRole("progressbar", { name: /Progress of the export/ })).toBeVisible();
  // The page follows the build without a reload until it is ready.
  await expect(page.getByText("Status: Ready")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole("progressbar")).toHaveCount(0);
  await expect(page.getByText(/KB · made .* · kept until /)).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);

  // The mail says it is ready and points to the page, never to the file.
  await expect.poll(() => mailTo(email, "Your data export is ready"), { timeout: 15_000 }).not.toBe("");
  const mail = mailTo(email, "Your data export is ready");
  expect(mail).toContain("/data");
  expect(mail).not.toContain("/archive");

  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: /Download the export of/ }).click();
  const archive = await download;
  expect(archive.suggestedFilename()).toMatch(/^custodian-export-\d{4}-\d{2}-\d{2}\.zip$/);
  const zip = await archive.path();

  // Unzipped with Python's standard library, as anyone could.
  const folder = mkdtempSync(path.join(tmpdir(), "custodian-export-"));
  execFileSync("python3", ["-m", "zipfile", "-e", zip, folder]);
  const manifest = JSON.parse(readFileSync(path.join(folder, "manifest.json"), "utf8"));
  expect(manifest.files.length).toBeGreaterThan(10);
  for (const file of manifest.files) {
    const bytes = readFileSync(path.join(folder, file.path));
    expect(bytes.length, file.path).toBe(file.bytes);
    expect(createHash("sha256").update(bytes).digest("hex"), file.path).toBe(file.sha256);
    if (file.records !== null) expect(JSON.parse(bytes.toString("utf8")).length, file.path).toBe(file.records);
  }
  const profile = JSON.parse(readFileSync(path.join(folder, "account", "profile.json"), "utf8"));
  expect(profile[0].email).toBe(email);

  // The viewer opens from the folder, with no network, and shows the account in a table.
  await page.goto(`file://${path.join(folder, "README.html")}`);
  await expect(page.getByRole("heading", { name: "Your Custodian data", level: 1 })).toBeVisible();
  await expect(page.getByRole("table", { name: "Profile" }).getByRole("cell", { name: email })).toBeVisible();
  await expect(page.getByRole("table", { name: "Every kind of personal data Custodian holds" })).toContainText(
    "Password hash",
  );

  // The download is in the security log; deleting the export removes it at once.
  await page.goto("/security");
  await hydrated(page);
  await expect(page.getByRole("cell", { name: "Data export downloaded" }).first()).toBeVisible();
  await page.goto("/data");
  await hydrated(page);
  await page.getByRole("button", { name: /Delete the export of/ }).click();
  await expect(page).toHaveURL(/notice=export-deleted/);
  await expect(page.getByText("Status: Deleted")).toBeVisible();
  await expect(page.getByRole("link", { name: /Download the export of/ })).toHaveCount(0);
  expect(problems).toEqual([]);
});

test("a download after the sudo window asks who it is, then starts", async ({ page, problems }) => {
  test.setTimeout(150_000);
  const email = `export-later-${Date.now()}@example.com`;
  await signUpVerified(page, email);
  await signIn(page, email);
  await page.goto("/data");
  await hydrated(page);
  // Just signed in: no prompt for the request.
  await page.getByRole("button", { name: "Export all my data" }).click();
  await expect(page).toHaveURL(/notice=export-started/);
  await expect(page.getByText("Status: Ready")).toBeVisible({ timeout: 30_000 });

  await page.waitForTimeout(61_000);
  await page.getByRole("link", { name: /Download the export of/ }).click();
  await expect(page).toHaveURL(/notice=confirm-to-download&download=/);
  await hydrated(page);
  await expect(page.getByText("Confirm it is you, then download the archive.")).toBeVisible();
  const download = page.waitForEvent("download");
  await confirmWithPassword(page);
  expect((await download).suggestedFilename()).toMatch(/^custodian-export-.*\.zip$/);
  expect(problems).toEqual([]);
});

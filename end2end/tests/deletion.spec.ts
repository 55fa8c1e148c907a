// Deleting the account (promise P8): the page says what happens and when, the request needs
// sudo and the typed address, the account is locked at once, signing in during the grace period
// shows only "Cancel deletion" and "Sign out", and at the end of the grace period (brought
// forward by the operator's command) the purge mails a receipt the verify page accepts.
import { execFileSync } from "node:child_process";
import path from "node:path";
import type { Page } from "@playwright/test";
import { expect, hydrated, seriousViolations, test } from "./fixtures";
import { mailText as mailTo, password, signIn, signUpVerified } from "./helpers";

const root = path.join(__dirname, "..", "..");
const dataDir = path.join(root, "target", "e2e-data");

/** Asks for deletion from the Delete my account page (sudo is still open from signing in). */
async function requestDeletion(page: Page, email: string) {
  await page.goto("/data/delete");
  await hydrated(page);
  await page.getByLabel("Type your email address to confirm").fill(email);
  await page.getByRole("button", { name: "Delete my account" }).click();
  await expect(page).toHaveURL(/\/deletion-scheduled\?on=\d{4}-\d{2}-\d{2}&seal=/);
}

test("delete an account: sudo and the typed address, locked, cancelled, deleted again, purged with a receipt", async ({
  page,
  problems,
}) => {
  test.setTimeout(90_000);
  const email = `leaving-${Date.now()}@example.com`;
  await signUpVerified(page, email);
  await signIn(page, email);

  await page.getByRole("link", { name: "Your data" }).click();
  await hydrated(page);
  await page.getByRole("link", { name: "Delete my account" }).click();
  await expect(page).toHaveURL(/\/data\/delete$/);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Delete my account", level: 1 })).toBeVisible();
  await expect(page.getByText(/On \d{4}-\d{2}-\d{2} \(in 14 days\)/)).toBeVisible();
  await expect(page.getByText(/Backups are kept at most 14 days/)).toBeVisible();
  await expect(page.getByRole("link", { name: "Export my data first" })).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);

  // A wrong address is refused next to the field, and nothing happens.
  const field = page.getByLabel("Type your email address to confirm");
  await field.fill("someone-else@example.com");
  await page.getByRole("button", { name: "Delete my account" }).click();
  await expect(page.getByText("That is not the address of this account. Type it exactly as shown.")).toBeVisible();
  await expect(field).toHaveAttribute("aria-invalid", "true");

  await field.fill(email);
  await page.getByRole("button", { name: "Delete my account" }).click();
  await expect(page).toHaveURL(/\/deletion-scheduled\?on=/);
  await hydrated(page);
  await expect(page.getByText(/Your account will be deleted for good on \d{4}-\d{2}-\d{2}\./)).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
  await expect.poll(() => mailTo(email, "Your account will be deleted"), { timeout: 15_000 }).toContain("Cancel deletion");

  // Signed out everywhere; signing in leads to the one page, and every other page leads back.
  await page.goto("/account");
  await expect(page).toHaveURL(/\/signin/);
  await signIn(page, email, password, /\/data\/deletion$/);
  await hydrated(page);
  const main = page.getByRole("main");
  await expect(main.getByText(/Your account is scheduled for deletion on \d{4}-\d{2}-\d{2}/)).toBeVisible();
  await expect(main.getByRole("button", { name: "Sign out" })).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
  for (const elsewhere of ["/account", "/security", "/data", "/privacy"]) {
    await page.goto(elsewhere);
    await expect(page).toHaveURL(/\/data\/deletion$/);
  }
  await hydrated(page);
  await page.getByRole("button", { name: "Cancel deletion" }).click();
  await expect(page).toHaveURL(/\/data\?notice=deletion-cancelled/);
  await expect(page.getByText("The deletion is cancelled: your account is as it was.")).toBeVisible();
  await page.goto("/account");
  await expect(page).toHaveURL(/\/account$/);

  // Deleted again, and the end of the grace period brought forward by the operator.
  await requestDeletion(page, email);
  const afterGrace = new Date(Date.now() + 15 * 24 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, "Z");
  execFileSync(
    path.join(root, "target", "release", "custodian"),
    ["deletion", "run-due", "--as-of", afterGrace, "--data-dir", dataDir],
    { env: process.env, encoding: "utf8", cwd: root },
  );
  await expect
    .poll(() => mailTo(email, "Your account is deleted: your deletion receipt"), { timeout: 15_000 })
    .not.toBe("");
  const mail = mailTo(email, "Your account is deleted: your deletion receipt");
  const receipt = mail.slice(mail.indexOf("{"), mail.lastIndexOf("}") + 1);
  expect(JSON.parse(receipt).deletion.dataKeyDestroyed).toBe(true);

  // The address is gone: signing in says so as for any unknown address.
  await page.goto("/signin");
  await hydrated(page);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByText("The email address or password is not right.")).toBeVisible();

  // The mailed receipt verifies; edited, it does not.
  await page.goto("/privacy/verify-receipt");
  await hydrated(page);
  await page.getByLabel("Receipt").fill(receipt);
  await page.getByRole("button", { name: "Verify receipt" }).click();
  await expect(page.getByText("Genuine: Custodian signed this deletion receipt and nothing in it has changed.")).toBeVisible();
  await page.getByLabel("Receipt").fill(receipt.replace('"dataKeyDestroyed": true', '"dataKeyDestroyed": false'));
  await page.getByRole("button", { name: "Verify receipt" }).click();
  await expect(page.getByText(/Not genuine/)).toBeVisible();

  // The Privacy page states the figures the server runs with.
  await page.goto("/privacy");
  await hydrated(page);
  await expect(
    page.getByText(
      "Account deletion: hard delete 14 days after your request; backups kept at most 14 days; deleted accounts are removed from restored backups before they are used.",
    ),
  ).toBeVisible();
});

// Consent, GPC, policies and receipts, as a person meets them in the browser.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BrowserContext, Page } from "@playwright/test";
import { test, expect, hydrated, seriousViolations } from "./fixtures";
import { signIn, signUp } from "./helpers";

const banner = (page: Page) => page.getByRole("region", { name: "Cookies on Custodian" });

async function cookieNames(context: BrowserContext): Promise<string[]> {
  return (await context.cookies()).map((c) => c.name);
}

test("a first visit shows the banner, with equal choices, and axe finds nothing serious", async ({ page, problems }) => {
  await page.goto("/");
  await hydrated(page);
  const region = banner(page);
  await expect(region).toBeVisible();
  for (const name of ["Accept all", "Reject all"]) {
    await expect(region.getByRole("button", { name })).toBeVisible();
  }
  await expect(region.getByText("Customize")).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
  await region.getByText("Customize").click();
  await expect(region.getByRole("switch", { name: "Analytics" })).not.toBeChecked();
  expect(await seriousViolations(page)).toEqual([]);
  expect(problems).toEqual([]);
});

test("after Reject all a dark theme applies to the page but writes no cookie; after Accept it is kept", async ({ page, context, problems }) => {
  await page.goto("/");
  await hydrated(page);
  await banner(page).getByRole("button", { name: "Reject all" }).click();
  await expect(banner(page)).toHaveCount(0);
  expect(await cookieNames(context)).toContain("custodian_consent");

  await page.getByLabel("Theme").selectOption("dark");
  await page.getByRole("button", { name: "Apply theme" }).click();
  await expect(page.getByText("Applied to this page only")).toBeVisible();
  await expect(page.locator("html")).toHaveClass("dark");
  expect(await cookieNames(context)).not.toContain("custodian_theme");

  // Reopened from the footer: withdrawing or giving is as easy as the first time.
  await page.getByRole("link", { name: "Cookie settings" }).click();
  await banner(page).getByRole("button", { name: "Accept all" }).click();
  await expect(banner(page)).toHaveCount(0);
  await page.getByLabel("Theme").selectOption("dark");
  await page.getByRole("button", { name: "Apply theme" }).click();
  await expect(page.getByText("Theme saved on this device.")).toBeVisible();
  expect(await cookieNames(context)).toContain("custodian_theme");
  await page.reload();
  await expect(page.locator("html")).toHaveClass("dark");
  expect(problems).toEqual([]);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the banner's buttons work and the choice takes effect", async ({ page, context }) => {
    await page.goto("/privacy");
    await banner(page).getByText("Customize").click();
    await banner(page).getByRole("switch", { name: "Functional" }).check();
    await banner(page).getByRole("button", { name: "Save my choices" }).click();
    await expect(banner(page)).toHaveCount(0);
    await expect(page.getByRole("switch", { name: "Functional" })).toBeChecked();
    await expect(page.getByRole("switch", { name: "Analytics" })).not.toBeChecked();
    expect(await cookieNames(context)).toContain("custodian_consent");
  });
});

test.describe("with Global Privacy Control", () => {
  test.use({ extraHTTPHeaders: { "Sec-GPC": "1" } });

  test("the privacy page reports GPC honored and the ledger has a GPC record", async ({ page, problems }) => {
    await page.goto("/privacy");
    await hydrated(page);
    await expect(page.getByText("Your browser sends GPC: honored.")).toBeVisible();
    const history = page.getByRole("table");
    await expect(history.getByRole("cell", { name: "Global Privacy Control (GPC sent)" })).toHaveCount(1);

    // An explicit opt-in to analytics and sale: GPC still wins, and the page says so.
    await banner(page).getByRole("button", { name: "Accept all" }).click();
    await expect(page.getByText("GPC wins")).toBeVisible();
    await page.reload();
    await expect(page.getByRole("table").getByRole("cell", { name: "Global Privacy Control (GPC sent)" })).toHaveCount(1);
    expect(problems).toEqual([]);
  });
});

test("a downloaded receipt verifies, and an edited one does not", async ({ page, problems }) => {
  await page.goto("/privacy");
  await hydrated(page);
  await banner(page).getByRole("button", { name: "Accept all" }).click();
  await expect(banner(page)).toHaveCount(0);
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: /Download receipt of/ }).first().click();
  const file = await (await download).path();
  const receipt = readFileSync(file!, "utf8");
  expect(JSON.parse(receipt).signature.alg).toBe("Ed25519");

  await page.getByRole("link", { name: "Verify a receipt" }).click();
  await hydrated(page);
  await page.getByLabel("Receipt").fill(receipt);
  await page.getByRole("button", { name: "Verify receipt" }).click();
  await expect(page.getByText("Genuine: Custodian signed this receipt")).toBeVisible();

  await page.getByLabel("Receipt").fill(receipt.replace('"consentGiven": true', '"consentGiven": false'));
  await page.getByRole("button", { name: "Verify receipt" }).click();
  await expect(page.getByText("Not genuine")).toBeVisible();

  await page.getByLabel("Receipt").fill(receipt.slice(0, 200));
  await page.getByRole("button", { name: "Verify receipt" }).click();
  await expect(page.getByText("This is not a readable receipt.")).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
  expect(problems).toEqual([]);
});

test("a material change asks a signed-in person to review it until they do", async ({ page, problems }) => {
  const email = `review-${Date.now()}@example.com`;
  await signUp(page, email);
  await signIn(page, email);
  await banner(page).getByRole("button", { name: "Reject all" }).click();

  const dir = mkdtempSync(path.join(os.tmpdir(), "policy-"));
  const file = path.join(dir, "terms.md");
  writeFileSync(file, "# Terms of service\n\nApps you publish can now be exported.\n");
  execFileSync(
    path.join(__dirname, "..", "..", "target", "release", "custodian"),
    ["policy", "publish", "--document", "terms", "--file", file, "--summary", "Exports of published apps.", "--material"],
    { env: process.env },
  );

  await page.reload();
  await hydrated(page);
  const review = page.getByRole("region", { name: "Terms of service changed" });
  await expect(review).toContainText("Exports of published apps.");
  await page.goto("/privacy");
  await expect(review).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
  await review.getByRole("button", { name: "I have reviewed the Terms of service" }).click();
  await expect(review).toHaveCount(0);
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Privacy" })).toBeVisible();
  await expect(review).toHaveCount(0);
  expect(problems).toEqual([]);
});

test("the policies show their version, date and history", async ({ page, problems }) => {
  await page.goto("/policies/cookies");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Cookie policy" })).toBeVisible();
  await expect(page.getByText(/Version \d+ · Last updated \d{4}-\d{2}-\d{2}/)).toBeVisible();
  await expect(page.getByRole("cell", { name: "custodian_consent", exact: true })).toBeVisible();
  await page.getByRole("link", { name: "Earlier versions" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Cookie policy: all versions" })).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
  expect(problems).toEqual([]);
});

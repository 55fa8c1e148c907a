// Data regions (promise P11): an account lives in the region chosen at sign-up, the pages say
// where, and a signed attestation proves it.
import { readFileSync } from "node:fs";
import { expect, hydrated, seriousViolations, test } from "./fixtures";
import { inviteCode, password, signIn } from "./helpers";
import type { Page } from "@playwright/test";

async function signUpIn(page: Page, email: string, region: "US-East" | "EU-West") {
  await page.goto(`/signup?invite=${inviteCode()}`);
  await hydrated(page);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Display name").fill("Ada");
  await page.getByLabel("Password", { exact: true }).fill(password);
  await expect(page.getByText(/Strength: (Strong|Very strong)/)).toBeVisible();
  await page.getByRole("radio", { name: region }).check();
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/signin\?notice=signed-up/);
  await signIn(page, email);
}

test("accounts of two regions work side by side, each shown and attested where it lives", async ({
  browser,
  page,
  problems,
}) => {
  const stamp = Date.now();
  await signUpIn(page, `eu-${stamp}@example.com`, "EU-West");
  const other = await browser.newContext();
  const usPage = await other.newPage();
  await signUpIn(usPage, `us-${stamp}@example.com`, "US-East");

  await expect(page.getByRole("heading", { name: "Your data region: EU-West" })).toBeVisible();
  await expect(usPage.getByRole("heading", { name: "Your data region: US-East" })).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);

  await page.goto("/privacy");
  await hydrated(page);
  const table = page.getByRole("table", { name: "What is kept where, and why" });
  await expect(table).toContainText("Only in your region, EU-West");
  await expect(table).toContainText("The directory, shared by every region");

  await page.goto("/account");
  await hydrated(page);
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download your residency attestation" }).click();
  const file = await (await download).path();
  const attestation = readFileSync(file, "utf8");
  expect(JSON.parse(attestation).attestation.region).toBe("eu-west");

  await page.goto("/privacy/verify-receipt");
  await hydrated(page);
  await page.getByLabel("Receipt").fill(attestation);
  await page.getByRole("button", { name: "Verify receipt" }).click();
  await expect(page.getByText("Genuine: Custodian signed this residency attestation")).toBeVisible();
  await page.getByLabel("Receipt").fill(attestation.replace("eu-west", "us-east"));
  await page.getByRole("button", { name: "Verify receipt" }).click();
  await expect(page.getByText("Not genuine")).toBeVisible();

  // Both sessions still work, each in its own region.
  await usPage.goto("/account");
  await expect(usPage.getByRole("heading", { name: "Your data region: US-East" })).toBeVisible();
  await other.close();
  expect(problems).toEqual([]);
});

test("a move to another region is requested from the account page", async ({
  page,
  problems,
}) => {
  await signUpIn(page, `mover-${Date.now()}@example.com`, "US-East");
  await page.getByLabel("Move my data to").selectOption({ label: "EU-West" });
  await page.getByRole("button", { name: "Request the move" }).click();
  await expect(page.getByText(/Your request to move your data was recorded/)).toBeVisible();
  await expect(page.getByText(/Move requested: EU-West/)).toBeVisible();
  expect(problems).toEqual([]);
});

// Issue 11 in the browser: a remembered device survives a browser restart, also after the id
// changed; "this wasn't me" signs out everywhere and the reset removes the sign-in methods; a
// return path never leads off the site.
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "@playwright/test";
import { test, expect, hydrated, seriousViolations } from "./fixtures";
import { confirmWithPassword, currentStep, linkFromMail, password, signIn, signUp, signUpVerified, totp } from "./helpers";

async function firstPage(context: BrowserContext): Promise<Page> {
  return context.pages()[0] ?? (await context.newPage());
}

test("a remembered device stays signed in when the browser restarts, also after confirming the password", async ({}, testInfo) => {
  const use = testInfo.project.use;
  const profile = mkdtempSync(path.join(os.tmpdir(), "custodian-profile-"));
  // A browser with a profile on disk, closed and opened again as a person would.
  const open = () => chromium.launchPersistentContext(profile, { ...use.launchOptions, baseURL: use.baseURL });
  const email = `remember-${Date.now()}@example.com`;

  let context = await open();
  let page = await firstPage(context);
  await signUpVerified(page, email);
  await page.goto("/signin");
  await hydrated(page);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Remember this device for 30 days").check();
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/account/);

  // Confirming the password moves the session to a new id; its cookie must stay remembered.
  await page.goto("/security/factors");
  await hydrated(page);
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  await confirmWithPassword(page);
  await expect(page.getByTestId("totp-secret")).toBeVisible();
  await context.close();

  context = await open();
  page = await firstPage(context);
  await page.goto("/account");
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { level: 1, name: "Account" })).toBeVisible();
  await context.close();
});

test("this wasn't me: every session ends, and the new password comes without the added sign-in methods", async ({ page, browser, problems }) => {
  const email = `not-me-${Date.now()}@example.com`;
  await signUpVerified(page, email);
  await signIn(page, email);

  // Someone signed in turns on an authenticator app.
  await page.goto("/security/factors");
  await hydrated(page);
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  await confirmWithPassword(page);
  const secret = (await page.getByTestId("totp-secret").textContent()) ?? "";
  await page.getByLabel("Code from the app").fill(totp(secret, currentStep()));
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByRole("list", { name: "Backup codes" }).getByRole("listitem")).toHaveCount(10);

  // The owner reads the mail on another device and says it was not them.
  const link = await linkFromMail(email, "An authenticator app was added to your account");
  const owner = await browser.newContext();
  const ownerPage = await owner.newPage();
  await ownerPage.goto(link);
  await hydrated(ownerPage);
  await expect(ownerPage.getByRole("heading", { level: 1, name: "This wasn't me" })).toBeVisible();
  expect(await seriousViolations(ownerPage)).toEqual([]);
  await ownerPage.getByRole("button", { name: "Sign out everywhere and secure my account" }).click();
  await expect(ownerPage).toHaveURL(/\/reset-password\?token=.*after=not-me/);
  await hydrated(ownerPage);
  await expect(ownerPage.getByText("Every session of your account was signed out.")).toBeVisible();
  const removal = ownerPage.getByLabel("Also remove all passkeys and authenticator apps");
  await expect(removal).toBeChecked();
  expect(await seriousViolations(ownerPage)).toEqual([]);
  const fresh = "plum orchard under quiet snow";
  await ownerPage.getByLabel("New password", { exact: true }).fill(fresh);
  await ownerPage.getByLabel("New password again").fill(fresh);
  await ownerPage.getByRole("button", { name: "Set the new password" }).click();
  await expect(ownerPage).toHaveURL(/notice=password-reset/);

  // The other device is signed out; the owner signs in with the password alone.
  await page.goto("/account");
  await expect(page).toHaveURL(/reason=ended/);
  await signIn(ownerPage, email, fresh);
  await ownerPage.goto("/security/factors");
  await expect(ownerPage.getByText("Off. Use an app such as Aegis")).toBeVisible();
  await owner.close();
  expect(problems).toEqual([]);
});

test("a return path that would leave the site leads to the account instead", async ({ page, problems }) => {
  const email = `next-${Date.now()}@example.com`;
  await signUpVerified(page, email);
  // A tab that browsers drop would turn "/<tab>/evil.example" into "//evil.example".
  await page.goto(`/signin?next=${encodeURIComponent("/\t/evil.example")}`);
  await hydrated(page);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/localhost:\d+\/account$/);
  expect(problems).toEqual([]);
});

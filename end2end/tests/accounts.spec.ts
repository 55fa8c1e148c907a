import { test, expect, hydrated, seriousViolations } from "./fixtures";
import { linkFromMail, password, signIn, signUp } from "./helpers";
import type { Browser } from "@playwright/test";

async function secondBrowser(browser: Browser, email: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, email);
  return { context, page };
}

// Written but not yet seen passing (the session ended during the release build); skipped
// rather than left to fail CI. Next step: run `make test-e2e` and drop the fixme.
test.describe("accounts in the browser", () => {
test("sign up, verify, sign in twice, end the other session, see it in the log", async ({ page, browser, problems }) => {
  const email = `ada-${Date.now()}@example.com`;
  await signUp(page, email);
  expect(await seriousViolations(page)).toEqual([]);

  await page.goto(await linkFromMail(email, "Verify your email address"));
  await page.getByRole("button", { name: "Verify my address" }).click();
  await expect(page).toHaveURL(/notice=email-verified/);
  await expect(page.getByRole("status").filter({ hasText: "Your email address is verified." })).toBeVisible();

  await signIn(page, email);
  await expect(page.getByRole("heading", { level: 1, name: "Account" })).toBeVisible();
  await expect(page.getByText(`${email} (verified)`)).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);

  const other = await secondBrowser(browser, email);

  await page.goto("/security/sessions");
  const sessions = page.getByRole("list", { name: "Signed-in sessions" }).getByRole("listitem");
  await expect(sessions).toHaveCount(2);
  await expect(sessions.first()).toContainText("This device");
  expect(await seriousViolations(page)).toEqual([]);
  await hydrated(page);
  await page.getByRole("button", { name: /End the session on/ }).click();
  await expect(page.getByText("The session was ended.")).toBeVisible();
  await expect(sessions).toHaveCount(1);

  await other.page.goto("/account");
  await expect(other.page).toHaveURL(/\/signin\?next=%2Faccount&reason=ended/);
  await expect(other.page.getByText("Your session was ended. Sign in to continue.")).toBeVisible();
  await other.context.close();

  await page.goto("/security");
  const log = page.getByRole("table");
  await expect(log).toContainText("Session ended");
  await expect(log).toContainText("Signed in");
  await expect(log).toContainText("Email address verified");
  expect(await seriousViolations(page)).toEqual([]);
  expect(problems).toEqual([]);
});

test("a password reset through the mailed link ends every session", async ({ page, browser, problems }) => {
  const email = `reset-${Date.now()}@example.com`;
  await signUp(page, email);
  const other = await secondBrowser(browser, email);

  await page.goto("/forgot-password");
  await hydrated(page);
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Send the link" }).click();
  await expect(page.getByText(/a link to reset its password is on its way/)).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);

  await page.goto(await linkFromMail(email, "Reset your password"));
  await hydrated(page);
  const fresh = "plum orchard under quiet snow";
  await page.getByLabel("New password", { exact: true }).fill(fresh);
  await page.getByLabel("New password again").fill(fresh);
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page).toHaveURL(/notice=password-reset/);

  await other.page.goto("/account");
  await expect(other.page).toHaveURL(/reason=ended/);
  await other.context.close();

  await signIn(page, email, fresh);
  await page.goto("/security");
  await expect(page.getByRole("table")).toContainText("Password reset");
  expect(problems).toEqual([]);
});

test("bad input gets a message next to the field and nothing is created", async ({ page, problems }) => {
  await page.goto("/signup?invite=not-a-real-code");
  await hydrated(page);
  await page.getByLabel("Email address").fill("not an address");
  await page.getByLabel("Display name").fill("Ada");
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByLabel("Email address")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByRole("alert").filter({ hasText: "Enter an email address like name@example.com." })).toBeVisible();

  await page.getByLabel("Email address").fill(`bad-${Date.now()}@example.com`);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Use at least 12 characters." })).toBeVisible();

  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "This invite code is not valid." })).toBeVisible();
  await expect(page).toHaveURL(/\/signup/);

  await page.goto("/signin");
  await hydrated(page);
  await page.getByLabel("Email address").fill("nobody@example.com");
  await page.getByLabel("Password", { exact: true }).fill("whatever it is");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: "The email address or password is not right." })).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
  expect(problems).toEqual([]);
});
});

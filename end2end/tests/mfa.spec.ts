import { readFileSync } from "node:fs";
import { test, expect, hydrated, seriousViolations } from "./fixtures";
import { confirmWithPassword, currentStep, password, signIn, signUpVerified, totp } from "./helpers";
import type { Page } from "@playwright/test";

/** Waits for the authenticator's next 30-second step. */
async function nextStep(page: Page, after: number) {
  while (currentStep() <= after) await page.waitForTimeout(500);
  return currentStep();
}

/** Signs in with the password only, which leads to the second step. */
async function passwordStep(page: Page, email: string) {
  await page.goto("/signin");
  await hydrated(page);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/signin\/verify/);
  await hydrated(page);
}

async function signOut(page: Page) {
  await page.goto("/account");
  await hydrated(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin\?notice=signed-out/);
}

async function openFactors(page: Page) {
  await page.goto("/security/factors");
  await hydrated(page);
}

test("authenticator app: enrol, sign in with a code, refuse it again, recover with a backup code", async ({ page, problems }) => {
  test.setTimeout(120_000);
  const email = `totp-${Date.now()}@example.com`;
  await signUpVerified(page, email);
  await signIn(page, email);
  await openFactors(page);
  expect(await seriousViolations(page)).toEqual([]);
  // Adding a sign-in method asks for the password again, even right after signing in.
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  await confirmWithPassword(page);
  const secret = (await page.getByTestId("totp-secret").textContent()) ?? "";
  expect(secret.replace(/\s/g, "")).toMatch(/^[A-Z2-7]{32}$/);
  await expect(page.getByRole("img", { name: "QR code of your authenticator setup" })).toBeVisible();
  await page.getByLabel("Code from the app").fill("000000" === totp(secret, currentStep()) ? "111111" : "000000");
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByText("That code is not right")).toBeVisible();
  const enrolledAt = currentStep();
  await page.getByLabel("Code from the app").fill(totp(secret, enrolledAt));
  await page.getByRole("button", { name: "Turn on" }).click();
  const codes = page.getByRole("list", { name: "Backup codes" }).getByRole("listitem");
  await expect(codes).toHaveCount(10);
  const backupCodes = await codes.allTextContents();
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download as text" }).click(),
  ]);
  const saved = readFileSync(await download.path(), "utf8");
  for (const code of backupCodes) expect(saved).toContain(code);
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.getByRole("button", { name: "Copy the codes" }).click();
  await expect(page.getByText("Copied.")).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toContain(backupCodes[9]);
  await expect(page.getByText("On.", { exact: true })).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
  await signOut(page);

  // The next step's code signs in; the step is then spent.
  const step = await nextStep(page, enrolledAt);
  await passwordStep(page, email);
  expect(await seriousViolations(page)).toEqual([]);
  await page.getByLabel("6-digit code").fill(totp(secret, step));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/account/);
  await signOut(page);

  await passwordStep(page, email);
  await page.getByLabel("6-digit code").fill(totp(secret, step));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByText("That code is not right, or it was already used.")).toBeVisible();
  await expect(page).toHaveURL(/\/signin\/verify/);

  // Lost the phone: a backup code works, once.
  await page.getByText("Lost your device? Use a backup code").click();
  await page.getByLabel("Backup code").fill(backupCodes[0]);
  await page.getByRole("button", { name: "Use the code" }).click();
  await expect(page).toHaveURL(/\/account/);
  await openFactors(page);
  await expect(page.getByText("9 of 10 unused.")).toBeVisible();
  await expect(page.getByText(/Only \d+ left/)).toHaveCount(0);

  // Six more: with three left, the page warns.
  for (const code of backupCodes.slice(1, 7)) {
    await signOut(page);
    await passwordStep(page, email);
    await page.getByText("Lost your device? Use a backup code").click();
    await page.getByLabel("Backup code").fill(code);
    await page.getByRole("button", { name: "Use the code" }).click();
    await expect(page).toHaveURL(/\/account/);
  }
  await openFactors(page);
  await expect(page.getByText("Only 3 left. Create a new set so you are not locked out.")).toBeVisible();
});

test("passkey: add one, sign in with it alone, use it as the second step and for sudo", async ({ page, problems }) => {
  test.setTimeout(150_000);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  // Autofill would answer every sign-in page at once with this authenticator; the test turns
  // it off (as in a browser without it) except where it checks autofill itself. (Signing out
  // clears the site's storage, so the flag that allows it is gone after each sign-out.)
  await page.addInitScript(() => {
    if (!sessionStorage.getItem("allow-autofill")) {
      PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    }
  });
  const email = `passkey-${Date.now()}@example.com`;
  await signUpVerified(page, email);
  await signIn(page, email);
  await openFactors(page);
  await page.getByLabel("Passkey name").fill("Work laptop");
  // The person refuses the fingerprint check: the prompt fails with a message, nothing is kept.
  // (First the password again: adding a sign-in method asks for it even after signing in.)
  await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await confirmWithPassword(page);
  await expect(page.getByText("The passkey prompt was closed or timed out.")).toBeVisible();
  await expect(page.getByText("No passkeys yet.")).toBeVisible();
  await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: true });
  // The device's own authenticator (what the installed app offers as Face ID, Touch ID, ...).
  await page.getByRole("button", { name: "Use this device's screen lock" }).click();
  await expect(page.getByRole("list", { name: "Your passkeys" }).getByText("Work laptop", { exact: true })).toBeVisible();
  await expect(page.getByRole("list", { name: "Backup codes" }).getByRole("listitem")).toHaveCount(10);
  await signOut(page);

  // The passkey alone, from the email field's autofill: the virtual authenticator answers the
  // quiet request at once, where a person would pick the passkey among the suggestions.
  await page.evaluate(() => sessionStorage.setItem("allow-autofill", "1"));
  await page.goto("/signin");
  await expect(page).toHaveURL(/\/account/);
  await page.evaluate(() => sessionStorage.removeItem("allow-autofill"));
  await signOut(page);

  // The passkey alone, from the button.
  await page.goto("/signin");
  await hydrated(page);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page).toHaveURL(/\/account/);
  await signOut(page);

  // The password, then the passkey.
  await passwordStep(page, email);
  await page.getByRole("button", { name: "Use a passkey" }).click();
  await expect(page).toHaveURL(/\/account/);
  await page.goto("/security");
  await hydrated(page);
  await expect(page.getByText("Two-step sign-in is on.")).toBeVisible();
  await expect(page.getByRole("cell", { name: "Passkey added (Work laptop)" })).toBeVisible();

  // Past the test server's one-minute sudo window, a sensitive action asks again, and the
  // passkey answers instead of the password.
  await page.waitForTimeout(61_000);
  await openFactors(page);
  await page.getByRole("button", { name: "Create new backup codes" }).click();
  await page.getByRole("button", { name: "Confirm with a passkey" }).click();
  await expect(page.getByRole("list", { name: "Backup codes" }).getByRole("listitem")).toHaveCount(10);
});

// A page is usable before its script arrives: what a person types before hydration stays, and
// a click before hydration submits the form as plain HTML would.
import type { Page, Route } from "@playwright/test";
import { test, expect, hydrated } from "./fixtures";
import { password, signIn, signUp } from "./helpers";

// The service worker would answer from its cache, past the held network.
test.use({ serviceWorkers: "block" });

/** Holds every WASM download until `release` is called, as a slow network would. */
async function holdWasm(page: Page): Promise<() => void> {
  const held: Route[] = [];
  let released = false;
  await page.route(/\.wasm$/, async (route) => {
    if (released) await route.continue();
    else held.push(route);
  });
  return () => {
    released = true;
    for (const route of held.splice(0)) void route.continue();
  };
}

test("typing before hydration is kept once the page hydrates", async ({ page, problems }) => {
  const email = `early-${Date.now()}@example.com`;
  await signUp(page, email);
  const release = await holdWasm(page);
  await page.goto("/signin");
  await expect(page.locator("body")).not.toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Remember this device for 30 days").check();
  release();
  await hydrated(page);
  await expect(page.getByLabel("Email address")).toHaveValue(email);
  await expect(page.getByLabel("Password", { exact: true })).toHaveValue(password);
  await expect(page.getByLabel("Remember this device for 30 days")).toBeChecked();
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/account/);
  expect(problems).toEqual([]);
});

test("a click before hydration submits the form as plain HTML", async ({ page, problems }) => {
  const email = `click-${Date.now()}@example.com`;
  await signUp(page, email);
  const release = await holdWasm(page);
  await page.goto("/signin");
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/account/);
  await expect(page.getByRole("heading", { level: 1, name: "Account" })).toBeVisible();
  release();
  await hydrated(page);
  expect(problems).toEqual([]);
});

test("a wrong password typed before hydration is answered next to the form, without JavaScript", async ({ page, problems }) => {
  const email = `wrong-${Date.now()}@example.com`;
  await signUp(page, email);
  await holdWasm(page);
  await page.goto("/signin");
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill("not the password at all");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: "The email address or password is not right." })).toBeVisible();
  expect(problems).toEqual([]);
});

test("a passkey name typed before hydration is kept", async ({ page, problems }) => {
  const email = `name-${Date.now()}@example.com`;
  await signUp(page, email);
  await signIn(page, email);
  const release = await holdWasm(page);
  await page.goto("/security/factors");
  await expect(page.locator("body")).not.toHaveAttribute("data-hydrated", "true");
  await page.getByLabel("Passkey name").fill("Work laptop");
  release();
  await hydrated(page);
  await expect(page.getByLabel("Passkey name")).toHaveValue("Work laptop");
  expect(problems).toEqual([]);
});

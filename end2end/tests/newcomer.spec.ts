// What a newcomer meets: how to sign in or join, who is signed in, which promises are kept,
// and a re-authentication prompt that names the window the server keeps.
import { test, expect, hydrated } from "./fixtures";
import { confirmWithPassword, password, signIn, signUp } from "./helpers";

test("a visitor is shown how to sign in and how to join", async ({ page, problems }) => {
  await page.goto("/");
  const header = page.getByRole("banner");
  await expect(header.getByRole("link", { name: "Sign in" })).toHaveAttribute("href", "/signin");
  await expect(header.getByRole("link", { name: "Join with an invite" })).toHaveAttribute("href", "/signup");
  await expect(header.getByRole("button", { name: "Sign out" })).toHaveCount(0);
  const joining = page.getByRole("region", { name: "Joining" });
  await expect(joining).toContainText("invite-only");
  await hydrated(page);
  await header.getByRole("link", { name: "Join with an invite" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Create your account" })).toBeVisible();
  expect(problems).toEqual([]);
});

test("the home page shows as kept only the promises a test proves", async ({ page, problems }) => {
  await page.goto("/");
  const kept = page.getByRole("region", { name: "Our promises" });
  const planned = page.getByRole("region", { name: "Promises we are still building" });
  await expect(kept.getByRole("heading", { name: "No one else reads your rows" })).toBeVisible();
  await expect(kept.getByRole("heading", { name: "Sessions end when they should" })).toBeVisible();
  await expect(kept.getByRole("heading", { name: "Data stays in its region" })).toBeVisible();
  await expect(kept.getByRole("heading", { name: "Take everything and leave" })).toBeVisible();
  for (const notYet of ["Secrets stay secret", "Only you see your apps"]) {
    await expect(kept.getByRole("heading", { name: notYet })).toHaveCount(0);
    await expect(planned.getByRole("heading", { name: notYet })).toBeVisible();
  }
  await hydrated(page);
  expect(problems).toEqual([]);
});

test("a signed-in person sees their name and signs out from any page", async ({ page, problems }) => {
  const email = `corner-${Date.now()}@example.com`;
  await signUp(page, email);
  await signIn(page, email);
  const header = page.getByRole("banner");
  await expect(header.getByRole("link", { name: "Ada" })).toHaveAttribute("href", "/account");
  await expect(header.getByRole("link", { name: "Sign in" })).toHaveCount(0);

  // Without JavaScript the server renders the same header.
  const html = await (await page.request.get("/privacy", { headers: { accept: "text/html" } })).text();
  expect(html).toContain("Sign out");

  await page.goto("/privacy");
  await hydrated(page);
  await header.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin\?notice=signed-out/);
  await expect(header.getByRole("link", { name: "Sign in" })).toBeVisible();
  expect(problems).toEqual([]);
});

test("the re-authentication prompt names the window the server keeps", async ({ page, problems }) => {
  const email = `prompt-${Date.now()}@example.com`;
  await signUp(page, email);
  await signIn(page, email);
  await page.goto("/account");
  await hydrated(page);
  // Changing the address needs a re-authentication made for it: the prompt appears.
  await page.getByLabel("New email address").fill(`new-${email}`);
  await page.getByRole("button", { name: "Send confirmation link" }).click();
  const prompt = page.getByRole("region", { name: "Confirm it is you" });
  // The server under test runs with --sudo-minutes 1 (playwright.config.ts), not the default 10.
  await expect(prompt).toContainText("ask again 1 minute after you last did");
  await confirmWithPassword(page, password);
  await expect(page).toHaveURL(/notice=email-link-sent/);
  expect(problems).toEqual([]);
});

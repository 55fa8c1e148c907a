import { test, expect, hydrated, seriousViolations } from "./fixtures";

test("the home page renders, hydrates and calls the server from the browser", async ({ page, problems }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1, name: "Your account, security and privacy center" })).toBeVisible();
  await expect(page.getByRole("status")).toContainText("All systems working");
  await hydrated(page);

  const call = page.waitForResponse((r) => r.url().endsWith("/api/service-status") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Check again" }).click();
  expect((await call).status()).toBe(200);
  await expect(page.getByRole("status")).toContainText("All systems working");
  expect(new URL(page.url()).pathname).toBe("/");
  expect(problems).toEqual([]);
});

test("the navigation names the areas that exist and the skip link reaches the main content", async ({ page, problems }) => {
  await page.goto("/");
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link")).toHaveText(["Account", "Security", "Your data", "Privacy", "Apps", "Discover"]);
  for (const link of await nav.getByRole("link").all()) {
    const href = await link.getAttribute("href");
    expect((await page.request.get(href!)).status(), `${href} answers`).toBe(200);
  }
  await hydrated(page);
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.locator("main")).toBeFocused();
  expect(problems).toEqual([]);
});

test("the CSP header's nonce is the one on every script", async ({ page, request, problems }) => {
  const response = await page.goto("/");
  const csp = response!.headers()["content-security-policy"];
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("'strict-dynamic'");
  const nonce = /'nonce-([^']+)'/.exec(csp)![1];
  const scriptNonces = await page.evaluate(() => [...document.scripts].map((s) => s.nonce));
  expect(scriptNonces.length).toBeGreaterThanOrEqual(2);
  for (const n of scriptNonces) expect(n).toBe(nonce);

  // The raw HTML too, and a fresh nonce per response.
  const again = await request.get("/");
  const html = await again.text();
  const againNonce = /'nonce-([^']+)'/.exec(again.headers()["content-security-policy"])![1];
  expect(againNonce).not.toBe(nonce);
  const inHtml = [...html.matchAll(/<script[^>]*nonce="([^"]+)"/g)].map((m) => m[1]);
  expect(inHtml.length).toBe((html.match(/<script/g) ?? []).length);
  for (const n of inHtml) expect(n).toBe(againNonce);
  expect(again.headers()["cache-control"]).toBe("no-store");
  await hydrated(page);
  expect(problems).toEqual([]);
});

test("an unknown path gets the 404 page with status 404", async ({ page, problems }) => {
  const response = await page.goto("/no/such/page");
  expect(response!.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
  await hydrated(page);
  await page.getByRole("link", { name: "Go to the home page" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Your account, security and privacy center" })).toBeVisible();
  expect(problems).toEqual([]);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the home page is useful and Check again reloads it", async ({ page }) => {
    await page.goto("/");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Your account, security and privacy center");
    await expect(page.getByRole("status")).toContainText("All systems working");
    await page.getByRole("button", { name: "Check again" }).click();
    await expect(page.getByRole("status")).toContainText("All systems working");
  });
});

for (const colorScheme of ["light", "dark"] as const) {
  test(`axe finds no serious violation (${colorScheme})`, async ({ page, problems }) => {
    await page.emulateMedia({ colorScheme });
    for (const path of ["/", "/no/such/page"]) {
      await page.goto(path);
      await hydrated(page);
      expect(await seriousViolations(page), path).toEqual([]);
    }
    expect(problems).toEqual([]);
  });
}

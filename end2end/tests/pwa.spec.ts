import { test, expect, hydrated } from "./fixtures";

test("the manifest parses and names real icons", async ({ request }) => {
  const response = await request.get("/manifest.webmanifest");
  expect(response.ok()).toBe(true);
  const manifest = await response.json();
  expect(manifest.name).toContain("Custodian");
  expect(manifest.short_name).toBe("Custodian");
  expect(manifest.display).toBe("standalone");
  expect(manifest.start_url).toBe("/");
  expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
  expect(manifest.background_color).toMatch(/^#[0-9a-f]{6}$/i);
  const sizes = manifest.icons.map((i: { sizes: string; purpose: string }) => `${i.sizes} ${i.purpose}`);
  expect(sizes).toEqual(expect.arrayContaining(["192x192 any", "512x512 any", "512x512 maskable"]));
  for (const icon of manifest.icons) {
    const image = await request.get(icon.src);
    expect(image.headers()["content-type"]).toBe("image/png");
    const bytes = await image.body();
    // PNG signature, then the IHDR width and height.
    expect(bytes.subarray(1, 4).toString()).toBe("PNG");
    const [width, height] = icon.sizes.split("x").map(Number);
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([width, height]);
  }
});

test("the service worker registers, precaches the shell, never caches pages, and serves the offline page", async ({
  page,
  context,
  problems,
}) => {
  await page.goto("/");
  await hydrated(page);
  const scriptURL = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL);
  expect(scriptURL).toMatch(/\/sw\.js$/);

  // Use the page once more under the worker, server function included.
  await page.reload();
  await hydrated(page);
  await page.getByRole("button", { name: "Check again" }).click();
  await expect(page.getByRole("status")).toContainText("All systems working");

  const cached = await page.evaluate(async () => {
    const paths: string[] = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      paths.push(...(await cache.keys()).map((r) => new URL(r.url).pathname));
    }
    return paths;
  });
  expect(cached).toEqual(expect.arrayContaining(["/offline.html", "/pkg/custodian.wasm", "/pkg/custodian.css"]));
  expect(cached).not.toContain("/");
  expect(cached.filter((p) => p.startsWith("/api/"))).toEqual([]);

  await context.setOffline(true);
  await page.goto("/account").catch(() => undefined);
  await expect(page.getByRole("heading", { level: 1, name: "You are offline" })).toBeVisible();
  await context.setOffline(false);
  expect(problems.filter((p) => !p.includes("ERR_INTERNET_DISCONNECTED"))).toEqual([]);
  problems.length = 0;
});

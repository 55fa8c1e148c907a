import { test as base, expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

/** Console errors, page errors and hydration warnings seen during a test; it fails on any. */
export const test = base.extend<{ problems: string[] }>({
  problems: async ({ page }, use) => {
    const problems: string[] = [];
    page.on("console", (message) => {
      const text = message.text();
      // A 404 page reports its own status; that is the page working, not a failed resource.
      const ownStatus = /status of 404/.test(text) && message.location().url === page.url();
      // A refused form (422), a signed-out call (401) or a sudo prompt (403) is the app answering.
      const refusal = /status of 40[13]|status of 422/.test(text) && message.location().url.includes("/api/");
      if ((message.type() === "error" && !ownStatus && !refusal) || /hydrat/i.test(text)) {
        problems.push(`${message.type()}: ${text}`);
      }
    });
    page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
    await use(problems);
    expect(problems, "console errors or hydration warnings").toEqual([]);
  },
});

export { expect };

/** Waits until the WASM bundle has hydrated the page. */
export async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

/** axe-core's serious and critical findings, WCAG 2.2 A and AA rules. */
export async function seriousViolations(page: Page) {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"])
    .analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}

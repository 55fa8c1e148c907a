// Rights with their clocks (promise P15): a correction request shows its due date and the
// restriction it brings, the operator completes it with the CLI, the person is mailed, the
// restriction lifts, and the signed closure receipt verifies. The public report counts it.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { expect, hydrated, seriousViolations, test } from "./fixtures";
import { mailText, signIn, signUp } from "./helpers";

const root = path.join(__dirname, "..", "..");
const dataDir = path.join(root, "target", "e2e-data");

function custodian(args: string[]): string {
  return execFileSync(path.join(root, "target", "release", "custodian"), [...args, "--data-dir", dataDir], {
    env: process.env,
    encoding: "utf8",
    cwd: root,
  });
}

test("make a correction request, see its due date and the restriction, complete it with the CLI, verify the receipt", async ({
  page,
  problems,
}) => {
  test.setTimeout(90_000);
  const email = `rights-${Date.now()}@example.com`;
  await signUp(page, email);
  await signIn(page, email);

  await page.goto("/data");
  await hydrated(page);
  await page.getByRole("link", { name: "Make a request" }).click();
  await expect(page).toHaveURL(/\/data\/requests\/new$/);
  await hydrated(page);
  expect(await seriousViolations(page)).toEqual([]);

  // Nothing chosen: said next to the form, nothing made.
  await page.getByRole("button", { name: "Send the request" }).click();
  await expect(page.getByText("Choose at least one right to ask for.")).toBeVisible();

  await page.getByLabel(/GDPR \(EU, EEA, UK\)/).check();
  await page.getByLabel("Correct something I cannot edit myself").check();
  await page.getByLabel("Which data").fill("The name on my old invoices");
  await page.getByLabel("What is wrong").fill("Ada Lovelance");
  await page.getByLabel("What it should be").fill("Ada Lovelace");
  await page.getByRole("button", { name: "Send the request" }).click();
  await expect(page).toHaveURL(/\/data\?notice=request-made/);
  await expect(page.getByText("Your request is received")).toBeVisible();
  await expect(page.getByText(/Processing restricted since .*, because your correction request is open\./)).toBeVisible();
  const table = page.getByRole("table", { name: /Request of .* \(under GDPR\), reference/ });
  const row = table.getByRole("row", { name: /Correction/ });
  await expect(row).toContainText("Received");
  // One calendar month (GDPR), on the month's last day when it is shorter, and the days left.
  const now = new Date();
  const [y, m, d] = [now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()];
  const due = Date.UTC(y, m + 1, Math.min(d, new Date(Date.UTC(y, m + 2, 0)).getUTCDate()));
  const cells = row.getByRole("cell");
  await expect(cells.nth(2)).toHaveText(new RegExp(`^${new Date(due).toISOString().slice(0, 10)}`));
  await expect(cells.nth(3)).toHaveText(String(Math.round((due - Date.UTC(y, m, d)) / 86_400_000)));
  expect(await seriousViolations(page)).toEqual([]);
  await expect.poll(() => mailText(email, "We received your request"), { timeout: 15_000 }).toContain("GDPR");

  const caption = (await table.locator("caption").textContent()) ?? "";
  const id = /reference ([0-9a-f-]{36})/.exec(caption)?.[1];
  expect(id).toBeTruthy();

  await page.goto("/account");
  await expect(page.getByText(/Processing restricted since/)).toBeVisible();

  expect(custodian(["requests", "list"])).toContain(id!);
  expect(custodian(["requests", "complete", id!, "correction"])).toContain("is done");
  // Again: a closed right is refused with the reason, and the command fails.
  expect(() => custodian(["requests", "refuse", id!, "correction", "--reason", "late"])).toThrow();

  await expect.poll(() => mailText(email, "News about your request"), { timeout: 15_000 }).toContain("is done");
  await page.goto("/data");
  await hydrated(page);
  await expect(page.getByText(/Processing restricted since/)).toHaveCount(0);
  await expect(page.getByRole("row", { name: /Correction/ })).toContainText("Done");
  const receiptLink = page.getByRole("link", { name: "Download the closure receipt" });
  const href = await receiptLink.getAttribute("href");
  const receipt = await (await page.request.get(href!)).text();
  expect(JSON.parse(receipt).rightsRequestClosure.requestId).toBe(id);

  await page.goto("/privacy/verify-receipt");
  await hydrated(page);
  await page.getByLabel("Receipt").fill(receipt);
  await page.getByRole("button", { name: "Verify receipt" }).click();
  await expect(page.getByText("Genuine: Custodian signed this closure receipt")).toBeVisible();
  await expect(page.getByText("Correction: Done (within the due date)")).toBeVisible();

  await page.goto("/privacy/requests-report");
  await hydrated(page);
  await expect(page.getByRole("row", { name: /Correction/ }).first()).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
  expect(problems).toEqual([]);
});

// Steps shared by the account and second-factor flows.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, hydrated } from "./fixtures";
import type { Page } from "@playwright/test";

// The server under test writes mail as .eml files here (see playwright.config.ts).
const mailDir = path.join(__dirname, "..", "..", "target", "e2e-data", "mail");
export const password = "violet kettle drums at midnight";

/** A fresh invite code from the operator CLI, against the same database as the server. */
export function inviteCode(): string {
  const out = execFileSync(path.join(__dirname, "..", "..", "target", "release", "custodian"), ["invite", "create"], {
    env: process.env,
    encoding: "utf8",
  });
  const code = /Invite code: (\S+)/.exec(out)?.[1];
  if (!code) throw new Error(`no invite code in: ${out}`);
  return code;
}

/** The text of a quoted-printable body, as a mail program shows it. */
function decodeQuotedPrintable(body: string): string {
  return body
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Waits for a mail to `to` whose subject is `subject`, and returns the link in it. */
export async function linkFromMail(to: string, subject: string): Promise<string> {
  let link = "";
  await expect
    .poll(
      () => {
        for (const name of readdirSync(mailDir).filter((n) => n.endsWith(".eml"))) {
          const eml = decodeQuotedPrintable(readFileSync(path.join(mailDir, name), "utf8"));
          if (eml.includes(`To: ${to}`) && eml.includes(`Subject: ${subject}`)) {
            link = /(http:\/\/\S+token=\S+)/.exec(eml)?.[1] ?? "";
          }
        }
        return link;
      },
      { timeout: 15_000 },
    )
    .not.toBe("");
  return link;
}

export async function signUp(page: Page, email: string) {
  await page.goto(`/signup?invite=${inviteCode()}`);
  await hydrated(page);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Display name").fill("Ada");
  await page.getByLabel("Password", { exact: true }).fill(password);
  await expect(page.getByText(/Strength: (Strong|Very strong)/)).toBeVisible();
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/signin\?notice=signed-up/);
}

export async function signIn(page: Page, email: string, secret = password) {
  await page.goto("/signin");
  await hydrated(page);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(secret);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/account/);
}


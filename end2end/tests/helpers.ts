// Steps shared by the account and second-factor flows.
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
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

/** The text of the delivered mail to `to` whose subject is `subject`; "" until it arrives. */
export function mailText(to: string, subject: string): string {
  for (const name of readdirSync(mailDir).filter((n) => n.endsWith(".eml"))) {
    const eml = decodeQuotedPrintable(readFileSync(path.join(mailDir, name), "utf8"));
    if (eml.includes(`To: ${to}`) && eml.includes(`Subject: ${subject}`)) return eml;
  }
  return "";
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

/** Signs up and opens the verification link, as a person who reads their mail does (a sign-in
 * method can be added only to an account with a verified address). */
export async function signUpVerified(page: Page, email: string) {
  await signUp(page, email);
  await page.goto(await linkFromMail(email, "Verify your email address"));
  await hydrated(page);
  await page.getByRole("button", { name: "Verify my address" }).click();
  await expect(page).toHaveURL(/notice=email-verified/);
}

/** Signs in with the password; `lands` is where the account arrives (an account scheduled for
 * deletion arrives at /data/deletion). */
export async function signIn(page: Page, email: string, secret = password, lands = /\/account/) {
  await page.goto("/signin");
  await hydrated(page);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(secret);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(lands);
}


/** Answers the "Confirm it is you" prompt with the password; the action it interrupted goes on. */
export async function confirmWithPassword(page: Page, secret = password) {
  const prompt = page.getByRole("region", { name: "Confirm it is you" });
  await prompt.getByLabel("Your password").fill(secret);
  await prompt.getByRole("button", { name: "Confirm and continue" }).click();
  await expect(prompt).toHaveCount(0);
}

/** RFC 4648 base32, as authenticator apps read the key shown on the page. */
function base32Decode(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of text.replace(/[\s=]/g, "").toUpperCase()) {
    value = ((value << 5) | alphabet.indexOf(char)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

/** The code an authenticator app shows for `secret` at time step `step` (RFC 6238). */
export function totp(secret: string, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, "0");
}

export const currentStep = () => Math.floor(Date.now() / 30_000);

/** Makes an app from the starter and returns the address of its page. */
export async function makeStarterApp(page: Page, name: string): Promise<string> {
  await page.goto("/apps");
  await hydrated(page);
  const form = page.getByRole("region", { name: "Make an app" });
  await form.getByLabel("Name").fill(name);
  await form.getByLabel(/The starter/).check();
  await form.getByRole("button", { name: "Make the app" }).click();
  await expect(page).toHaveURL(/\/apps\/[0-9a-f-]{36}\?notice=app-created/);
  await hydrated(page);
  return new URL(page.url()).pathname;
}

/** Uploads `files` to the app whose page is open. */
export async function uploadFiles(page: Page, files: { name: string; mimeType: string; buffer: Buffer }[]) {
  await page.getByLabel("Upload files or a zip").setInputFiles(files);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByText("The files were uploaded.")).toBeVisible();
  await hydrated(page);
}

// Apps (promise P10): an app made from the starter runs in a sandboxed frame on its own origin;
// a share link opens it signed out until it is revoked; and an attacker's app, probing from
// inside the sandbox, reaches neither the site's session, nor the page around it, nor another
// app's storage.
import { crc32 } from "node:zlib";
import type { Page } from "@playwright/test";
import { expect, hydrated, seriousViolations, test } from "./fixtures";
import { mailText, signIn, signUpVerified } from "./helpers";

const FRAME_SANDBOX = "allow-scripts allow-forms allow-popups";

/** Makes an app from the Apps page and returns the address of its page. */
async function makeApp(page: Page, name: string, start: "starter" | "empty"): Promise<string> {
  await page.goto("/apps");
  await hydrated(page);
  const form = page.getByRole("region", { name: "Make an app" });
  await form.getByLabel("Name").fill(name);
  await form.getByLabel(start === "starter" ? /The starter/ : /Nothing/).check();
  await form.getByRole("button", { name: "Make the app" }).click();
  await expect(page).toHaveURL(/\/apps\/[0-9a-f-]{36}\?notice=app-created/);
  await hydrated(page);
  await expect(page.getByText("Your app is made. Only you can see it.")).toBeVisible();
  return new URL(page.url()).pathname;
}

/** Uploads files through the app page's form (a plain multipart post). */
async function upload(page: Page, files: { name: string; mimeType: string; buffer: Buffer }[]) {
  await page.getByLabel("Upload files or a zip").setInputFiles(files);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
}

/** A zip (stored, not compressed) of `entries`, by hand: enough for a path no browser sends. */
function zipOf(entries: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(entries)) {
    const data = Buffer.from(text);
    const fileName = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fileName, data);
    centrals.push(central, fileName);
    offset += local.length + fileName.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** An app that tries, from inside its frame, everything a hostile app would, and lists how each
 * attempt ended in its own page. `site` is the site's origin. */
function probePage(site: string, mark: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Probe</title></head>
<body><h1>Probe ${mark}</h1><ul id="results"></ul><script>
const results = document.getElementById("results");
function report(name, outcome) {
  const item = document.createElement("li");
  item.dataset.probe = name;
  item.textContent = name + ": " + outcome;
  results.append(item);
}
async function attempt(name, probe) {
  try { report(name, "OPEN " + String(await probe())); }
  catch (error) { report(name, "blocked (" + (error && error.name) + ")"); }
}
(async () => {
  await attempt("cookie", () => { document.cookie = "stolen=${mark}"; return document.cookie; });
  await attempt("localStorage", () => { localStorage.setItem("mark", "${mark}"); return localStorage.getItem("other"); });
  await attempt("indexedDB", () => new Promise((resolve, reject) => {
    const request = indexedDB.open("probe");
    request.onsuccess = () => resolve("opened");
    request.onerror = () => reject(request.error);
  }));
  await attempt("parent", () => window.parent.document.title);
  await attempt("top", () => {
    if (window.top === window) return "not framed";
    top.location.href = "${site}/signin?hijacked=1";
    return "asked";
  });
  await attempt("fetch", async () => {
    const answer = await fetch("${site}/api/apps/list", { method: "POST", credentials: "include" });
    return answer.status + " " + (await answer.text()).slice(0, 40);
  });
  await attempt("serviceWorker", () => navigator.serviceWorker.register("sw.js").then(() => "registered"));
  report("done", "yes");
})();
</script></body></html>`;
}

test("make an app from the starter, open it, share a link, open it signed out, revoke it", async ({
  page,
  browser,
  problems,
}) => {
  test.setTimeout(90_000);
  const email = `maker-${Date.now()}@example.com`;
  await signUpVerified(page, email);
  await signIn(page, email);

  await page.getByRole("link", { name: "Apps" }).click();
  await expect(page).toHaveURL(/\/apps$/);
  await hydrated(page);
  await expect(page.getByText("You have no apps yet. Make one below.")).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);

  // A name is required: the message is next to the field.
  await page.getByRole("region", { name: "Make an app" }).getByRole("button", { name: "Make the app" }).click();
  await expect(page).toHaveURL(/\/apps$/);

  await makeApp(page, "My first app", "starter");
  await expect(page.getByRole("heading", { name: "My first app", level: 1 })).toBeVisible();
  for (const path of ["index.html", "style.css", "app.js"]) {
    await expect(page.getByRole("cell", { name: path, exact: true })).toBeVisible();
  }
  const frame = page.locator("iframe");
  await expect(frame).toHaveAttribute("sandbox", FRAME_SANDBOX);
  expect(await frame.getAttribute("srcdoc")).toBeNull();
  expect(new URL((await frame.getAttribute("src")) ?? "").hostname).toMatch(/^[0-9a-f]{32}\.apps\.localhost$/);
  const app = page.frameLocator("iframe");
  await expect(app.getByRole("heading", { name: "Hello from your app" })).toBeVisible();
  await app.getByRole("button", { name: "Clicked 0 times" }).click();
  await expect(app.getByRole("button", { name: "Clicked 1 times" })).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);

  // A share link, shown once.
  const links = page.getByRole("region", { name: "Share links" });
  await links.getByLabel("Label").fill("Friends");
  await links.getByRole("button", { name: "Make a link" }).click();
  const shown = page.getByLabel("Copy it now: it is shown only once.");
  await expect(shown).toHaveValue(/\/s\/[0-9a-f-]{36}\/[A-Za-z0-9_-]{43}$/);
  const url = await shown.inputValue();
  await expect(links.getByRole("cell", { name: "Friends", exact: true })).toBeVisible();

  // Signed out, in another browser: the app opens, and the page is not indexed.
  const stranger = await browser.newContext();
  const visitor = await stranger.newPage();
  const opened = await visitor.goto(url);
  expect(opened?.status()).toBe(200);
  expect(opened?.headers()["x-robots-tag"]).toBe("noindex, nofollow");
  expect(opened?.headers()["referrer-policy"]).toBe("no-referrer");
  await expect(visitor.getByRole("heading", { name: "My first app", level: 1 })).toBeVisible();
  await expect(visitor.frameLocator("iframe").getByRole("heading", { name: "Hello from your app" })).toBeVisible();
  expect(await seriousViolations(visitor)).toEqual([]);

  // The owner sees the use, and revokes the link: it answers 404 from then on.
  await page.reload();
  await hydrated(page);
  const row = page.getByRole("row", { name: /Friends/ });
  await expect(row.getByRole("cell", { name: "1", exact: true })).toBeVisible();
  await page.getByRole("button", { name: "Revoke the link Friends" }).click();
  await expect(page.getByText("The link was revoked: it no longer opens the app.")).toBeVisible();
  const refused = await visitor.goto(url);
  expect(refused?.status()).toBe(404);
  await expect(visitor.getByText("This link does not work: it was revoked, it expired, or it never existed.")).toBeVisible();
  await stranger.close();
  expect(problems).toEqual([]);
});

test("bad uploads are refused next to the field and change nothing", async ({ page }) => {
  const email = `uploader-${Date.now()}@example.com`;
  await signUpVerified(page, email);
  await signIn(page, email);
  await makeApp(page, "Uploads", "empty");

  await upload(page, [{ name: "app.zip", mimeType: "application/zip", buffer: zipOf({ "../../etc/evil.js": "x" }) }]);
  await expect(page).toHaveURL(/upload_error=bad-path/);
  await expect(page.getByText(/A file's path is not allowed/)).toBeVisible();
  await expect(page.getByLabel("Upload files or a zip")).toHaveAttribute("aria-invalid", "true");

  await upload(page, [{ name: "site.zip", mimeType: "application/zip", buffer: zipOf({ "index.html": "<h1>Zipped</h1>", "js/app.js": "1" }) }]);
  await expect(page.getByText("The files were uploaded.")).toBeVisible();
  await expect(page.getByRole("cell", { name: "js/app.js", exact: true })).toBeVisible();
  await expect(page.frameLocator("iframe").getByRole("heading", { name: "Zipped" })).toBeVisible();
});

/** Opens the app page and waits for its probe to finish; returns each probe's outcome. */
async function probeOutcomes(page: Page, appPage: string): Promise<Record<string, string>> {
  await page.goto(appPage);
  await hydrated(page);
  const frame = page.frameLocator("iframe");
  await expect(frame.locator('[data-probe="done"]')).toBeVisible({ timeout: 15_000 });
  const outcomes: Record<string, string> = {};
  for (const item of await frame.locator("[data-probe]").all()) {
    outcomes[(await item.getAttribute("data-probe")) ?? ""] = (await item.textContent()) ?? "";
  }
  return outcomes;
}

async function probeApp(page: Page, name: string, site: string): Promise<string> {
  const appPage = await makeApp(page, name, "empty");
  await upload(page, [{ name: "index.html", mimeType: "text/html", buffer: Buffer.from(probePage(site, name)) }]);
  await expect(page.getByText("The files were uploaded.")).toBeVisible();
  return appPage;
}

test("an app's script, probing from its sandbox, reaches no session, page, storage or worker", async ({
  page,
  context,
  baseURL,
}) => {
  test.setTimeout(90_000);
  const site = baseURL ?? "";
  const email = `prober-${Date.now()}@example.com`;
  await signUpVerified(page, email);
  await signIn(page, email);
  const cookiesBefore = await context.cookies();
  expect(cookiesBefore.find((c) => c.name === "custodian_session")?.domain).toBe("localhost");

  const first = await probeApp(page, "Probe one", site);
  const second = await probeApp(page, "Probe two", site);
  for (const appPage of [first, second]) {
    const outcomes = await probeOutcomes(page, appPage);
    for (const probe of ["cookie", "localStorage", "indexedDB", "parent", "fetch", "serviceWorker"]) {
      expect(outcomes[probe], `${probe} in ${appPage}`).toMatch(/: blocked/);
    }
    // Navigating the top window is refused: the site's page stays where it was.
    expect(new URL(page.url()).pathname).toBe(appPage);
  }

  // Opened outside the frame, the sandbox still holds (the header makes the origin opaque).
  const src = (await page.locator("iframe").getAttribute("src")) ?? "";
  const direct = await page.context().newPage();
  const answer = await direct.goto(src);
  expect(answer?.headers()["content-security-policy"]).toMatch(/^sandbox allow-scripts allow-forms allow-popups;/);
  expect(answer?.headers()["set-cookie"]).toBeUndefined();
  await expect(direct.locator('[data-probe="done"]')).toBeVisible();
  for (const probe of ["cookie", "localStorage", "serviceWorker"]) {
    await expect(direct.locator(`[data-probe="${probe}"]`)).toContainText(": blocked");
  }
  await direct.close();

  // The site's session is untouched: the same cookie, still signed in, and no cookie was ever
  // set for an app origin.
  const cookiesAfter = await context.cookies();
  expect(cookiesAfter.map((c) => `${c.domain} ${c.name}=${c.value}`)).toEqual(
    cookiesBefore.map((c) => `${c.domain} ${c.name}=${c.value}`),
  );
  await page.goto("/account");
  await expect(page).toHaveURL(/\/account$/);
});

test("share an app with a collaborator, who accepts with the invited address and opens it", async ({ page, browser }) => {
  test.setTimeout(120_000);
  const stamp = Date.now();
  const owner = `owner-${stamp}@example.com`;
  const friend = `friend-${stamp}@example.com`;
  await signUpVerified(page, owner);
  await signIn(page, owner);
  const appPage = await makeApp(page, "Team board", "starter");

  const people = page.getByRole("region", { name: "People" });
  await people.getByLabel("Invite by email address").fill(friend);
  await people.getByLabel("Role").selectOption("viewer");
  await people.getByRole("button", { name: "Send the invitation" }).click();
  await expect(page.getByText("The invitation is on its way. It works for 7 days.")).toBeVisible();
  await expect(people.getByRole("cell", { name: friend, exact: true })).toBeVisible();
  await expect(people.getByRole("cell", { name: /^Invited, until/ })).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);

  let link = "";
  await expect
    .poll(() => {
      link = /(http:\/\/\S+\/apps\/join\/\S+)/.exec(mailText(friend, "An app was shared with you"))?.[1] ?? "";
      return link;
    }, { timeout: 15_000 })
    .not.toBe("");

  const other = await browser.newContext();
  const guest = await other.newPage();
  await signUpVerified(guest, friend);
  await signIn(guest, friend);
  await guest.goto(link);
  await hydrated(guest);
  expect(await seriousViolations(guest)).toEqual([]);
  await guest.getByRole("button", { name: "Accept the invitation" }).click();
  await expect(guest).toHaveURL(new RegExp(`${appPage}\\?notice=app-joined`));
  await hydrated(guest);
  await expect(guest.getByRole("heading", { name: "Team board", level: 1 })).toBeVisible();
  await expect(guest.getByText(/Shared with you as Viewer/)).toBeVisible();
  await expect(guest.frameLocator("iframe").getByRole("heading", { name: "Hello from your app" })).toBeVisible();
  await expect(guest.getByRole("region", { name: "Who has access" })).toHaveCount(0);
  await expect(guest.getByLabel("Upload files or a zip")).toHaveCount(0);
  expect(await seriousViolations(guest)).toEqual([]);
  await guest.goto("/apps");
  await expect(guest.getByRole("list", { name: "Apps shared with you" }).getByRole("link", { name: "Team board" })).toBeVisible();

  // The owner sees the person joined, and removes them: the app is gone for them at once.
  await page.reload();
  await expect(people.getByRole("cell", { name: /^Joined/ })).toBeVisible();
  await people.getByRole("button", { name: `Remove ${friend}` }).click();
  await expect(page.getByText("Removed: they can no longer open the app.")).toBeVisible();
  const gone = await guest.goto(appPage);
  expect(gone?.status()).toBe(404);
  await other.close();
});

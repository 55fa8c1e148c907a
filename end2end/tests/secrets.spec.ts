// App secrets (promise P9): the owner adds a secret and sees only its last 4 characters; the
// app's script calls its egress endpoint, the server sends the secret to the upstream on this
// machine (end2end/upstream.mjs), and the app reports that the right header arrived, while no
// page, network response to the browser, storage or cookie ever holds the value. A person
// rotates their data key, and connects a service over OAuth 2.0 and disconnects it.
import { expect, hydrated, seriousViolations, test } from "./fixtures";
import { makeStarterApp, signIn, signUp, uploadFiles } from "./helpers";

// The upstream expects exactly this value as a bearer token (end2end/upstream.mjs).
const VALUE = "sk-e2e-7d41c2a9f0b3-RIGHT-VALUE-Q7ZK";
const upstream = `https://localhost:${process.env.E2E_UPSTREAM_PORT ?? "3443"}`;

const page_html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Egress check</title></head>
<body><h1>Egress check</h1><p id="out">Waiting</p><script src="app.js"></script></body></html>`;
const script = `fetch("_egress/E2E_KEY/check")
  .then((response) => response.json())
  .then((answer) => {
    document.getElementById("out").textContent =
      answer.ok && answer.cookie === null ? "The right header arrived" : "The header was wrong";
  })
  .catch((error) => {
    document.getElementById("out").textContent = "Egress failed: " + error;
  });`;

test("a secret reaches its host through egress and never the browser", async ({ page, problems }) => {
  test.setTimeout(90_000);
  const bodies: Promise<string>[] = [];
  page.on("response", (response) => {
    bodies.push(response.text().catch(() => ""));
  });
  const email = `secrets-${Date.now()}@example.com`;
  await signUp(page, email);
  await signIn(page, email);
  await makeStarterApp(page, `Egress ${Date.now()}`);

  const section = page.getByRole("region", { name: "Secrets" });
  const add = section.getByRole("region", { name: "Add a secret" });
  // Bad input first: a clear message next to the field, nothing saved.
  await add.getByLabel("Secret name").fill("e2e key");
  await add.getByLabel("Value").fill(VALUE);
  await add.getByLabel("Hosts it may be sent to").fill("http://127.0.0.1");
  await add.getByRole("button", { name: "Add the secret" }).click();
  await expect(add.getByText(/Name it in capitals, digits and underscores/)).toBeVisible();
  await add.getByLabel("Secret name").fill("E2E_KEY");
  await add.getByRole("button", { name: "Add the secret" }).click();
  await expect(add.getByText(/List 1 to 10 hosts, one per line/)).toBeVisible();
  await add.getByLabel("Hosts it may be sent to").fill(upstream);
  await add.getByLabel("How it is sent").selectOption("bearer");
  await add.getByRole("button", { name: "Add the secret" }).click();
  await expect(page).toHaveURL(/notice=secret-added/);
  await hydrated(page);
  await expect(page.getByText("The secret is sealed and saved.")).toBeVisible();
  // What was typed does not stay in the form once it is saved.
  await expect(add.getByLabel("Value")).toHaveValue("");
  await expect(add.getByLabel("Secret name")).toHaveValue("");

  const row = section.getByRole("table", { name: "The app's secrets" }).getByRole("row", { name: /E2E_KEY/ });
  await expect(row).toContainText("\u2026Q7ZK");
  await expect(row).toContainText(upstream);
  await expect(row).toContainText("Never");
  expect(await page.content()).not.toContain(VALUE);
  expect(await seriousViolations(page)).toEqual([]);

  // The app runs: its script's call goes out with the secret and comes back with the verdict.
  await uploadFiles(page, [
    { name: "index.html", mimeType: "text/html", buffer: Buffer.from(page_html) },
    { name: "app.js", mimeType: "text/javascript", buffer: Buffer.from(script) },
  ]);
  await expect(page.frameLocator("iframe").getByText("The right header arrived")).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(row).not.toContainText("Never");

  const seen = (await Promise.all(bodies)).join("\n");
  expect(seen).toContain("E2E_KEY");
  expect(seen).not.toContain(VALUE);
  expect(seen).not.toContain("RIGHT-VALUE");
  const stored = await page.evaluate(async () => {
    const parts = [JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage }), document.cookie];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        parts.push((await (await cache.match(request))?.text()) ?? "");
      }
    }
    return parts.join("\n");
  });
  expect(stored).not.toContain(VALUE);
  const cookies = JSON.stringify(await page.context().cookies());
  expect(cookies).not.toContain(VALUE);
  expect(cookies).not.toContain("upstream=1");
  expect(problems).toEqual([]);
});

test("rotate the account's key, connect a service, and disconnect it with revocation", async ({ page, problems }) => {
  test.setTimeout(60_000);
  const email = `connections-${Date.now()}@example.com`;
  await signUp(page, email);
  await signIn(page, email);
  await page.goto("/security/encryption");
  await hydrated(page);
  await expect(page.getByRole("status").filter({ hasText: "Your key is version 1" })).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
  await page.getByRole("button", { name: "Rotate my key" }).click();
  await expect(page).toHaveURL(/notice=key-rotated/);
  await expect(page.getByText("Your key is version 2")).toBeVisible();
  await makeStarterApp(page, `Connected ${Date.now()}`);

  const connect = page.getByRole("region", { name: "Connect a service (OAuth 2.0)" });
  await connect.getByLabel("Connection name").fill("CALENDAR");
  await connect.getByLabel("Hosts it may be sent to").fill(upstream);
  await connect.getByLabel("Access token").fill("access-e2e-0123456789abcdef");
  await connect.getByLabel("Minutes until it expires").fill("60");
  await connect.getByLabel("Refresh token").fill("refresh-e2e-0123456789");
  await connect.getByLabel("Token endpoint").fill("http://auth.example.com/token");
  await connect.getByLabel("Client id").fill("custodian-e2e");
  await connect.getByRole("button", { name: "Connect" }).click();
  await expect(connect.getByText(/Give the service's endpoint as an https address/)).toBeVisible();
  await connect.getByLabel("Token endpoint").fill(`${upstream}/oauth/token`);
  await connect.getByLabel("Revocation endpoint (optional)").fill(`${upstream}/oauth/revoke`);
  await connect.getByRole("button", { name: "Connect" }).click();
  await expect(page).toHaveURL(/notice=connection-added/);
  await hydrated(page);
  const row = page.getByRole("table", { name: "The app's secrets" }).getByRole("row", { name: /CALENDAR/ });
  await expect(row).toContainText("Connection (OAuth 2.0), bearer; token expires");
  expect(await page.content()).not.toContain("access-e2e-0123456789abcdef");
  expect(await seriousViolations(page)).toEqual([]);

  await page.getByText("Change CALENDAR…").click();
  await page.getByRole("button", { name: "Disconnect CALENDAR" }).click();
  await expect(page).toHaveURL(/notice=disconnected/);
  await expect(page.getByText("the service confirmed it revoked them")).toBeVisible();
  await expect(page.getByRole("table", { name: "The app's secrets" })).toHaveCount(0);

  expect(problems).toEqual([]);
});

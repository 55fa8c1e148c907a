import { defineConfig } from "@playwright/test";

// The release build, served on its own port and database (the Makefile's test-e2e target sets
// E2E_ADDR and DATABASE_URL and removes the previous run's data).
const addr = process.env.E2E_ADDR ?? "127.0.0.1:3100";
const upstreamPort = process.env.E2E_UPSTREAM_PORT ?? "3443";

export default defineConfig({
  testDir: "./tests",
  outputDir: "./test-results",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 2,
  forbidOnly: !!process.env.CI,
  reporter: [["list"], ["json", { outputFile: "playwright-report/results.json" }]],
  use: {
    // localhost, not 127.0.0.1: WebAuthn needs a domain name. The server's public URL says so too.
    baseURL: `http://${addr.replace("127.0.0.1", "localhost")}`,
    trace: "retain-on-failure",
    launchOptions: {
      // Debian's chromium; Playwright never downloads a browser here.
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    {
      // The host an app's egress reaches (started first: it makes the certificate the server
      // trusts).
      command: `node end2end/upstream.mjs`,
      cwd: "..",
      env: { E2E_UPSTREAM_PORT: upstreamPort },
      url: `https://localhost:${upstreamPort}/healthz`,
      ignoreHTTPSErrors: true,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      // One-minute sudo mode, so a test can see it end; a sign-in limit above what one address
      // does here in a minute (the limit itself is tested in Rust); egress may reach this
      // machine's upstream, whose certificate it trusts.
      command: `target/release/custodian serve --site-addr ${addr} --data-dir target/e2e-data --site-root target/site --sudo-minutes 1 --auth-rate-limit 600 --egress-allow-private-addresses --egress-ca-file target/e2e-upstream/cert.pem`,
      cwd: "..",
      url: `http://${addr}/healthz`,
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: "ignore",
      stderr: "pipe",
    },
  ],
});

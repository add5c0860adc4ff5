// Starts the real duetrack binary on a free loopback port with a fresh data
// folder, and a headless Chromium driven by playwright-core. Collects console
// errors and failed requests so every test can assert there were none.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";
import { chromium } from "playwright-core";

export const ROOT = resolve(import.meta.dirname, "..");
export const SHOTS = join(ROOT, "test-artifacts", "screenshots");
export const OWNER_PASSWORD = "counter-owner-key-2026";
mkdirSync(SHOTS, { recursive: true });

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
    server.on("error", fail);
  });
}

export async function startService(extraEnv = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "duetrack-e2e-"));
  const port = await freePort();
  const binary = process.env.DUETRACK_BIN || join(ROOT, "target", "debug", "duetrack");
  const child = spawn(binary, ["serve"], {
    cwd: dataDir,
    env: {
      PATH: process.env.PATH,
      RUST_LOG: "warn",
      DUETRACK_BIND: `127.0.0.1:${port}`,
      DUETRACK_DATA_DIR: join(dataDir, "data"),
      DUETRACK_ADMIN_PASSWORD: OWNER_PASSWORD,
      DUETRACK_SCHEDULER: "off",
      DUETRACK_TIMEZONE: "Asia/Kolkata",
      SHOP_NAME: "Sharma General Store",
      DUETRACK_UPI_ID: "sharmastore@okbank",
      DUETRACK_BASE_URL: `http://127.0.0.1:${port}`,
      ...extraEnv,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    base,
    dataDir,
    stop: () => child.kill("SIGTERM"),
    /** The one-time link in the newest email written to the outbox for `email`. */
    linkFor(email) {
      const folder = join(dataDir, "data", "outbox");
      const files = readdirSync(folder).filter((f) => f.endsWith(".eml")).sort().reverse();
      for (const f of files) {
        const raw = readFileSync(join(folder, f), "utf8").replace(/=\r?\n/g, "").replace(/=3D/g, "=");
        if (raw.includes(`To: ${email}`) || raw.includes(`<${email}>`)) {
          const m = raw.match(/https?:\/\/[^\s"<>]+\/set-password\?token=[0-9a-f]+/);
          if (m) return m[0];
        }
      }
      return null;
    },
  };
}

export async function startBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A page that records console errors and failed requests. */
export async function watchedPage(browser, viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // A request cut short because the page moved on is not a failure.
  page.on("requestfailed", (r) => {
    if (r.failure()?.errorText !== "net::ERR_ABORTED") problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("response", (r) => {
    const document = r.request().resourceType() === "document";
    if (r.status() >= 500 || (!document && r.status() >= 400)) problems.push(`failed ${r.status()}: ${r.url()}`);
  });
  return { page, context, problems };
}

export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

export async function signIn(page, base, username, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Username or email").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

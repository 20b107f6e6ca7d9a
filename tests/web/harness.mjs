// What the browser tests need around the page: the real server as a child process, Debian's
// chromium through playwright-core (a dependency of web/), and the built UI for a binary that
// was built without it.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";

const require = createRequire(resolve(import.meta.dirname, "../../web/package.json"));
const { chromium } = require("playwright-core");

// Starts `quantscope serve --port 0 ...` and waits for its "listening on http://..." line.
// `env`: extra environment variables (the mock Hub's HF_ENDPOINT, ...).
export function startServer(bin, args, env = {}) {
  if (!existsSync(bin)) throw new Error(`no quantscope binary at ${bin} (set QUANTSCOPE_BIN)`);
  const child = spawn(bin, ["serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let log = "";
  return new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error(`serve did not start in 30 s:\n${log}`)); }, 30_000);
    const read = (chunk) => {
      log += chunk;
      const m = log.match(/listening on (http:\/\/[^/\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolveUrl({ url: m[1], stop: () => child.kill("SIGTERM"), log: () => log });
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`serve exited (${code}):\n${log}`)); });
  });
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    // The machine's network is closed: no background connections (they are refused, many at a time).
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };

// When the server's page is the "UI not built" placeholder, serve dist/ for every non-API path;
// returns whether it had to.
export async function routeBuiltUi(page, base, dist) {
  const index = await (await fetch(`${base}/`)).text();
  if (index.includes("/assets/")) return false;
  if (!existsSync(join(dist, "index.html"))) throw new Error("the server has no UI and web/dist is not built (npm --prefix web run build)");
  await page.route((url) => url.origin === base && !url.pathname.startsWith("/api/"), (route) => {
    const path = new URL(route.request().url()).pathname;
    const file = path.startsWith("/assets/") ? join(dist, path) : join(dist, "index.html");
    route.fulfill({ contentType: TYPES[extname(file)] ?? "application/octet-stream", body: readFileSync(file) });
  });
  return true;
}

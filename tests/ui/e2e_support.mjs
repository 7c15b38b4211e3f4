// Pieces every browser test script shares: environment, assertions, step
// logging, launching Debian's chromium, collecting page errors and CSP
// violations, and signing in.

import { chromium } from "playwright-core";

// The value of a required environment variable; exits with 2 when unset.
export function requireEnv(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return v;
}

export function expect(cond, what) {
  if (!cond) throw new Error(`expectation failed: ${what}`);
}

// One JSON line per passed step, read by the pytest side.
export function logStep(step, extra = {}) {
  console.log(JSON.stringify({ step, ok: true, ...extra }));
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

// Records page errors, CSP violations and console errors of `page` in
// `problems`. Console errors of HTTP statuses that `allowedStatus` matches
// (the scenario provokes them on purpose) are not problems.
export function watchPage(page, problems, label = "", allowedStatus = /status of 40[0-4]/) {
  const where = label ? ` (${label})` : "";
  page.on("pageerror", (e) => problems.push(`page error${where}: ${e.message}`));
  page.on("console", (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to/i.test(t)) problems.push(`CSP${where}: ${t}`);
    else if (m.type() === "error" && !allowedStatus.test(t)) problems.push(`console error${where}: ${t}`);
  });
}

// Fills and submits the sign-in form that `page` shows.
export async function signIn(page, email, password) {
  await page.waitForSelector("[data-testid=sign-in-form]");
  await page.fill("input[name=email]", email);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
}

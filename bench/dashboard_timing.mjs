// Dashboard timing against a running server (run by bench/dashboard.sh):
// playwright-core from tests/ui (scripts/setup-ui-test-env.sh installs it)
// driving Debian's chromium.
//
//   BASE_URL=... EMAIL=... PASSWORD=... PROJECT_ID=... RUNS=5 RANGES=7d,30d,all \
//   node bench/dashboard_timing.mjs
//
// Per range, RUNS times each:
//  - page: navigation to /project/{id}?range=R until every card and stat is
//    filled (no "Loading…", no "…"), and the duration of each metrics request
//    the page made (Resource Timing, so the six run concurrently as they do
//    for a user);
//  - api: the same six requests one at a time (fetch from the signed-in
//    page), so each one's own server time shows.
// With LIST_RANGES (e.g. "7d,all"), also navigation -> 50 rendered rows of the
// trace list per range; with BIG_TRACE_ID and BIG_TRACE_N, navigation -> the
// tree of that trace shown with its N observations counted (both as
// tests/ui/e2e.mjs measures them).
// Prints one JSON object: per range and request, every run and the median.

import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "tests", "ui", "package.json"));
const { chromium } = require("playwright-core");

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) {
    console.error(`${k} is required`);
    process.exit(2);
  }
  return v;
};
const BASE = env("BASE_URL");
const EMAIL = env("EMAIL");
const PASSWORD = env("PASSWORD");
const PROJECT = env("PROJECT_ID");
const RUNS = Number(env("RUNS", "5"));
const RANGES = env("RANGES", "7d,30d,all").split(",");
const LIST_RANGES = (process.env.LIST_RANGES ?? "").split(",").filter(Boolean);
const BIG_TRACE_ID = process.env.BIG_TRACE_ID ?? "";
const BIG_TRACE_N = Number(process.env.BIG_TRACE_N ?? 0);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x) => Math.round(x * 10) / 10;

// The card each metrics request feeds, recognized from its query.
function cardOf(url) {
  const q = JSON.parse(new URL(url).searchParams.get("query"));
  const dims = q.dimensions.map((d) => d.field).join(",");
  const ms = q.metrics.map((m) => `${m.aggregation}_${m.measure}`);
  if (q.view === "traces" && !dims) return "traces_over_time";
  if (q.view === "observations" && dims === "type") return "observations_by_type";
  if (dims === "providedModelName" && ms.includes("p50_latency")) return "latency_by_model";
  if (dims === "providedModelName") return "cost_tokens_by_model";
  if (dims === "name") return "latency_by_trace_name";
  if (dims === "userId") return "top_users";
  return `${q.view}:${dims}:${ms.join("+")}`;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
      "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(`${BASE}/project/${PROJECT}/traces`);
  await page.waitForSelector("[data-testid=sign-in-form]");
  await page.fill("input[name=email]", EMAIL);
  await page.fill("input[name=password]", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=traces-table]");

  const out = { runs: RUNS, ranges: {} };
  for (const range of RANGES) {
    const pageMs = [];
    const inPage = {};
    const urls = new Map();
    for (let i = 0; i < RUNS; ++i) {
      await page.goto("about:blank");
      const t0 = Date.now();
      await page.goto(`${BASE}/project/${PROJECT}?range=${range}`);
      await page.waitForFunction(() => {
        const d = document.querySelector("[data-testid=dashboard]");
        if (!d) return false;
        if (d.querySelector("[role=alert]")) return true;
        const text = d.textContent;
        return d.querySelectorAll(".card").length >= 7 && !text.includes("Loading") &&
          ![...d.querySelectorAll(".stat b")].some((b) => b.textContent === "…");
      }, null, { timeout: 600000, polling: 10 });
      pageMs.push(Date.now() - t0);
      const alert = await page.$("[data-testid=dashboard] [role=alert]");
      if (alert) throw new Error(`dashboard error: ${await alert.textContent()}`);
      const entries = await page.evaluate(() =>
        performance.getEntriesByType("resource").filter((e) => e.name.includes("/metrics?"))
          .map((e) => ({ url: e.name, ms: e.duration })));
      for (const e of entries) {
        const card = cardOf(e.url);
        (inPage[card] ??= []).push(round(e.ms));
        urls.set(card, e.url);
      }
    }
    const alone = {};
    for (let i = 0; i < RUNS; ++i) {
      for (const [card, url] of urls) {
        const ms = await page.evaluate(async (u) => {
          const t = performance.now();
          const r = await fetch(u, { cache: "no-store" });
          await r.text();
          if (!r.ok) throw new Error(`${r.status} ${u}`);
          return performance.now() - t;
        }, url);
        (alone[card] ??= []).push(round(ms));
      }
    }
    const requests = {};
    for (const card of urls.keys()) {
      requests[card] = {
        in_page_ms: inPage[card], in_page_p50: median(inPage[card]),
        alone_ms: alone[card], alone_p50: median(alone[card]),
      };
    }
    out.ranges[range] = { page_ms: pageMs, page_p50: median(pageMs), requests };
    console.error(`${range}: page p50 ${median(pageMs)} ms`);
  }
  for (const range of LIST_RANGES) {
    const ms = [];
    for (let i = 0; i < RUNS; ++i) {
      await page.goto("about:blank");
      const t0 = Date.now();
      await page.goto(`${BASE}/project/${PROJECT}/traces?range=${range}&limit=50`);
      await page.waitForFunction(() => document.querySelectorAll("[data-testid=traces-table] tbody tr[data-trace-id]").length === 50,
        null, { timeout: 120000, polling: 10 });
      ms.push(Date.now() - t0);
    }
    (out.trace_list ??= {})[range] = { ms, p50: median(ms) };
    console.error(`trace list ${range}: p50 ${median(ms)} ms`);
  }
  if (BIG_TRACE_ID) {
    const ms = [];
    for (let i = 0; i < RUNS; ++i) {
      await page.goto("about:blank");
      const t0 = Date.now();
      await page.goto(`${BASE}/project/${PROJECT}/traces/${BIG_TRACE_ID}`);
      await page.waitForSelector("[data-testid=observation-tree] .trow", { timeout: 120000 });
      await page.waitForFunction((n) => document.querySelector("[data-testid=obs-count]")?.textContent?.includes(n),
        BIG_TRACE_N.toLocaleString("en-US"), { timeout: 120000, polling: 10 });
      ms.push(Date.now() - t0);
    }
    out.big_trace = { observations: BIG_TRACE_N, ms, p50: median(ms) };
    console.error(`trace with ${BIG_TRACE_N} observations: p50 ${median(ms)} ms`);
  }
  await browser.close();
  if (problems.length) out.page_errors = problems;
  console.log(JSON.stringify(out, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

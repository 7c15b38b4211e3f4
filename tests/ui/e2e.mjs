// Browser test of Loupe's web UI: playwright-core driving Debian's chromium
// against a running server, as a person would use it. Run by
// tests/ui/test_ui_browser.py, which starts the server:
//
//   BASE_URL=http://127.0.0.1:PORT EMAIL=... PASSWORD=... PROJECT_ID=... \
//   PUBLIC_KEY=... SECRET_KEY=... SHOT_DIR=build/ui-screenshots \
//   SDK_DIR=tests/compat/node node tests/ui/e2e.mjs
//
// Prints one JSON line per step ({"step", "ok", ...}) and a final
// {"summary": {...timings}} line; exits non-zero on the first failure.
// Any page error or Content-Security-Policy violation fails the run.

import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { expect, launchBrowser, logStep as log, requireEnv as env, watchPage } from "./e2e_support.mjs";

const BASE = env("BASE_URL");
const EMAIL = env("EMAIL");
const PASSWORD = env("PASSWORD");
const PROJECT = env("PROJECT_ID");
const PK = env("PUBLIC_KEY");
const SK = env("SECRET_KEY");
const SHOTS = env("SHOT_DIR");
const SDK_DIR = env("SDK_DIR");
const BIG_N = Number(process.env.BIG_TRACE_OBSERVATIONS ?? 10000);
fs.mkdirSync(SHOTS, { recursive: true });

const { Langfuse } = createRequire(path.join(path.resolve(SDK_DIR), "package.json"))("langfuse");

const summary = {};
const problems = [];
let page;


async function shot(name) {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}


// ---- data through the public API (the SDK and a raw batch for the big trace)

async function ingest(pk, sk, batch) {
  const res = await fetch(`${BASE}/api/public/ingestion`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Authorization: "Basic " + Buffer.from(`${pk}:${sk}`).toString("base64"),
    },
    body: JSON.stringify({ batch }),
  });
  const body = await res.json();
  expect(res.status === 207 || res.status === 200, `ingestion status ${res.status}`);
  expect((body.errors ?? []).length === 0, `ingestion errors ${JSON.stringify(body.errors).slice(0, 300)}`);
}

const iso = (ms) => new Date(ms).toISOString();
let evSeq = 0;
const ev = (type, body, ts) => ({ id: `ev-${process.pid}-${evSeq++}`, type, timestamp: iso(ts ?? Date.now()), body });

async function seedListAndBigTrace(tag) {
  const now = Date.now();
  // 120 traces for the list (more than one page of 50).
  const batch = [];
  for (let i = 0; i < 120; i++) {
    const t = now - 60_000 - i * 1000;
    batch.push(ev("trace-create", { id: `${tag}-list-${i}`, name: `list-trace-${i % 7}`, timestamp: iso(t), userId: `list-user-${i % 5}`, input: { q: `question ${i}` }, output: `answer ${i}` }, t));
  }
  await ingest(PK, SK, batch);
  // One trace with BIG_N observations: a few root spans, each with a deep
  // and wide subtree of spans and generations.
  const traceId = `${tag}-big`;
  const t0 = now - 30_000;
  await ingest(PK, SK, [ev("trace-create", { id: traceId, name: "big-agent-run", timestamp: iso(t0), input: "run the agent", output: "done" }, t0)]);
  const obs = [];
  for (let i = 0; i < BIG_N; i++) {
    const parent = i === 0 ? null : i < 10 ? `${traceId}-o0` : `${traceId}-o${Math.floor(i / 10)}`;
    const start = t0 + i * 2;
    const isGen = i % 3 === 0 && i > 0;
    const body = {
      id: `${traceId}-o${i}`,
      traceId,
      parentObservationId: parent,
      name: isGen ? `llm-call-${i}` : `step-${i}`,
      startTime: iso(start),
      endTime: iso(start + 5 + (i % 40)),
    };
    if (isGen) {
      Object.assign(body, { model: "gpt-4o-mini", usage: { input: 100, output: 20 }, input: [{ role: "user", content: `step ${i}` }], output: { role: "assistant", content: `ok ${i}` } });
    }
    obs.push(ev(isGen ? "generation-create" : "span-create", body, start));
  }
  for (let i = 0; i < obs.length; i += 2000) await ingest(PK, SK, obs.slice(i, i + 2000));
  return traceId;
}

async function sendWithSdk(pk, sk, tag) {
  const errors = [];
  const lf = new Langfuse({ publicKey: pk, secretKey: sk, baseUrl: BASE, flushAt: 50, flushInterval: 100, fetchRetryCount: 1 });
  lf.on("error", (e) => errors.push(String(e?.message ?? e)));
  const session = `${tag}-session`;
  const turns = [
    ["What is Loupe?", "Loupe is an **observability** server for LLM apps."],
    ["Does it speak the Langfuse API?", "Yes:\n\n- ingestion\n- traces\n- scores"],
  ];
  for (let i = 0; i < turns.length; i++) {
    const [q, a] = turns[i];
    const trace = lf.trace({ id: `${tag}-chat-${i}`, name: "chat-turn", userId: `${tag}-user`, sessionId: session, input: q, output: a, tags: ["e2e", "chat"], metadata: { turn: i } });
    const retrieve = trace.span({ name: "retrieve", input: { query: q } });
    retrieve.event({ name: "cache-miss" });
    retrieve.end({ output: { documents: 3 } });
    const gen = trace.generation({
      name: "answer",
      model: "gpt-4o",
      modelParameters: { temperature: 0.2 },
      input: [
        { role: "system", content: "You are helpful." },
        { role: "user", content: q },
      ],
    });
    gen.end({ output: { role: "assistant", content: a }, usage: { input: 40 + i, output: 12 } });
    trace.score({ name: "helpfulness", value: 0.9 });
  }
  // Explicit times give the timeline something to show.
  const base = Date.now() - 5000;
  const at = (ms) => new Date(base + ms);
  const rag = lf.trace({ id: `${tag}-rag`, name: "rag-pipeline", userId: `${tag}-user`, timestamp: at(0), input: { question: "Why did it fail?" } });
  // update() rather than end(): end() stamps the current time over endTime.
  const outer = rag.span({ name: "pipeline", startTime: at(0) });
  const inner = outer.span({ name: "vector-search", startTime: at(40) });
  inner.span({ name: "embed-query", startTime: at(50) }).update({ endTime: at(310) });
  inner.update({ endTime: at(720), level: "ERROR", statusMessage: "index unavailable" });
  outer
    .generation({ name: "fallback-answer", model: "gpt-4o-mini", startTime: at(730), completionStartTime: at(900), input: "fallback", output: "I could not search." })
    .update({ endTime: at(1450), usage: { input: 5, output: 6 } });
  outer.update({ endTime: at(1500) });
  rag.update({ output: "I could not search." });
  await lf.flushAsync();
  await lf.shutdownAsync();
  expect(errors.length === 0, `SDK errors: ${errors.join("; ")}`);
  return { session, ragId: `${tag}-rag`, chatId: `${tag}-chat-0` };
}

// ---- the browser scenario

async function main() {
  const tag = `e2e${Date.now().toString(36)}`;
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  watchPage(page, problems, "", /status of 40[14]/);

  try {
    // Sign in (an unauthenticated deep link shows the sign-in page).
    await page.goto(`${BASE}/project/${PROJECT}/traces`);
    await page.waitForSelector("[data-testid=sign-in-form]");
    await page.fill("input[name=email]", EMAIL);
    await page.fill("input[name=password]", "wrong-password");
    await page.click("button[type=submit]");
    await page.waitForSelector("[role=alert]");
    expect((await page.textContent("[role=alert]")).includes("Invalid email or password"), "bad password message");
    await page.fill("input[name=password]", PASSWORD);
    await shot("01-sign-in");
    await page.click("button[type=submit]");
    await page.waitForSelector("[data-testid=traces-table]");
    log("sign-in");

    // Create a project and an API key.
    const orgOption = await page.$eval("[data-testid=project-switcher]", (s) => [...s.options].find((o) => o.value.startsWith("new:"))?.value);
    expect(orgOption, "a 'new project' option in the switcher");
    await page.selectOption("[data-testid=project-switcher]", orgOption);
    await page.fill("[data-testid=new-project-name]", `E2E ${tag}`);
    await page.click("[data-testid=new-project-submit]");
    await page.waitForSelector("[data-testid=api-keys-table]");
    const newProject = page.url().match(/\/project\/([^/]+)\//)[1];
    await page.click("[data-testid=create-key]");
    await page.waitForSelector("[data-testid=new-secret-key]");
    const sk = (await page.textContent("[data-testid=new-secret-key]")).trim();
    const pk = (await page.textContent("[data-testid=new-public-key]")).trim();
    expect(sk.startsWith("sk-lf-") && pk.startsWith("pk-lf-"), "new key pair shown");
    await shot("02-api-key-created");
    await page.click("[data-testid=close-key-modal]");
    await page.waitForSelector("[data-testid=revoke-key]");
    expect(!(await page.content()).includes(sk), "secret key not shown again");
    await page.waitForSelector(`[data-testid=members-table] >> text=${EMAIL}`);
    await shot("02b-settings");
    log("create-project-and-key", { project: newProject });

    // Traces from the real SDK with the new key.
    const sent = await sendWithSdk(pk, sk, tag);
    log("sdk-sent", sent);

    // Find a trace by filter (level ERROR, through its observations).
    await page.click("[data-testid=nav-traces]");
    await page.waitForSelector(`tr[data-trace-id="${sent.chatId}"]`);
    await shot("03-traces");
    await page.click("[data-testid=filter-button]");
    await page.click("[data-testid=filter-add]");
    await page.selectOption("[data-testid=filter-column-0]", "level");
    await page.selectOption("[data-testid=filter-operator-0]", "any of");
    await page.fill("[data-testid=filter-value-0]", "ERROR");
    await page.click("[data-testid=filter-apply]");
    await page.waitForFunction((id) => {
      const rows = document.querySelectorAll("[data-testid=traces-table] tbody tr[data-trace-id]");
      return rows.length === 1 && rows[0].getAttribute("data-trace-id") === id;
    }, sent.ragId);
    expect(decodeURIComponent(page.url()).includes('"column":"level"'), "filter in the URL");
    await shot("04-traces-filtered");
    // The URL is the view: reloading it shows the same single row.
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=traces-table] tbody tr[data-trace-id]").length === 1);
    log("filter-by-level");

    // Export the filtered view as JSON Lines: one line, the filtered trace.
    await page.click("[data-testid=export-button]");
    await page.click("[data-testid=export-format-jsonl]");
    await page.click("[data-testid=export-start]");
    await page.waitForSelector("[data-testid=export-link]");
    const exportHref = await page.getAttribute("[data-testid=export-link]", "href");
    const exported = await page.evaluate(async (href) => (await fetch(href)).text(), exportHref);
    const exportedIds = exported.trim().split("\n").map((line) => JSON.parse(line).id);
    expect(exportedIds.length === 1 && exportedIds[0] === sent.ragId, `export has the filtered trace: ${exportedIds}`);
    await shot("04b-traces-export");
    await page.click("[data-testid=export-button]");
    log("export-filtered");

    // Search by name, then open the trace.
    await page.goto(`${BASE}/project/${newProject}/traces?q=rag-pip`);
    await page.waitForSelector(`tr[data-trace-id="${sent.ragId}"]`);
    await page.click(`tr[data-trace-id="${sent.ragId}"] td.col-timestamp`);
    await page.waitForSelector("[data-testid=observation-tree] .trow");
    expect((await page.textContent("[data-testid=trace-title]")).includes("rag-pipeline"), "trace title");
    // Tree: collapse all, then expand the root span and its child.
    await page.click("[data-testid=collapse-all]");
    const collapsedRows = await page.$$eval("[data-testid=observation-tree] .trow", (r) => r.length);
    await page.click("[data-testid=observation-tree] [data-testid=tree-toggle]");
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=observation-tree] .trow").length > n, collapsedRows);
    await page.click("[data-testid=expand-all]");
    await page.waitForSelector("[data-testid=observation-tree] .trow:has-text('embed-query')");
    await page.click("[data-testid=observation-tree] .trow:has-text('vector-search')");
    await page.waitForSelector("[data-testid=observation-detail] >> text=index unavailable");
    await shot("05-trace-tree");
    // Keyboard: down moves to the next row (embed-query), up back.
    await page.keyboard.press("ArrowDown");
    await page.waitForSelector("[data-testid=observation-detail] h3 >> text=embed-query");
    await page.keyboard.press("ArrowUp");
    await page.waitForSelector("[data-testid=observation-detail] h3 >> text=vector-search");
    await page.click("[data-testid=view-timeline]");
    await page.waitForSelector("[data-testid=observation-tree] .tl-bar");
    expect(page.url().includes("view=timeline"), "timeline view in the URL");
    const bars = await page.$$eval(".tl-bar", (bs) => bs.map((b) => b.getBoundingClientRect().width));
    expect(bars.length >= 4 && bars.every((w) => w >= 1), `timeline bars ${bars}`);
    await shot("06-trace-timeline");
    log("trace-tree-and-timeline");

    // A chat generation renders as messages with Markdown.
    await page.goto(`${BASE}/project/${newProject}/traces/${sent.chatId}`);
    await page.waitForSelector("[data-testid=observation-tree] .trow:has-text('answer')");
    await page.click("[data-testid=observation-tree] .trow:has-text('answer')");
    await page.waitForSelector("[data-testid=io-input] .msg-system");
    await page.waitForSelector("[data-testid=io-output] .msg-assistant strong");
    await page.waitForSelector("[data-testid=usage] >> text=input");
    await shot("07-generation-chat");
    await page.click("[data-testid=trace-root]");
    await page.waitForSelector("[data-testid=scores] >> text=helpfulness");
    await page.waitForSelector("[data-testid=io-output] .md strong");
    log("chat-rendering");

    // The session replays its traces as a conversation.
    await page.click("[data-testid=session-link]");
    await page.waitForSelector("[data-testid=session-conversation] .turn");
    const turns = await page.$$eval("[data-testid=session-conversation] .turn", (t) => t.length);
    expect(turns === 2, `2 turns, got ${turns}`);
    await shot("08-session");
    await page.click("[data-testid=nav-sessions]");
    await page.waitForSelector(`[data-testid=sessions-table] >> text=${sent.session}`);
    log("session");

    await page.click("[data-testid=nav-users]");
    await page.waitForSelector(`[data-testid=users-table] >> text=${tag}-user`);
    await shot("09-users");
    log("users");

    const d0 = Date.now();
    await page.click("[data-testid=nav-dashboard]");
    await page.waitForSelector("[data-testid=chart-traces] svg polyline, [data-testid=chart-traces] svg circle");
    await page.waitForSelector("[data-testid=chart-cost] .bar-row >> text=gpt-4o");
    await page.waitForSelector("[data-testid=latency-model] td >> text=gpt-4o");
    await page.waitForSelector(`[data-testid=top-users] .bar-row >> text=${tag}-user`);
    summary.dashboardMs = Date.now() - d0;
    await shot("10-dashboard");
    log("dashboard");

    // ---- timings on the original project: a 50-row list and a big trace.
    const bigId = await seedListAndBigTrace(tag);
    log("seeded", { bigId, observations: BIG_N });
    const listTimes = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      await page.goto(`${BASE}/project/${PROJECT}/traces?range=all&limit=50`);
      await page.waitForFunction(() => document.querySelectorAll("[data-testid=traces-table] tbody tr[data-trace-id]").length === 50);
      listTimes.push(Date.now() - t0);
    }
    summary.traceList50RowsMs = listTimes;
    await shot("11-traces-50");
    const bigTimes = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      await page.goto(`${BASE}/project/${PROJECT}/traces/${bigId}`);
      await page.waitForSelector("[data-testid=observation-tree] .trow");
      await page.waitForFunction((n) => document.querySelector("[data-testid=obs-count]")?.textContent?.includes(n), BIG_N.toLocaleString("en-US"));
      bigTimes.push(Date.now() - t0);
    }
    summary.bigTraceOpenMs = bigTimes;
    const rendered = await page.$$eval("[data-testid=observation-tree] .trow", (r) => r.length);
    expect(rendered < 200, `virtualized: ${rendered} rows in the DOM`);
    // Scroll to the bottom and select the last observation.
    const s0 = Date.now();
    await page.$eval("[data-testid=observation-tree]", (el) => { el.scrollTop = el.scrollHeight; });
    await page.waitForSelector(`[data-obs-id="${bigId}-o${BIG_N - 1}"]`);
    summary.bigTraceScrollToEndMs = Date.now() - s0;
    await page.click(`[data-obs-id="${bigId}-o${BIG_N - 1}"]`);
    await page.waitForSelector("[data-testid=observation-detail]");
    await page.click("[data-testid=view-timeline]");
    await page.waitForSelector("[data-testid=observation-tree] .tl-bar");
    await shot("12-big-trace");
    log("timings", summary);

    // A new account: sign up, create an organization and a project.
    const other = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const p2 = await other.newPage();
    p2.on("pageerror", (e) => problems.push(`page error (sign-up): ${e.message}`));
    await p2.goto(`${BASE}/auth/sign-up`);
    await p2.fill("input[name=name]", "New User");
    await p2.fill("input[name=email]", `${tag}@loupe.test`);
    await p2.fill("input[name=password]", "short");
    await p2.click("button[type=submit]");
    // The browser's own check (minLength) or the server's message; then a valid one.
    await p2.fill("input[name=password]", "a-long-enough-password");
    await p2.click("button[type=submit]");
    await p2.waitForSelector("text=Create organization");
    await p2.fill("input[placeholder='New organization name']", `Org ${tag}`);
    await p2.click("text=Create organization");
    await p2.waitForSelector("[data-testid=new-project-name]");
    await p2.screenshot({ path: path.join(SHOTS, "13-setup-new-project.png") });
    await p2.fill("[data-testid=new-project-name]", "First project");
    await p2.click("[data-testid=new-project-submit]");
    await p2.waitForSelector("[data-testid=api-keys-table]");
    await p2.click("[data-testid=nav-traces]");
    await p2.waitForSelector("[data-testid=traces-table] >> text=No traces match");
    // This user sees nothing of the other organization's project.
    await p2.goto(`${BASE}/project/${PROJECT}/traces`);
    await p2.waitForSelector("text=Project not found");
    await other.close();
    log("sign-up-and-setup");

    // Sign out ends the session.
    await page.click("[data-testid=sign-out]");
    await page.waitForSelector("[data-testid=sign-in-form]");
    await page.goto(`${BASE}/project/${PROJECT}/traces`);
    await page.waitForSelector("[data-testid=sign-in-form]");
    log("sign-out");
  } catch (e) {
    try {
      await shot("failure");
    } catch {}
    problems.push(String(e?.stack ?? e));
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify({ summary, problems }));
  process.exit(problems.length ? 1 : 0);
}

main();

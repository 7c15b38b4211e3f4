// Browser test of the trace list's full-text search, score columns and
// filters, the agent graph, member invitations and account settings:
// playwright-core driving Debian's chromium against a server seeded by
// tests/ui/test_ui_search_scores_accounts.py (SEED holds the ids).
//
//   BASE_URL=... EMAIL=... PASSWORD=... PROJECT_ID=... SHOT_DIR=... \
//   SEED='{"tag":...,"bulkTag":...,"word":...,"traces":{...}}' \
//   node tests/ui/e2e_search_graph_accounts.mjs
//
// Prints one JSON line per step and a final {"problems": [...]} line; exits
// non-zero on the first failure. Page errors and CSP violations fail it.

import fs from "node:fs";
import path from "node:path";
import { expect, launchBrowser, logStep as log, requireEnv as env, signIn, watchPage } from "./e2e_support.mjs";

const BASE = env("BASE_URL");
const PROJECT = env("PROJECT_ID");
const SHOTS = env("SHOT_DIR");
const SEED = JSON.parse(env("SEED"));
fs.mkdirSync(SHOTS, { recursive: true });

const problems = [];
let page;
const shotOf = (p, name) => p.screenshot({ path: path.join(SHOTS, `${name}.png`) });
const P = `${BASE}/project/${PROJECT}`;
const T = SEED.traces;

const watch = (p, label) => watchPage(p, problems, label);

const rowIds = (p) => p.$$eval("[data-testid=traces-table] tbody tr[data-trace-id]", (rs) => rs.map((r) => r.getAttribute("data-trace-id")));

async function waitForRows(p, ids) {
  await p.waitForFunction((want) => {
    const got = [...document.querySelectorAll("[data-testid=traces-table] tbody tr[data-trace-id]")].map((r) => r.getAttribute("data-trace-id"));
    return got.length === want.length && want.every((id) => got.includes(id));
  }, ids);
}

async function search(p, text) {
  await p.fill("[data-testid=trace-search]", text);
  await p.press("[data-testid=trace-search]", "Enter");
}

// Boxes of the graph must not overlap each other and must lie in the drawing.
async function checkGraphLayout(p) {
  const boxes = await p.$$eval("[data-testid=agent-graph] .graph-node rect", (rs) => rs.map((r) => {
    const b = r.getBoundingClientRect();
    return { x: b.x, y: b.y, w: b.width, h: b.height };
  }));
  const svg = await p.$eval("[data-testid=agent-graph] svg", (s) => {
    const b = s.getBoundingClientRect();
    return { x: b.x, y: b.y, w: b.width, h: b.height };
  });
  for (const [i, a] of boxes.entries()) {
    expect(a.w > 100 && a.h > 30, `node ${i} has a size`);
    expect(a.x >= svg.x - 1 && a.y >= svg.y - 1 && a.x + a.w <= svg.x + svg.w + 1 && a.y + a.h <= svg.y + svg.h + 1, `node ${i} inside the svg`);
    for (const b of boxes.slice(i + 1)) {
      const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
      expect(apart, `nodes overlap: ${JSON.stringify([a, b])}`);
    }
  }
  return boxes.length;
}

async function main() {
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  watch(page, "owner");
  try {
    await page.goto(`${P}/traces`);
    await signIn(page, env("EMAIL"), env("PASSWORD"));
    await page.waitForSelector("[data-testid=traces-table]");

    // ---- Full-text search. Over the whole project the word is in more
    // traces than one search reads: the page says so.
    await page.selectOption("[data-testid=search-mode]", "text");
    await page.waitForFunction(() => location.search.includes("searchIn=text"));
    await search(page, SEED.word);
    await page.waitForSelector("[data-testid=search-note].warn");
    const note = await page.textContent("[data-testid=search-note]");
    expect(/newest 60 traces/.test(note), `budget note: ${note}`);
    expect((await rowIds(page)).every((id) => id.startsWith(SEED.bulkTag)), "the newest traces were searched");
    await page.screenshot({ path: path.join(SHOTS, "31-search-budget.png") });

    // Narrowed by a tag filter, every trace of the tag is searched; then a
    // phrase of one trace's output finds that trace.
    await page.click("[data-testid=filter-button]");
    await page.click("[data-testid=filter-add]");
    await page.selectOption("[data-testid=filter-column-0]", "tags");
    await page.fill("[data-testid=filter-value-0]", SEED.tag);
    await page.click("[data-testid=filter-apply]");
    await waitForRows(page, [T.chat, T.caps, T.quote]);
    expect(/all 7 traces/.test(await page.textContent("[data-testid=search-note]")), "searched all 7");
    await search(page, "stone TOWN");
    await waitForRows(page, [T.chat]);
    const url = decodeURIComponent(page.url().replace(/\+/g, " "));
    expect(url.includes("q=stone TOWN") && url.includes("searchIn=text"), `search in the URL: ${url}`);
    expect((await page.textContent("[data-testid=trace-total]")).includes("1 trace found"), "total");
    await page.screenshot({ path: path.join(SHOTS, "30-search-text.png") });
    // The URL is the view.
    await page.reload();
    await waitForRows(page, [T.chat]);
    expect((await page.inputValue("[data-testid=trace-search]")) === "stone TOWN", "search box keeps the text");
    await page.click(`tr[data-trace-id="${T.chat}"] td.col-timestamp`);
    await page.waitForSelector("[data-testid=trace-title] >> text=support-chat");
    log("find-by-text");

    // ---- Score columns.
    const tagFilter = encodeURIComponent(JSON.stringify([{ column: "tags", operator: "any of", value: SEED.tag }]));
    await page.goto(`${P}/traces?filter=${tagFilter}`);
    await waitForRows(page, [T.chat, T.caps, T.meta, T.name, T.quote, T.plain, T.agent]);
    await page.click("[data-testid=columns-button]");
    await page.click("[data-testid=score-col-accuracy]");
    await page.click("[data-testid=score-col-quality]");
    await page.waitForSelector("th >> text=accuracy");
    // With a column per score, all scores in one column say nothing more.
    expect((await page.textContent(`tr[data-trace-id="${T.plain}"] td.col-scores`)).includes("resolved: 1"), "scores column");
    await page.click("[data-testid=col-scores]");
    await page.click("[data-testid=columns-button]");
    await page.waitForSelector("th >> text=quality");
    const cell = (id, col) => page.textContent(`tr[data-trace-id="${id}"] td.col-score\\:${col}`);
    expect((await cell(T.chat, "accuracy")).trim() === "0.9", `chat accuracy ${await cell(T.chat, "accuracy")}`);
    expect((await cell(T.caps, "accuracy")).trim() === "0.4 (n=2)", `caps accuracy ${await cell(T.caps, "accuracy")}`);
    expect((await cell(T.caps, "quality")).trim() === "bad", "caps quality");
    expect(decodeURIComponent(page.url()).includes("score:accuracy"), "score columns in the URL");
    const fits = await page.$eval("[data-testid=traces-table]", (t) => t.getBoundingClientRect().right <= t.parentElement.getBoundingClientRect().right + 1);
    expect(fits, "the score columns fit the page without scrolling");
    await page.screenshot({ path: path.join(SHOTS, "32-score-columns.png") });
    log("score-columns");

    // ---- Score filter: accuracy >= 0.8.
    await page.click("[data-testid=filter-button]");
    await page.click("[data-testid=filter-add]");
    await page.selectOption("[data-testid=filter-column-1]", "scores");
    await page.selectOption("[data-testid=filter-key-1]", "accuracy");
    await page.selectOption("[data-testid=filter-operator-1]", ">=");
    await page.fill("[data-testid=filter-value-1]", "0.8");
    await page.click("[data-testid=filter-apply]");
    await waitForRows(page, [T.chat]);
    await page.waitForSelector(".chip >> text=Score accuracy >= 0.8");
    await page.screenshot({ path: path.join(SHOTS, "33-score-filter.png") });
    // A categorical one instead: quality any of bad.
    await page.click(".chip:has-text('Score accuracy') .x");
    await page.click("[data-testid=filter-button]");
    await page.click("[data-testid=filter-add]");
    await page.selectOption("[data-testid=filter-column-1]", "scoreCategories");
    await page.selectOption("[data-testid=filter-key-1]", "quality");
    await page.fill("[data-testid=filter-value-1]", "bad");
    await page.click("[data-testid=filter-apply]");
    await waitForRows(page, [T.caps]);
    log("score-filter");

    // ---- The agent graph: one box per step name, arrows parent → child.
    await page.goto(`${P}/traces/${T.agent}`);
    await page.waitForSelector("[data-testid=observation-tree] .trow");
    await page.click("[data-testid=view-graph]");
    await page.waitForSelector("[data-testid=agent-graph] svg");
    expect(page.url().includes("view=graph"), "graph view in the URL");
    const names = await page.$$eval("[data-testid=agent-graph] .graph-node", (ns) => ns.map((n) => n.getAttribute("data-node")));
    expect(JSON.stringify([...names].sort()) === JSON.stringify(["agent", "agent-run", "llm", "search-tool"]), `nodes ${names}`);
    // Layers top to bottom: the trace, the agent, then its steps side by side.
    const top = await page.$$eval("[data-testid=agent-graph] .graph-node", (ns) => Object.fromEntries(ns.map((n) => [n.getAttribute("data-node"), n.getBoundingClientRect().top])));
    expect(top["agent-run"] < top.agent && top.agent < top.llm && top.llm === top["search-tool"], `layers ${JSON.stringify(top)}`);
    const edges = await page.$$eval("[data-testid=agent-graph] .graph-edge", (es) => es.map((e) => e.getAttribute("data-edge") + ":" + (e.querySelector("text")?.textContent ?? "")));
    for (const e of ["agent-run>agent:", "agent>llm:×3", "agent>search-tool:×3", "search-tool>agent:"]) {
      expect(edges.includes(e), `edge ${e} in ${edges}`);
    }
    expect((await checkGraphLayout(page)) === 4, "4 boxes");
    await page.click("[data-testid=agent-graph] .graph-node[data-node=search-tool]");
    await page.waitForSelector("[data-testid=observation-detail] h3 >> text=search-tool");
    await page.waitForSelector("[data-testid=agent-graph] .graph-node.sel[data-node=search-tool]");
    await page.screenshot({ path: path.join(SHOTS, "34-agent-graph.png") });
    // Hundreds of distinct step names: boxes per type, and the page says so.
    await page.goto(`${P}/traces/${T.wide}?view=graph`);
    await page.waitForSelector("[data-testid=agent-graph] >> text=grouped by type");
    const wide = await page.$$eval("[data-testid=agent-graph] .graph-node", (ns) => ns.map((n) => n.getAttribute("data-node")));
    expect(JSON.stringify(wide) === JSON.stringify(["wide-run", "Spans", "Generations"]) || JSON.stringify(wide) === JSON.stringify(["wide-run", "Generations", "Spans"]), `grouped nodes ${wide}`);
    await checkGraphLayout(page);
    await page.screenshot({ path: path.join(SHOTS, "38-agent-graph-by-type.png") });
    log("agent-graph", { nodes: names.length, edges: edges.length });

    // ---- Invite a member by email (no account yet).
    const invitee = `invitee-${Date.now().toString(36)}@loupe.test`;
    await page.click("[data-testid=nav-settings]");
    await page.waitForSelector("[data-testid=members-table]");
    await page.fill("[data-testid=member-email]", invitee);
    await page.selectOption("[data-testid=member-role]", "MEMBER");
    await page.click("[data-testid=member-add]");
    await page.waitForSelector("[data-testid=member-notice] >> text=invitation is pending");
    await page.waitForSelector(`[data-testid=invitations-table] tr[data-invitation="${invitee}"]`);
    const link = (await page.getAttribute(`tr[data-invitation="${invitee}"] code`, "title")) ?? "";
    expect(link.startsWith(BASE) && link.includes("/auth/sign-up?email="), `sign-up link ${link}`);
    await page.$eval(`tr[data-invitation="${invitee}"]`, (r) => r.scrollIntoView({ block: "center" }));
    await page.screenshot({ path: path.join(SHOTS, "36-invitation.png") });
    log("invitation");

    // ---- The invited person signs up through the link and is a member.
    const other = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const p2 = await other.newPage();
    watch(p2, "invitee");
    await p2.goto(link);
    await p2.waitForSelector("[data-testid=sign-up-form]");
    expect((await p2.inputValue("input[name=email]")) === invitee, "email filled in from the link");
    await p2.fill("input[name=name]", "Ivy Invitee");
    await p2.fill("input[name=password]", "invitee-password-1");
    await p2.click("button[type=submit]");
    await p2.waitForSelector(".role >> text=Role: MEMBER");
    expect(p2.url().includes(`/project/${PROJECT}`), `lands in the project: ${p2.url()}`);
    await p2.click("[data-testid=nav-traces]");
    await p2.waitForSelector("[data-testid=traces-table] tbody tr[data-trace-id]");
    await shotOf(p2, "37-invited-sign-up");
    await page.reload();
    await page.waitForSelector(`[data-testid=members-table] >> text=${invitee}`);
    expect(!(await page.$(`tr[data-invitation="${invitee}"]`)), "invitation gone once accepted");
    log("invited-sign-up");

    // ---- Account settings of the new member: name, then password.
    await p2.click("[data-testid=nav-account]");
    await p2.waitForSelector("[data-testid=profile-form]");
    expect(p2.url().endsWith("/account/settings"), `account page path: ${p2.url()}`);
    await p2.fill("[data-testid=account-name]", "Ivy Renamed");
    await p2.click("[data-testid=account-save]");
    await p2.waitForSelector("[data-testid=profile-saved]");
    await p2.waitForSelector("[data-testid=nav-account] >> text=Ivy Renamed");
    await p2.fill("[data-testid=password-current]", "not-my-password");
    await p2.fill("[data-testid=password-new]", "invitee-password-2");
    await p2.fill("[data-testid=password-confirm]", "invitee-password-2");
    await p2.click("[data-testid=password-submit]");
    await p2.waitForSelector("[data-testid=password-form] [role=alert] >> text=current password is not correct");
    await p2.fill("[data-testid=password-current]", "invitee-password-1");
    await p2.fill("[data-testid=password-new]", "invitee-password-2");
    await p2.fill("[data-testid=password-confirm]", "invitee-password-2");
    await p2.click("[data-testid=password-submit]");
    await p2.waitForSelector("[data-testid=password-changed]");
    await shotOf(p2, "35-account");
    await p2.click("[data-testid=sign-out]");
    await p2.waitForSelector("[data-testid=sign-in-form]");
    await p2.fill("input[name=email]", invitee);
    await p2.fill("input[name=password]", "invitee-password-2");
    await p2.click("button[type=submit]");
    await p2.waitForSelector("[data-testid=nav-account] >> text=Ivy Renamed");
    await other.close();
    log("account");
  } catch (e) {
    try {
      await page.screenshot({ path: path.join(SHOTS, "failure-search-graph-accounts.png") });
    } catch {}
    problems.push(String(e?.stack ?? e));
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify({ problems }));
  process.exit(problems.length ? 1 : 0);
}

main();

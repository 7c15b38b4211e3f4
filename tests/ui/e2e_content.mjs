// Browser test of the prompts, datasets and scores pages: playwright-core
// driving Debian's chromium against a server seeded by
// tests/ui/test_ui_prompts_datasets_scores.py (SEED holds the names).
//
//   BASE_URL=... EMAIL=... PASSWORD=... PROJECT_ID=... SHOT_DIR=... \
//   SEED='{"tag":...,"text":...,"chat":...,"dataset":...}' PUBLIC_AUTH='Basic ...' \
//   node tests/ui/e2e_content.mjs
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
const PUBLIC_AUTH = env("PUBLIC_AUTH");
fs.mkdirSync(SHOTS, { recursive: true });

const problems = [];
let page;
const shot = (name, fullPage = false) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
const P = `${BASE}/project/${PROJECT}`;
const enc = encodeURIComponent;

async function publicGet(p) {
  const res = await fetch(`${BASE}${p}`, { headers: { Authorization: PUBLIC_AUTH } });
  return { status: res.status, body: await res.json() };
}

async function main() {
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
  watchPage(page, problems);
  try {
    await page.goto(`${P}/prompts`);
    await signIn(page, env("EMAIL"), env("PASSWORD"));

    // The list, found by search.
    await page.waitForSelector("[data-testid=prompts-table]");
    await page.fill("[data-testid=prompt-search]", SEED.tag);
    await page.press("[data-testid=prompt-search]", "Enter");
    await page.waitForSelector(`tr[data-prompt="${SEED.text}"]`);
    await page.waitForSelector(`tr[data-prompt="${SEED.chat}"]`);
    await shot("20-prompts");
    log("prompts-list");

    // A new version of the text prompt from v2, with a config change.
    await page.click(`tr[data-prompt="${SEED.text}"] a`);
    await page.waitForSelector("[data-testid=prompt-versions] [data-version='2']");
    await page.click("[data-testid=new-version]");
    await page.waitForSelector("[data-testid=prompt-text]");
    expect((await page.inputValue("[data-testid=prompt-text]")).includes("{{topic}}"), "editor starts from v2");
    await page.fill("[data-testid=prompt-text]", "Hello {{name}}!\nHow can I help with {{topic}} today?\nAnswer in {{language}}.");
    await page.fill("[data-testid=prompt-config]", "{ not json");
    await page.waitForSelector(".prompt-form .error");
    await page.fill("[data-testid=prompt-config]", '{\n  "temperature": 0.7,\n  "model": "gpt-4o-mini"\n}');
    await page.fill("[data-testid=prompt-commit]", "answer in a language");
    await shot("21-prompt-new-version");
    await page.click("[data-testid=prompt-submit]");
    await page.waitForSelector("[data-testid=prompt-versions] [data-version='3'].on");
    log("prompt-version-created");

    // Promote it.
    await page.click("[data-testid=promote-production]");
    await page.waitForSelector("[data-testid=prompt-versions] [data-version='3'] .label-prod");
    expect(!(await page.$("[data-testid=prompt-versions] [data-version='1'] .label-prod")), "production left v1");
    await shot("22-prompt-promoted");
    log("prompt-promoted");
    const got = await publicGet(`/api/public/v2/prompts/${enc(SEED.text)}?label=production`);
    expect(got.status === 200 && got.body.version === 3, `production is v3: ${JSON.stringify(got.body).slice(0, 200)}`);
    expect(got.body.prompt.includes("{{language}}") && got.body.config.model === "gpt-4o-mini", "content read back");
    expect(got.body.labels.includes("latest") && got.body.commitMessage === "answer in a language", "labels and message");
    log("prompt-read-back", { version: got.body.version });

    // A generation's prompt link opens the version it was made with.
    await page.goto(`${P}/traces/${enc(`${SEED.tag}-prompted`)}?observation=${enc(`${SEED.tag}-gen`)}`);
    await page.waitForSelector("[data-testid=linked-prompt]");
    expect((await page.textContent("[data-testid=linked-prompt]")).trim() === `${SEED.text} v2`, "prompt link text");
    await page.click("[data-testid=linked-prompt]");
    await page.waitForSelector("[data-testid=prompt-versions] [data-version='2'].on");
    expect(new URL(page.url()).searchParams.get("version") === "2", "prompt page opened at v2");
    log("linked-prompt");
    await page.goto(`${P}/prompts/${enc(SEED.text)}?version=3`);
    await page.waitForSelector("[data-testid=prompt-versions] [data-version='3'].on");

    // Diff v3 against v1.
    await page.click("[data-testid=diff-tab]");
    await page.waitForSelector("[data-testid=prompt-diff]");
    await page.selectOption("[data-testid=diff-base]", "1");
    await page.waitForSelector("[data-testid=prompt-diff] .diff-add");
    const added = await page.$$eval("[data-testid=prompt-diff] .diff-add", (els) => els.map((e) => e.textContent));
    expect(added.some((t) => t.includes("{{language}}")), "diff shows the added line");
    await shot("23-prompt-diff");
    log("prompt-diff");

    // A chat prompt version with a new placeholder, in the editor.
    await page.goto(`${P}/prompts/${enc(SEED.chat)}`);
    await page.waitForSelector("[data-testid=prompt-content] .msg-placeholder");
    await page.click("[data-testid=new-version]");
    await page.waitForSelector("[data-testid=message-content-0]");
    await page.click("[data-testid=add-placeholder]");
    const n = await page.$$eval(".msg-edit", (els) => els.length);
    await page.fill(`[data-testid=placeholder-name-${n - 1}]`, "examples");
    await page.fill("[data-testid=message-content-0]", "You are {{persona}}. Follow the examples.");
    await page.check("[data-testid=prompt-production]");
    await shot("24-chat-prompt-editor", true);
    await page.click("[data-testid=prompt-submit]");
    await page.waitForSelector("[data-testid=prompt-versions] .version.on .label-prod");
    const chat = await publicGet(`/api/public/v2/prompts/${enc(SEED.chat)}?label=production`);
    expect(chat.status === 200 && chat.body.prompt.at(-1).name === "examples", "chat prompt placeholder saved");
    log("chat-prompt-version", { version: chat.body.version });

    // Datasets: list, runs with scores side by side, one run.
    await page.click("[data-testid=nav-datasets]");
    await page.waitForSelector(`tr[data-dataset="${SEED.dataset}"]`);
    await shot("25-datasets");
    await page.click(`tr[data-dataset="${SEED.dataset}"] a`);
    await page.waitForSelector("[data-testid=runs-table] tr[data-run='run-a']");
    const head = await page.$$eval("[data-testid=runs-table] th", (els) => els.map((e) => e.textContent));
    expect(head.includes("exact_match") && head.includes("quality"), `score columns: ${head}`);
    const runA = await page.textContent("[data-testid=runs-table] tr[data-run='run-a']");
    expect(runA.includes("0.67"), `run-a average: ${runA}`);
    await shot("26-dataset-runs");
    await page.click("[data-testid=tab-items]");
    await page.waitForSelector("[data-testid=items-table] tbody tr");
    log("dataset-runs");
    await page.click("[data-testid=tab-runs]");
    await page.click("[data-testid=runs-table] tr[data-run='run-a'] a");
    await page.waitForSelector("[data-testid=run-items-table] tbody tr");
    const rows = await page.$$eval("[data-testid=run-items-table] tbody tr", (els) => els.length);
    expect(rows === 3, `3 run items, got ${rows}`);
    await shot("27-dataset-run");
    log("dataset-run");

    // Scores: filter by name and value, then the configs.
    await page.click("[data-testid=nav-scores]");
    await page.waitForSelector("[data-testid=scores-table] tbody tr[data-score]");
    await page.fill("[data-testid=score-filter-name]", "exact_match");
    await page.selectOption("[data-testid=score-filter-op]", "<");
    await page.fill("[data-testid=score-filter-value]", "1");
    await page.click("[data-testid=score-filter-apply]");
    await page.waitForFunction(() => new URL(location.href).searchParams.get("operator") === "<");
    // The table keeps the unfiltered rows until the filtered page arrives:
    // wait for that page (or time out and report what is shown).
    await page
      .waitForFunction(() => {
        const rows = [...document.querySelectorAll("[data-testid=scores-table] tbody tr[data-score]")];
        return rows.length === 1 && rows[0].dataset.score === "exact_match";
      }, null, { timeout: 15000 })
      .catch(() => {});
    const names = await page.$$eval("[data-testid=scores-table] tbody tr[data-score]", (els) => els.map((e) => e.dataset.score));
    expect(names.length === 1 && names[0] === "exact_match", `one failing score: ${names}`);
    await shot("28-scores");
    await page.click("[data-testid=tab-configs]");
    await page.waitForSelector(`[data-testid=score-configs-table] tr[data-config="${SEED.tag}-accuracy"]`);
    await shot("29-score-configs");
    log("scores");
  } catch (e) {
    problems.push(String(e?.stack ?? e));
    await shot("content-failure").catch(() => null);
  }
  await browser.close();
  console.log(JSON.stringify({ problems }));
  process.exit(problems.length ? 1 : 0);
}

main();

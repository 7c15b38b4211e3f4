// Browser test of Settings → Models and Settings → LLM connections:
// playwright-core driving Debian's chromium against the server of
// tests/ui/test_ui_models_llm_connections.py.
//
//   BASE_URL=... EMAIL=... PASSWORD=... PROJECT_ID=... SHOT_DIR=... TAG=... \
//   node tests/ui/e2e_models_llm_connections.mjs
//
// Prints one JSON line per step and a final {"problems": [...]} line; exits
// non-zero on the first failure. Page errors and CSP violations fail it.

import fs from "node:fs";
import path from "node:path";
import { expect, launchBrowser, logStep as log, requireEnv as env, signIn, watchPage } from "./e2e_support.mjs";

const BASE = env("BASE_URL");
const PROJECT = env("PROJECT_ID");
const SHOTS = env("SHOT_DIR");
const TAG = env("TAG");
fs.mkdirSync(SHOTS, { recursive: true });

const problems = [];

async function main() {
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  watchPage(page, problems, "owner");
  page.on("dialog", (d) => d.accept());
  try {
    await page.goto(`${BASE}/project/${PROJECT}/settings/api-keys`);
    await signIn(page, env("EMAIL"), env("PASSWORD"));
    await page.waitForSelector("[data-testid=settings-nav]");

    // ---- Models: the tab, the defaults, a new project model.
    await page.click("[data-testid=settings-models]");
    await page.waitForSelector("[data-testid=default-models] [data-testid=model-row]");
    expect(page.url().endsWith(`/project/${PROJECT}/settings/models`), `models path: ${page.url()}`);
    const model = `${TAG}-model`;
    await page.fill("[data-testid=model-name]", model);
    await page.fill("[data-testid=model-pattern]", `(?i)^(${model})$`);
    await page.fill("[data-testid=model-input-price]", "0.000003");
    await page.fill("[data-testid=model-output-price]", "0.000015");
    await page.click("[data-testid=create-model]");
    await page.waitForSelector(`[data-testid=project-models] td >> text=${model}`);
    const row = await page.textContent(`[data-testid=project-models] tr:has(td:text-is("${model}"))`);
    expect(row.includes("0.000003") && row.includes("15 / 1M"), `model row: ${row}`);
    // A second model with the same name is refused with the server's message.
    await page.fill("[data-testid=model-name]", model);
    await page.fill("[data-testid=model-pattern]", "x");
    await page.fill("[data-testid=model-total-price]", "1");
    await page.click("[data-testid=create-model]");
    await page.waitForSelector("[data-testid=model-form] [role=alert]");
    await page.screenshot({ path: path.join(SHOTS, "40-settings-models.png"), fullPage: false });
    log("model-created", { model });

    // ---- LLM connections: create one; the list shows only the key's end.
    await page.click("[data-testid=settings-llm-connections]");
    await page.waitForSelector("[data-testid=llm-connections-table]");
    const provider = `${TAG}-openai`;
    await page.fill("[data-testid=llm-provider]", provider);
    await page.selectOption("[data-testid=llm-adapter]", "openai");
    await page.fill("[data-testid=llm-secret]", "sk-proj-very-secret-ABCD");
    await page.fill("[data-testid=llm-base-url]", "https://llm.example.com/v1");
    await page.click("[data-testid=save-llm-connection]");
    await page.waitForSelector(`[data-testid=llm-connection-row] >> text=${provider}`);
    const text = await page.textContent("[data-testid=llm-connections-table]");
    expect(text.includes("...ABCD") && !text.includes("very-secret"), `connections: ${text}`);
    await page.screenshot({ path: path.join(SHOTS, "41-settings-llm-connections.png"), fullPage: false });
    log("llm-connection-created", { provider });

    // Back on Models, the project model is deleted.
    await page.click("[data-testid=settings-models]");
    await page.waitForSelector(`[data-testid=project-models] td >> text=${model}`);
    await page.click(`[data-testid=project-models] tr:has(td:text-is("${model}")) [data-testid=delete-model]`);
    await page.waitForSelector(`[data-testid=project-models] td >> text=${model}`, { state: "detached" });
    log("model-deleted");
  } catch (e) {
    try {
      await page.screenshot({ path: path.join(SHOTS, "failure-models-llm-connections.png") });
    } catch {}
    problems.push(String(e?.stack ?? e));
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify({ problems }));
  process.exit(problems.length ? 1 : 0);
}

main();

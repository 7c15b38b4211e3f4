// Drives the npm `langfuse` JS SDK v3 against a Loupe server and prints one JSON
// line: {"results": {...}, "errors": [...]}. Run by tests/api/test_sdk_js_v3.py:
//   NODE_PATH=tests/compat/node/node_modules LF_HOST=http://127.0.0.1:PORT \
//   LF_PREFIX=js-abc node sdk_v3.cjs prompts|datasets
// CommonJS so that NODE_PATH resolves the SDK installed for tests/compat.
const { Langfuse } = require("langfuse");

const host = process.env.LF_HOST;
const p = process.env.LF_PREFIX;
const scenario = process.argv[2];
if (!host || !p || !scenario) {
  console.error("LF_HOST, LF_PREFIX and a scenario argument are required");
  process.exit(2);
}

const errors = [];
const lf = new Langfuse({
  publicKey: process.env.LF_PUBLIC_KEY ?? "pk-lf-test",
  secretKey: process.env.LF_SECRET_KEY ?? "sk-lf-test",
  baseUrl: host,
  flushAt: 100,
  flushInterval: 200,
  requestTimeout: 10000,
  fetchRetryCount: 1,
});
lf.on("error", (e) => errors.push(String(e?.message ?? e)));

async function prompts() {
  const r = {};
  const text = `${p}-text`;
  const created = await lf.createPrompt({
    name: text,
    prompt: "Hello {{name}}, you are {{role}}",
    labels: ["production"],
    config: { model: "gpt-4o", temperature: 0.3 },
    tags: ["js"],
    commitMessage: "from js",
  });
  r.createdText = { version: created.version, labels: created.labels, tags: created.tags };
  await lf.createPrompt({ name: text, prompt: "Second {{name}}", labels: ["staging"] });

  const prod = await lf.getPrompt(text, undefined, { cacheTtlSeconds: 0 });
  r.production = { version: prod.version, compiled: prod.compile({ name: "Ada", role: "a tester" }),
                   config: prod.config, isFallback: prod.isFallback };
  const byLabel = await lf.getPrompt(text, undefined, { label: "staging", cacheTtlSeconds: 0 });
  r.staging = { version: byLabel.version, compiled: byLabel.compile({ name: "Bob" }) };
  const byVersion = await lf.getPrompt(text, 1, { cacheTtlSeconds: 0 });
  r.version1 = { version: byVersion.version, labels: byVersion.labels };

  await lf.updatePrompt({ name: text, version: 2, newLabels: ["production"] });
  const moved = await lf.getPrompt(text, undefined, { cacheTtlSeconds: 0 });
  r.afterUpdate = { version: moved.version, labels: moved.labels };

  const chat = `${p}-chat`;
  const chatCreated = await lf.createPrompt({
    name: chat,
    type: "chat",
    labels: ["production"],
    prompt: [
      { role: "system", content: "You are {{role}}" },
      { type: "placeholder", name: "history" },
      { role: "user", content: "{{question}}" },
    ],
  });
  r.createdChat = { version: chatCreated.version, type: chatCreated.type, prompt: chatCreated.prompt };
  const chatPrompt = await lf.getPrompt(chat, undefined, { type: "chat", cacheTtlSeconds: 0 });
  r.chatCompiled = chatPrompt.compile(
    { role: "a helper", question: "why?" },
    { history: [{ role: "user", content: "earlier" }, { role: "assistant", content: "reply" }] });
  r.chatUnfilled = chatPrompt.compile({ role: "r", question: "q" });

  const folder = `${p}-folder/sub/prompt`;
  await lf.createPrompt({ name: folder, prompt: "foldered", labels: ["production"] });
  const f = await lf.getPrompt(folder, undefined, { cacheTtlSeconds: 0 });
  r.folder = { name: f.name, compiled: f.compile() };

  try {
    await lf.getPrompt(`${p}-missing`, undefined, { cacheTtlSeconds: 0, maxRetries: 0 });
    r.missing = "no error";
  } catch (e) {
    r.missing = String(e?.message ?? e);
  }
  const fb = await lf.getPrompt(`${p}-missing`, undefined,
                                { cacheTtlSeconds: 0, maxRetries: 0, fallback: "fb {{x}}" });
  r.fallback = { isFallback: fb.isFallback, compiled: fb.compile({ x: "y" }) };
  return r;
}

async function datasets() {
  const r = {};
  const name = `${p}-ds`;
  const created = await lf.createDataset({ name, description: "js dataset", metadata: { team: "js" } });
  r.created = { name: created.name, description: created.description, metadata: created.metadata,
                items: created.items, runs: created.runs };
  const again = await lf.createDataset(name);  // upsert by name
  r.upsert = { sameId: again.id === created.id, description: again.description };

  for (let i = 0; i < 3; i++) {
    await lf.createDatasetItem({ datasetName: name, id: `${name}-${i}`, input: { n: i },
                                 expectedOutput: i * 10, metadata: { i } });
  }
  await lf.createDatasetItem({ datasetName: name, id: `${name}-x`, input: { n: -1 }, status: "ARCHIVED" });

  const ds = await lf.getDataset(name, { fetchItemsPageSize: 2 });
  r.dataset = { name: ds.name, description: ds.description, metadata: ds.metadata,
                items: ds.items.map((i) => [i.id, i.status, i.expectedOutput]).sort() };

  const linked = [];
  const active = ds.items.filter((i) => i.status === "ACTIVE").sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const item of active) {
    const trace = lf.trace({ name: "js-experiment", input: item.input });
    const generation = trace.generation({ name: "times-ten", input: item.input, output: item.input.n * 10 });
    const target = item.id.endsWith("-0") ? generation : trace;
    const ri = await item.link(target, "js-run", { description: "js run", metadata: { model: "m" } });
    linked.push({ item: ri.datasetItemId, run: ri.datasetRunName, traceMatches: ri.traceId === trace.id,
                  observationId: ri.observationId === null ? null : ri.observationId === generation.id });
  }
  r.linked = linked;
  await lf.flushAsync();

  const run = await lf.getDatasetRun({ datasetName: name, runName: "js-run" });
  r.run = { name: run.name, description: run.description, metadata: run.metadata,
            items: run.datasetRunItems.map((x) => x.datasetItemId).sort() };
  const runs = await lf.getDatasetRuns(name);
  r.runs = { names: runs.data.map((x) => x.name), total: runs.meta.totalItems };
  const item = await lf.getDatasetItem(`${name}-1`);
  r.item = { input: item.input, expectedOutput: item.expectedOutput, metadata: item.metadata,
             status: item.status };
  return r;
}

const scenarios = { prompts, datasets };

(async () => {
  let results = {};
  try {
    if (!scenarios[scenario]) throw new Error(`unknown scenario ${scenario}`);
    results = await scenarios[scenario]();
    await lf.shutdownAsync();
  } catch (e) {
    errors.push(`scenario failed: ${e?.stack ?? e}`);
  }
  // The missing-prompt fetch logs an expected 404 through the error listener.
  const unexpected = errors.filter((e) => !e.includes(`${p}-missing`));
  console.log(JSON.stringify({ results, errors: unexpected }));
})();

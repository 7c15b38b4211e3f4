// Runs @langfuse/client v5 against Loupe: prompts, datasets and items, the
// experiments API, scores.
// Usage: node sdk_v5_flow.mjs SUFFIX   (LANGFUSE_* variables name the server)
// Prints one JSON object; tests/sdk_current/test_js_client_v5.py checks it.
import { LangfuseClient } from "@langfuse/client";
import { readFileSync } from "node:fs";

const suffix = process.argv[2];
const pkg = new URL("./node_modules/@langfuse/client/package.json", import.meta.url);
const out = { version: JSON.parse(readFileSync(pkg, "utf8")).version };
const langfuse = new LangfuseClient(); // LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, LANGFUSE_BASE_URL

// ---------------------------------------------------------------- prompts
const textName = `js5-text-${suffix}`;
const chatName = `js5-chat-${suffix}`;
const p1 = await langfuse.prompt.create({
  name: textName, prompt: "Hello {{name}}, you are {{age}}.", labels: ["production"],
  tags: ["js5"], config: { model: "gpt-4o" }, commitMessage: "first",
});
const p2 = await langfuse.prompt.create({ name: textName, type: "text", prompt: "v2 {{name}}", labels: ["staging"] });
const chat = await langfuse.prompt.create({
  name: chatName, type: "chat", labels: ["production"],
  prompt: [
    { role: "system", content: "You are {{persona}}." },
    { type: "placeholder", name: "history" },
    { role: "user", content: "{{question}}" },
  ],
});
out.createdVersions = [p1.version, p2.version, chat.version];
const prod = await langfuse.prompt.get(textName, { cacheTtlSeconds: 0 });
out.prod = { version: prod.version, labels: prod.labels, config: prod.config, compiled: prod.compile({ name: "Ada", age: "36" }) };
out.byVersion = (await langfuse.prompt.get(textName, { version: 2, cacheTtlSeconds: 0 })).prompt;
out.byLabel = (await langfuse.prompt.get(textName, { label: "staging", cacheTtlSeconds: 0 })).version;
const gotChat = await langfuse.prompt.get(chatName, { type: "chat", cacheTtlSeconds: 0 });
out.chatCompiled = gotChat.compile(
  { persona: "a pirate", question: "where?" },
  { history: [{ role: "user", content: "earlier" }, { role: "assistant", content: "reply" }] },
);
const updated = await langfuse.prompt.update({ name: textName, version: 2, newLabels: ["production"] });
out.updatedLabels = [...updated.labels].sort();
out.prodAfterUpdate = (await langfuse.prompt.get(textName, { cacheTtlSeconds: 0 })).version;
const listed = await langfuse.api.prompts.list({ name: textName });
out.listed = listed.data.map((p) => ({ name: p.name, versions: p.versions, labels: [...p.labels].sort() }));
let missing = null;
try {
  await langfuse.prompt.get(`js5-missing-${suffix}`, { cacheTtlSeconds: 0 });
} catch (e) {
  missing = String(e?.statusCode ?? e?.message ?? e);
}
out.missing = missing;
const fb = await langfuse.prompt.get(`js5-missing-${suffix}`, { fallback: "fb {{x}}", cacheTtlSeconds: 0 });
out.fallback = { isFallback: fb.isFallback, compiled: fb.compile({ x: "ok" }) };

// ---------------------------------------------------------------- datasets
const dsName = `js5-dataset-${suffix}`;
const ds = await langfuse.api.datasets.create({ name: dsName, description: "js dataset", metadata: { k: 1 } });
out.datasetCreated = { name: ds.name, id: ds.id };
for (let i = 0; i < 3; i++) {
  await langfuse.api.datasetItems.create({
    datasetName: dsName, id: `js5-item-${suffix}-${i}`, input: { n: i }, expectedOutput: i * 2, metadata: { i },
  });
}
const fetched = await langfuse.dataset.get(dsName);
out.dataset = { name: fetched.name, items: fetched.items.map((it) => it.expectedOutput).sort() };
const traceId = "0123456789abcdef" + suffix.padEnd(16, "0").slice(0, 16);
const runItem = await langfuse.api.datasetRunItems.create({
  runName: `js5-run-${suffix}`, datasetItemId: fetched.items[0].id, traceId,
});
out.runItem = { datasetRunName: runItem.datasetRunName, traceId: runItem.traceId };
out.linkedItem = { id: fetched.items[0].id, expectedOutput: fetched.items[0].expectedOutput };
const runs = await langfuse.api.datasets.getRuns(dsName);
out.runs = runs.data.map((r) => r.name);

// ---------------------------------------------------------------- experiments API
const since = new Date(Date.now() - 3600_000).toISOString();
const exps = await langfuse.api.experiments.list({ fromStartTime: since, datasetId: ds.id, fields: "core,metadata" });
out.experiments = exps.data.map((e) => ({
  id: e.id, name: e.name, itemCount: e.itemCount, datasetId: e.datasetId, metadata: e.metadata,
}));
const expItems = await langfuse.api.experiments.listItems({
  fromStartTime: since, experimentName: `js5-run-${suffix}`, fields: "core,dataset,io",
});
out.experimentItems = expItems.data.map((i) => ({
  id: i.id, traceId: i.traceId, itemId: i.experimentItemId, datasetId: i.experimentDatasetId,
  input: i.input, expectedOutput: i.expectedOutput, level: i.level,
}));

// ---------------------------------------------------------------- scores
langfuse.score.create({ id: `js5-score-num-${suffix}`, traceId, name: "js5-quality", value: 0.9, comment: "good" });
langfuse.score.create({ id: `js5-score-cat-${suffix}`, traceId, name: "js5-label", value: "ok", dataType: "CATEGORICAL" });
langfuse.score.create({ id: `js5-score-bool-${suffix}`, traceId, name: "js5-pass", value: 1, dataType: "BOOLEAN" });
await langfuse.flush();
const score = await langfuse.api.scores.getById(`js5-score-num-${suffix}`);
out.score = { name: score.name, value: score.value, dataType: score.dataType, traceId: score.traceId };
out.traceId = traceId;
await langfuse.shutdown();
console.log(JSON.stringify(out));

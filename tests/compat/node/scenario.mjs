// Drives the legacy `langfuse` JS SDK v3 against a Loupe server, then prints one
// JSON line with what the SDK's fetch helpers returned and any SDK errors.
// Run by tests/compat/test_js_sdk_v3.py:
//   LF_HOST=http://127.0.0.1:PORT LF_PREFIX=js-abc LF_ENV=t-123 node scenario.mjs
import { Langfuse } from "langfuse";

const host = process.env.LF_HOST;
const p = process.env.LF_PREFIX;
const env = process.env.LF_ENV;
if (!host || !p || !env) {
  console.error("LF_HOST, LF_PREFIX and LF_ENV are required");
  process.exit(2);
}

const T0 = Date.parse("2025-07-02T12:00:00.000Z");
const ms = (n) => new Date(T0 + n);

const errors = [];
const lf = new Langfuse({
  publicKey: process.env.LF_PUBLIC_KEY ?? "pk-lf-test",
  secretKey: process.env.LF_SECRET_KEY ?? "sk-lf-test",
  baseUrl: host,
  release: "rel-js-1",
  environment: env,
  flushAt: 100,
  flushInterval: 200,
  requestTimeout: 10000,
  fetchRetryCount: 1,
});
lf.on("error", (e) => errors.push(String(e?.message ?? e)));

const ids = {
  trace: `${p}-trace`,
  span: `${p}-span`,
  gen: `${p}-gen`,
  event: `${p}-event`,
  scoreTrace: `${p}-score-trace`,
  scoreObs: `${p}-score-obs`,
  session: `${p}-session`,
};

const trace = lf.trace({
  id: ids.trace,
  name: "js-sdk-v3",
  userId: "js-user",
  sessionId: ids.session,
  input: { question: "what is loupe?" },
  metadata: { tenant: "acme", nested: { a: 1 } },
  tags: ["sdk", "js"],
  version: "ver-js",
  timestamp: ms(0),
});
const span = trace.span({
  id: ids.span,
  name: "retrieve",
  input: { query: "loupe" },
  metadata: { k: 3 },
  startTime: ms(10),
});
const gen = span.generation({
  id: ids.gen,
  name: "llm-call",
  model: "gpt-4o",
  modelParameters: { temperature: 0.1, maxTokens: 256 },
  input: [{ role: "user", content: "what is loupe?" }],
  startTime: ms(20),
  completionStartTime: ms(120),
});
span.event({
  id: ids.event,
  name: "cache-miss",
  level: "WARNING",
  statusMessage: "miss",
  input: { key: "k1" },
  startTime: ms(15),
});

// langfuse-core stamps each event's envelope timestamp only after async processing, so an
// update enqueued right after its create can carry an envelope timestamp 1 ms *before* the
// create; by the contract's merge order (envelope timestamp, startTime ?? timestamp, first
// wins) the observation would then start "now". Sending the creates first keeps the
// scenario deterministic; the updates still merge into rows created by an earlier request.
await lf.flushAsync();

gen.update({
  output: { role: "assistant", content: "an observability server" },
  usage: { input: 100, output: 20, unit: "TOKENS" },
  endTime: ms(520),
});
span.update({ output: ["doc-1", "doc-2"], endTime: ms(600) });
trace.score({ id: ids.scoreTrace, name: "quality", value: 0.8, comment: "looks right" });
lf.score({
  id: ids.scoreObs,
  traceId: ids.trace,
  observationId: ids.gen,
  name: "label",
  value: "good",
  dataType: "CATEGORICAL",
});
trace.update({ output: { answer: "an observability server" }, metadata: { extra: "x" }, tags: ["done"] });

await lf.flushAsync();

const fetched = {};
try {
  fetched.trace = (await lf.fetchTrace(ids.trace)).data;
  fetched.traces = await lf.fetchTraces({ name: "js-sdk-v3", sessionId: ids.session });
  fetched.observations = await lf.fetchObservations({ traceId: ids.trace, type: "GENERATION" });
  fetched.observation = (await lf.fetchObservation(ids.gen)).data;
  fetched.sessions = await lf.fetchSessions({ limit: 100 });
} catch (e) {
  errors.push(`fetch failed: ${e?.message ?? e}`);
}
await lf.shutdownAsync();
console.log(JSON.stringify({ ids, fetched, errors }));

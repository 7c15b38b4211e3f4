// @langfuse/tracing + @langfuse/otel v5 building a nested trace, driven by
// tests/otel/test_langfuse_js_sdk.py.
//
// Env: LOUPE_URL, LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, TEST_ENVIRONMENT,
// TEST_SESSION. Prints the ids it created as JSON.
import { LangfuseSpanProcessor } from "@langfuse/otel";
import {
  propagateAttributes,
  setActiveTraceIO,
  startActiveObservation,
  startObservation,
} from "@langfuse/tracing";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

const processor = new LangfuseSpanProcessor({
  publicKey: process.env.LANGFUSE_PUBLIC_KEY,
  secretKey: process.env.LANGFUSE_SECRET_KEY,
  baseUrl: process.env.LOUPE_URL,
  environment: process.env.TEST_ENVIRONMENT,
  release: "rel-js-1",
});
const provider = new NodeTracerProvider({ spanProcessors: [processor] });
provider.register();

const ids = {};
await startActiveObservation("js-pipeline", async (root) => {
  ids.trace_id = root.traceId;
  ids.root_id = root.id;
  root.update({ input: { question: "2+2?" }, metadata: { step: "root" } });
  await propagateAttributes(
    {
      userId: "user-js",
      sessionId: process.env.TEST_SESSION,
      tags: ["js", "otel"],
      metadata: { team: "core" },
      traceName: "js-sdk-trace",
      version: "v5",
    },
    async () => {
      await startActiveObservation(
        "retrieve",
        async (r) => {
          ids.retriever_id = r.id;
          r.update({ input: { q: "2+2" }, output: { docs: 2 } });
        },
        { asType: "retriever" },
      );
      await startActiveObservation(
        "llm",
        async (g) => {
          ids.generation_id = g.id;
          g.update({
            model: "gpt-4o-mini",
            input: [{ role: "user", content: "What is 2+2?" }],
            output: { role: "assistant", content: "4" },
            modelParameters: { temperature: 0.2, maxTokens: 100 },
            usageDetails: { input: 12, output: 3 },
            costDetails: { total: 0.0002 },
            metadata: { provider: "openai" },
          });
        },
        { asType: "generation" },
      );
      await startActiveObservation(
        "calc",
        async (t) => {
          ids.tool_id = t.id;
          t.update({ input: { expr: "1/0" }, level: "ERROR", statusMessage: "division by zero" });
        },
        { asType: "tool" },
      );
      const event = startObservation(
        "cache-miss",
        { input: { key: "x" }, level: "WARNING" },
        { asType: "event" },
      );
      ids.event_id = event.id;
      setActiveTraceIO({ input: { question: "2+2?" }, output: { answer: "4" } });
    },
  );
  root.update({ output: { answer: "4" } });
});

await processor.forceFlush();
await provider.shutdown();
console.log(JSON.stringify(ids));

// The plain OpenTelemetry JS SDK and exporters sending gen_ai.* spans,
// driven by tests/otel/test_plain_exporters.py.
//
// argv[2]: proto | proto-gzip | json | grpc
// Env: LOUPE_URL, LOUPE_GRPC (host:port), LANGFUSE_PUBLIC_KEY,
// LANGFUSE_SECRET_KEY, TEST_ENVIRONMENT, TEST_SESSION. Prints the ids as JSON.
import { Metadata } from "@grpc/grpc-js";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

const mode = process.argv[2];
const url = process.env.LOUPE_URL;
const basic =
  "Basic " +
  Buffer.from(`${process.env.LANGFUSE_PUBLIC_KEY}:${process.env.LANGFUSE_SECRET_KEY}`).toString(
    "base64",
  );

let exporter;
if (mode === "proto") {
  exporter = new ProtoExporter({
    url: `${url}/api/public/otel/v1/traces`,
    headers: { Authorization: basic },
  });
} else if (mode === "proto-gzip") {
  exporter = new ProtoExporter({
    url: `${url}/v1/traces`,
    headers: { Authorization: basic },
    compression: "gzip",
  });
} else if (mode === "json") {
  exporter = new JsonExporter({
    url: `${url}/api/public/otel/v1/traces`,
    headers: { Authorization: basic },
  });
} else if (mode === "grpc") {
  const metadata = new Metadata();
  metadata.set("authorization", basic);
  exporter = new GrpcExporter({ url: `http://${process.env.LOUPE_GRPC}`, metadata });
} else {
  throw new Error(`unknown mode ${mode}`);
}

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({
    "service.name": "js-genai",
    "service.version": "3.0.0",
    "deployment.environment": process.env.TEST_ENVIRONMENT,
  }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
provider.register();
const tracer = trace.getTracer("js-genai-app", "0.1.0");

const ids = {};
await tracer.startActiveSpan(
  "invoke_agent helper",
  {
    attributes: {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.agent.name": "helper",
      "langfuse.trace.name": `js-plain-${mode}`,
      "user.id": "user-plain-js",
      "session.id": process.env.TEST_SESSION,
      "langfuse.trace.tags": ["plain-js", mode],
      "langfuse.trace.metadata.team": "core",
    },
  },
  async (root) => {
    ids.trace_id = root.spanContext().traceId;
    ids.root_id = root.spanContext().spanId;
    tracer.startActiveSpan(
      "chat gpt-4o-mini",
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "gen_ai.operation.name": "chat",
          "gen_ai.system": "openai",
          "gen_ai.request.model": "gpt-4o-mini",
          "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
          "gen_ai.request.temperature": 0.2,
          "gen_ai.request.max_tokens": 100,
          "gen_ai.usage.input_tokens": 12,
          "gen_ai.usage.output_tokens": 3,
          "gen_ai.prompt.0.role": "user",
          "gen_ai.prompt.0.content": "What is 2+2?",
          "gen_ai.completion.0.role": "assistant",
          "gen_ai.completion.0.content": "4",
        },
      },
      (chat) => {
        ids.chat_id = chat.spanContext().spanId;
        chat.end();
      },
    );
    tracer.startActiveSpan(
      "execute_tool calc",
      {
        attributes: {
          "gen_ai.operation.name": "execute_tool",
          "gen_ai.tool.name": "calc",
          "gen_ai.tool.call.arguments": JSON.stringify({ expr: "1/0" }),
        },
      },
      (tool) => {
        ids.tool_id = tool.spanContext().spanId;
        tool.recordException(new Error("division by zero"));
        tool.setStatus({ code: SpanStatusCode.ERROR, message: "division by zero" });
        tool.end();
      },
    );
    root.end();
  },
);

await provider.forceFlush();
await provider.shutdown();
console.log(JSON.stringify(ids));

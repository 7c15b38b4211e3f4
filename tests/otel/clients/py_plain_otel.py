"""The plain OpenTelemetry Python SDK sending gen_ai.* spans to Loupe, run
from .venv-test/otel by tests/otel/test_plain_exporters.py.

argv[1] is the transport:
  http-protobuf       OTLP/HTTP protobuf exporter to /api/public/otel/v1/traces
  http-protobuf-gzip  the same with gzip, to the plain OTLP path /v1/traces
  http-json           OTLP/JSON (hex ids, as the OTLP spec writes them)
  http-protojson      protobuf-JSON (base64 ids), what generic protobuf
                      tooling produces
  grpc                OTLP/gRPC exporter
JSON is posted by a small exporter built on the SDK's own OTLP encoder: the
Python SDK ships no OTLP/JSON exporter.

Env: LOUPE_URL, LOUPE_GRPC (host:port), LANGFUSE_PUBLIC_KEY,
LANGFUSE_SECRET_KEY, TEST_ENVIRONMENT, TEST_SESSION. Prints the ids as JSON.
"""

import base64
import json
import os
import sys
import urllib.request

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode, format_span_id, format_trace_id

mode = sys.argv[1]
url = os.environ["LOUPE_URL"]
basic = "Basic " + base64.b64encode(
    f'{os.environ["LANGFUSE_PUBLIC_KEY"]}:{os.environ["LANGFUSE_SECRET_KEY"]}'.encode()
).decode()


class JsonExporter(SpanExporter):
    def __init__(self, hex_ids: bool):
        self.hex_ids = hex_ids

    def _hex(self, node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str):
                    node[k] = base64.b64decode(v).hex()
                else:
                    self._hex(v)
        elif isinstance(node, list):
            for v in node:
                self._hex(v)

    def export(self, spans):
        body = MessageToDict(encode_spans(spans))
        if self.hex_ids:
            self._hex(body)
        req = urllib.request.Request(
            url + "/api/public/otel/v1/traces",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": basic},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            ok = resp.status == 200 and json.loads(resp.read()) == {}
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self):
        pass


if mode in ("http-protobuf", "http-protobuf-gzip"):
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    gzip = mode.endswith("gzip")
    exporter = OTLPSpanExporter(
        endpoint=url + ("/v1/traces" if gzip else "/api/public/otel/v1/traces"),
        headers={"Authorization": basic},
        compression=Compression.Gzip if gzip else Compression.NoCompression,
    )
elif mode == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    exporter = OTLPSpanExporter(
        endpoint=os.environ["LOUPE_GRPC"], insecure=True, headers=(("authorization", basic),)
    )
elif mode in ("http-json", "http-protojson"):
    exporter = JsonExporter(hex_ids=mode == "http-json")
else:
    raise SystemExit(f"unknown mode {mode}")

resource = Resource.create({
    "service.name": "py-genai",
    "service.version": "2.0.0",
    "deployment.environment.name": os.environ["TEST_ENVIRONMENT"],
})
provider = TracerProvider(resource=resource)
# One export per span, children first, as the exporters do with a simple processor.
provider.add_span_processor(SimpleSpanProcessor(exporter))
tracer = provider.get_tracer("py-genai-app", "0.1.0")

ids = {}
with tracer.start_as_current_span("invoke_agent helper", attributes={
    "gen_ai.operation.name": "invoke_agent",
    "gen_ai.agent.name": "helper",
    "langfuse.trace.name": "py-plain-" + mode,
    "user.id": "user-plain",
    "session.id": os.environ["TEST_SESSION"],
    "langfuse.trace.tags": ["plain", mode],
    "langfuse.trace.metadata.team": "core",
}) as root:
    ctx = root.get_span_context()
    ids["trace_id"] = format_trace_id(ctx.trace_id)
    ids["root_id"] = format_span_id(ctx.span_id)
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes={
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 3,
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "What is 2+2?"}]}]),
        "gen_ai.output.messages": json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": "4"}],
              "finish_reason": "stop"}]),
    }) as chat:
        ids["chat_id"] = format_span_id(chat.get_span_context().span_id)
    with tracer.start_as_current_span("execute_tool calc", attributes={
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "calc",
        "gen_ai.tool.call.arguments": json.dumps({"expr": "1/0"}),
    }) as tool:
        ids["tool_id"] = format_span_id(tool.get_span_context().span_id)
        try:
            1 / 0
        except ZeroDivisionError as e:
            tool.record_exception(e)
            tool.set_status(Status(StatusCode.ERROR, "division by zero"))

provider.force_flush()
provider.shutdown()
print(json.dumps(ids))

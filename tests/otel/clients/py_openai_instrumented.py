"""The OpenAI Python SDK instrumented by an OpenTelemetry instrumentation,
exporting with the OTLP/HTTP protobuf exporter to Loupe, run from
.venv-test/openai-otel by tests/otel/test_instrumentations.py.

argv[1] is the instrumentation:
  openinference   openinference-instrumentation-openai (Arize)
  openllmetry     opentelemetry-instrumentation-openai (Traceloop OpenLLMetry)

Under one manual root span "qa-pipeline" (with session.id, user.id and
langfuse.trace.name on it), the script makes a chat completion and a streaming
chat completion (stream_options.include_usage) and a call for a model that
does not exist (404), against the OpenAI-compatible test server at
OPENAI_BASE_URL.

Env: LOUPE_URL, LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, OPENAI_BASE_URL,
TEST_ENVIRONMENT, TEST_SESSION. Prints the ids as JSON.
"""

import base64
import json
import os
import sys

import openai
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import format_span_id, format_trace_id

flavour = sys.argv[1]
basic = "Basic " + base64.b64encode(
    f'{os.environ["LANGFUSE_PUBLIC_KEY"]}:{os.environ["LANGFUSE_SECRET_KEY"]}'.encode()
).decode()

provider = TracerProvider(resource=Resource.create({
    "service.name": f"qa-{flavour}",
    "service.version": "2.0.1",
    "deployment.environment.name": os.environ["TEST_ENVIRONMENT"],
}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
    endpoint=os.environ["LOUPE_URL"] + "/api/public/otel/v1/traces",
    headers={"Authorization": basic},
)))
trace.set_tracer_provider(provider)

if flavour == "openinference":
    from openinference.instrumentation.openai import OpenAIInstrumentor
elif flavour == "openllmetry":
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor
else:
    raise SystemExit(f"unknown instrumentation {flavour}")
OpenAIInstrumentor().instrument(tracer_provider=provider)

client = openai.OpenAI(api_key="sk-fake", base_url=os.environ["OPENAI_BASE_URL"], max_retries=0)
messages = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is 2+2?"},
]

ids = {}
tracer = provider.get_tracer("qa-app")
with tracer.start_as_current_span("qa-pipeline") as root:
    root.set_attribute("session.id", os.environ["TEST_SESSION"])
    root.set_attribute("user.id", f"user-{flavour}")
    root.set_attribute("langfuse.trace.name", f"qa-{flavour}")
    root.set_attribute("input.value", "What is 2+2?")
    ctx = root.get_span_context()
    ids["trace_id"] = format_trace_id(ctx.trace_id)
    ids["root_id"] = format_span_id(ctx.span_id)

    r = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, temperature=0.2, max_tokens=100
    )
    ids["chat_response_id"] = r.id
    assert r.choices[0].message.content == "2+2 is 4.", r

    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=messages,
        temperature=0.2,
        max_tokens=100,
        stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "2+2 is 4.", text
    root.set_attribute("output.value", text)

    try:
        client.chat.completions.create(model="gpt-4o-mini-missing", messages=messages)
        raise AssertionError("the missing model did not fail")
    except openai.NotFoundError:
        pass

assert provider.force_flush(30_000), "force_flush timed out"
provider.shutdown()
print(json.dumps(ids))

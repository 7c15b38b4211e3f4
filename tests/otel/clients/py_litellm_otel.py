"""LiteLLM (current release) with its `langfuse_otel` callback, run from
.venv-test/litellm-otel by tests/otel/test_instrumentations.py.

Three litellm.completion calls with mock_response (no LLM is called), each its
own trace: a plain one, a streaming one and a failing one. The callback exports
the spans over OTLP/HTTP protobuf to {LANGFUSE_OTEL_HOST}/api/public/otel/v1/traces
with Basic auth.

Env: LANGFUSE_OTEL_HOST, LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY,
LANGFUSE_TRACING_ENVIRONMENT, TEST_SESSION. Prints the response ids as JSON.
"""

import json
import os

import litellm
from litellm.integrations.langfuse.langfuse_otel import LangfuseOtelLogger
from litellm.litellm_core_utils.thread_pool_executor import executor as logging_executor

litellm.callbacks = ["langfuse_otel"]

session = os.environ["TEST_SESSION"]
messages = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is 2+2?"},
]
ids = {}

response = litellm.completion(
    model="gpt-4o",
    messages=messages,
    mock_response="2+2 is 4.",
    temperature=0.2,
    max_tokens=64,
    metadata={
        "generation_name": "answer-llm",
        "trace_name": "litellm-otel-trace",
        "session_id": session,
        "trace_user_id": "user-litellm",
        "tags": ["litellm", "otel"],
        "trace_metadata": {"team": "core"},
        "version": "v3",
    },
)
ids["plain"] = response.id

stream = litellm.completion(
    model="gpt-4o",
    messages=messages,
    mock_response="2+2 is 4.",
    stream=True,
    stream_options={"include_usage": True},
    metadata={"trace_name": "litellm-otel-stream", "session_id": session},
)
text = ""
for chunk in stream:
    ids["stream"] = chunk.id
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
assert text == "2+2 is 4.", text

try:
    litellm.completion(
        model="gpt-4o",
        messages=messages,
        mock_response=Exception("upstream exploded"),
        metadata={"trace_name": "litellm-otel-failure", "session_id": session},
    )
    raise AssertionError("the mock failure did not raise")
except litellm.exceptions.InternalServerError:
    pass

# LiteLLM runs the logging callbacks of sync calls on its own thread pool:
# once it has drained, every span has ended and sits in the exporter's batch.
logging_executor.shutdown(wait=True)
providers = {}
for cb in litellm.success_callback + litellm._async_success_callback + litellm.failure_callback:
    if isinstance(cb, LangfuseOtelLogger):
        providers[id(cb._tracer_provider)] = cb._tracer_provider
assert providers, "the langfuse_otel callback was not set up"
for p in providers.values():
    assert p.force_flush(30_000), "force_flush timed out"

print(json.dumps(ids))

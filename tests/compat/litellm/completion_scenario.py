"""Runs inside .venv-test/litellm: one litellm.completion() with a mock response and
the classic `langfuse` success callback (Python SDK v2 -> POST /api/public/ingestion).

Usage: python completion_scenario.py TRACE_ID GENERATION_ID
Env:   LANGFUSE_HOST, LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, LANGFUSE_TRACING_ENVIRONMENT
Prints one JSON line: {"usage": ..., "cost": ..., "model": ..., "messages": ..., "content": ...}.
All events are delivered (and answered) before the process exits."""

import json
import os
import sys

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch of the price map

import litellm  # noqa: E402

trace_id, generation_id = sys.argv[1], sys.argv[2]
messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "say hi"}]

litellm.success_callback = ["langfuse"]
litellm.failure_callback = ["langfuse"]
response = litellm.completion(
    model="gpt-4o",
    messages=messages,
    mock_response="hi",
    temperature=0.3,
    max_tokens=20,
    metadata={
        "trace_id": trace_id,
        "generation_id": generation_id,
        "trace_name": "litellm-compat",
        "generation_name": "litellm-gen",
        "session_id": f"{trace_id}-session",
        "trace_user_id": "litellm-user",
        "tags": ["litellm", "compat"],
    },
)

# The callback runs on LiteLLM's logging thread pool: wait for it, then flush the SDK.
try:
    from litellm.litellm_core_utils.thread_pool_executor import executor

    executor.shutdown(wait=True)
except Exception as e:  # older/newer layouts: fall back to the SDK's atexit flush
    print(f"executor shutdown failed: {e}", file=sys.stderr)
try:
    from litellm.litellm_core_utils import litellm_logging

    if litellm_logging.langFuseLogger is not None:
        litellm_logging.langFuseLogger.Langfuse.flush()
    else:
        print("langFuseLogger is not initialised", file=sys.stderr)
except Exception as e:
    print(f"flush failed: {e}", file=sys.stderr)

print(json.dumps({
    "usage": response.usage.model_dump(),
    "cost": response._hidden_params.get("response_cost"),
    "model": response.model,
    "messages": messages,
    "content": response.choices[0].message.content,
}))

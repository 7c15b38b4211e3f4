"""Langfuse Python SDK v4 (OTel based) building a nested trace, run from
.venv-test/otel by tests/otel/test_langfuse_python_sdk.py.

Env: LOUPE_URL, LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, TEST_ENVIRONMENT,
TEST_SESSION, OTEL_COMPRESSION (gzip|none). Prints the ids it created as JSON.
"""

import json
import os

from langfuse import Langfuse, propagate_attributes

lf = Langfuse(
    public_key=os.environ["LANGFUSE_PUBLIC_KEY"],
    secret_key=os.environ["LANGFUSE_SECRET_KEY"],
    base_url=os.environ["LOUPE_URL"],
    environment=os.environ["TEST_ENVIRONMENT"],
    release="rel-py-1",
    otel_compression=os.environ.get("OTEL_COMPRESSION", "none"),
    flush_at=50,
    flush_interval=0.5,
)

ids = {}
with lf.start_as_current_observation(
    as_type="span", name="py-pipeline", input={"question": "2+2?"}, metadata={"step": "root"}
) as root:
    ids["trace_id"] = root.trace_id
    ids["root_id"] = root.id
    with propagate_attributes(
        user_id="user-py",
        session_id=os.environ["TEST_SESSION"],
        tags=["py", "otel"],
        metadata={"team": "core"},
        trace_name="py-sdk-trace",
        version="v7",
    ):
        with lf.start_as_current_observation(
            as_type="retriever", name="retrieve", input={"q": "2+2"}
        ) as retriever:
            ids["retriever_id"] = retriever.id
            retriever.update(output={"docs": 2})
        with lf.start_as_current_observation(
            as_type="generation",
            name="llm",
            model="gpt-4o-mini",
            input=[{"role": "user", "content": "What is 2+2?"}],
            model_parameters={"temperature": 0.1, "max_tokens": 64},
        ) as generation:
            ids["generation_id"] = generation.id
            generation.update(
                output={"role": "assistant", "content": "4"},
                usage_details={"input": 12, "output": 3},
                cost_details={"total": 0.0002},
                metadata={"provider": "openai"},
            )
        with lf.start_as_current_observation(
            as_type="tool", name="calc", input={"expr": "1/0"}
        ) as tool:
            ids["tool_id"] = tool.id
            try:
                1 / 0
            except ZeroDivisionError as e:
                tool.update(level="ERROR", status_message=str(e))
        event = root.create_event(name="cache-miss", input={"key": "x"}, level="WARNING")
        ids["event_id"] = event.id
        root.set_trace_io(input={"question": "2+2?"}, output={"answer": "4"})
    root.update(output={"answer": "4"})

lf.flush()
lf.shutdown()
print(json.dumps(ids))

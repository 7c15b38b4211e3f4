"""Runs in .venv-test/langfuse-v4 (Langfuse Python SDK v4) against Loupe:
prompts, datasets (with JSON schemas), an experiment over a dataset with
evaluators read back through the experiments API, scores.

Usage: python sdk_v4_flow.py SUFFIX    (LANGFUSE_* variables name the server)
Prints one JSON object with what the SDK returned; tests/sdk_current checks it
and reads the server's state over HTTP.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time

import langfuse as langfuse_pkg
from langfuse import Evaluation, Langfuse

suffix = sys.argv[1]
lf = Langfuse()  # LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY / LANGFUSE_BASE_URL
out: dict = {"sdk_version": langfuse_pkg.__version__ if hasattr(langfuse_pkg, "__version__") else None}

assert lf.auth_check() is True
out["auth_check"] = True

# ------------------------------------------------------------------ prompts
text_name, chat_name = f"sdk4-text-{suffix}", f"sdk4-chat-{suffix}"
p1 = lf.create_prompt(name=text_name, type="text", prompt="Answer {{question}} as {{style}}.",
                      labels=["production"], tags=["sdk4"], config={"model": "gpt-4o", "temperature": 0.1},
                      commit_message="first version")
p2 = lf.create_prompt(name=text_name, type="text", prompt="v2: {{question}}", labels=["staging"])
chat = lf.create_prompt(
    name=chat_name, type="chat", labels=["production"],
    prompt=[{"role": "system", "content": "You are {{persona}}."},
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "{{question}}"}])
out["created_versions"] = [p1.version, p2.version, chat.version]

prod = lf.get_prompt(text_name, cache_ttl_seconds=0)
staging = lf.get_prompt(text_name, label="staging", cache_ttl_seconds=0)
v2 = lf.get_prompt(text_name, version=2, cache_ttl_seconds=0)
out["prod"] = {"version": prod.version, "labels": prod.labels, "config": prod.config,
               "compiled": prod.compile(question="what is loupe?", style="a pirate")}
out["staging_version"] = staging.version
out["v2_prompt"] = v2.prompt
got_chat = lf.get_prompt(chat_name, type="chat", cache_ttl_seconds=0)
out["chat_compiled"] = got_chat.compile(
    persona="a helpful assistant", question="hi?",
    history=[{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "reply"}])
updated = lf.update_prompt(name=text_name, version=2, new_labels=["production"])
out["updated_labels"] = sorted(updated.labels)
out["prod_after_update"] = lf.get_prompt(text_name, cache_ttl_seconds=0).version
fallback = lf.get_prompt(f"sdk4-missing-{suffix}", fallback="fallback {{x}}", cache_ttl_seconds=0)
out["fallback"] = {"is_fallback": fallback.is_fallback, "compiled": fallback.compile(x="ok")}

# ------------------------------------------------------------------ datasets
ds_name = f"sdk4-dataset-{suffix}"
lf.create_dataset(name=ds_name, description="capitals", metadata={"owner": "sdk4"})
pairs = [("France", "Paris"), ("Italy", "Rome"), ("Spain", "Madrid")]
for i, (country, capital) in enumerate(pairs):
    lf.create_dataset_item(dataset_name=ds_name, id=f"sdk4-item-{suffix}-{i}", input={"country": country},
                           expected_output=capital, metadata={"i": i})
dataset = lf.get_dataset(ds_name)
out["dataset"] = {"name": dataset.name, "description": dataset.description,
                  "items": sorted(item.expected_output for item in dataset.items)}


# ------------------------------------------------------------------ experiment
def task(*, item, **kwargs):
    country = item.input["country"] if hasattr(item, "input") else item["input"]["country"]
    return {"France": "Paris", "Italy": "Rome", "Spain": "Lisbon"}[country]


def exact_match(*, input, output, expected_output, **kwargs):
    return Evaluation(name="exact_match", value=1.0 if output == expected_output else 0.0,
                      comment="exact string match")


def is_capital(*, output, **kwargs):
    return Evaluation(name="is_capital", value=True, data_type="BOOLEAN")


def accuracy(*, item_results, **kwargs):
    vals = [e.value for r in item_results for e in r.evaluations if e.name == "exact_match"]
    return Evaluation(name="accuracy", value=sum(vals) / len(vals))


run_name = f"sdk4-run-{suffix}"
result = dataset.run_experiment(name="capitals", run_name=run_name, description="baseline",
                                task=task, evaluators=[exact_match, is_capital], run_evaluators=[accuracy],
                                metadata={"model": "lookup"})
out["experiment"] = {
    "run_name": result.run_name if hasattr(result, "run_name") else run_name,
    "dataset_run_id": result.dataset_run_id,
    "items": len(result.item_results),
    "trace_ids": sorted(r.trace_id for r in result.item_results),
    "run_evaluations": [(e.name, e.value) for e in result.run_evaluations],
}

# The experiments API reads the run back: the run is the experiment, its
# items are the task spans, with inputs, outputs and the items' scores.
lf.flush()
since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
deadline = time.monotonic() + 20
while True:
    items = lf.api.experiments.list_items(from_start_time=since, experiment_id=result.dataset_run_id,
                                          fields="core,dataset,io,scores")
    ready = len(items.data) == 3 and all(i.output is not None and len(i.scores or []) >= 2 for i in items.data)
    if ready or time.monotonic() > deadline:
        break
    time.sleep(0.2)
out["experiment_items_api"] = sorted(
    ({"id": i.id, "trace_id": i.trace_id, "item_id": i.experiment_item_id, "name": i.experiment_name,
      "dataset_id": i.experiment_dataset_id, "input": i.input, "output": i.output,
      "expected_output": i.expected_output, "scores": sorted(s.name for s in i.scores or [])}
     for i in items.data), key=lambda x: x["item_id"])
exps = lf.api.experiments.list(from_start_time=since, dataset_id=dataset.id, fields="core,metadata,scores")
out["experiments_api"] = [
    {"id": e.id, "name": e.name, "description": e.description, "item_count": e.item_count,
     "dataset_id": e.dataset_id, "metadata": e.metadata,
     "scores": [(s.name, round(s.value, 6)) for s in e.scores or []],
     "ordered": e.start_time <= e.end_time}
    for e in exps.data]
out["dataset_id"] = dataset.id

# A local-data experiment (no dataset).
local = lf.run_experiment(name=f"sdk4-local-{suffix}", data=[{"input": {"country": "Italy"}, "expected_output": "Rome"}],
                          task=task, evaluators=[exact_match])
out["local_experiment"] = {"items": len(local.item_results), "trace_id": local.item_results[0].trace_id}

# ------------------------------------------------------------------ dataset schemas
schema_name = f"sdk4-schema-{suffix}"
lf.create_dataset(name=schema_name,
                  input_schema={"type": "object", "required": ["country"],
                                "properties": {"country": {"type": "string"}}},
                  expected_output_schema={"type": "string"})
lf.create_dataset_item(dataset_name=schema_name, input={"country": "Chile"}, expected_output="Santiago")
try:
    lf.create_dataset_item(dataset_name=schema_name, input={"city": "Lima"}, expected_output="Peru")
    out["schema_rejection"] = None
except Exception as e:  # the SDK's ApiError
    out["schema_rejection"] = {"status": getattr(e, "status_code", None), "body": getattr(e, "body", str(e))}
out["schema_items"] = [i.expected_output for i in lf.get_dataset(schema_name).items]

# ------------------------------------------------------------------ scores
trace_id = lf.create_trace_id()
with lf.start_as_current_observation(name="sdk4-scored", trace_context={"trace_id": trace_id}) as span:
    span.update(input="q", output="a")
    span.score(name="sdk4-span-score", value=0.75, comment="span level")
    span.score_trace(name="sdk4-trace-cat", value="good", data_type="CATEGORICAL")
lf.create_score(name="sdk4-direct", value=1, data_type="BOOLEAN", trace_id=trace_id, comment="direct")
lf.create_score(name="sdk4-text", value="looks fine", data_type="TEXT", trace_id=trace_id)
out["score_trace_id"] = trace_id

lf.flush()
lf.shutdown()
print(json.dumps(out))

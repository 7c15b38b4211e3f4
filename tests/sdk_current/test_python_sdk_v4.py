"""The current Langfuse Python SDK (v4, PyPI) against Loupe: prompts (create,
get by label and version, compile, chat placeholders, label update, fallback),
datasets and items (with input and expected-output JSON schemas), an experiment
over a dataset with item and run evaluators, read back through the experiments
API, and scores (ingestion score-create; traces over OTLP)."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest

from integration.harness import ROOT
from sdk_current.conftest import V4_PYTHON, sdk_env

SCRIPT = ROOT / "tests" / "sdk_current" / "python" / "sdk_v4_flow.py"


def wait_for(fn, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = fn()
            if v:
                return v
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            return fn()
        time.sleep(0.2)


@pytest.fixture(scope="module")
def flow(sdk_server):
    if not V4_PYTHON.exists():
        pytest.skip("Python SDK v4 venv missing: run scripts/setup-conformance-env.sh")
    suffix = uuid.uuid4().hex[:10]
    proc = subprocess.run([str(V4_PYTHON), str(SCRIPT), suffix], capture_output=True, text=True,
                          timeout=180, env=sdk_env(sdk_server))
    assert proc.returncode == 0, f"SDK v4 flow failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["suffix"] = suffix
    out["stderr"] = proc.stderr
    return out


def test_sdk_logged_no_errors(flow):
    # The only expected one: the 404 of the missing prompt that falls back.
    bad = [line for line in flow["stderr"].splitlines()
           if ("error" in line.lower() or "Traceback" in line) and "Returning fallback prompt" not in line]
    assert not bad, "\n".join(bad[:20])


def test_prompts(flow, sdk_api):
    s = flow["suffix"]
    assert flow["created_versions"] == [1, 2, 1]
    assert flow["prod"]["version"] == 1
    assert sorted(flow["prod"]["labels"]) == ["production"]
    assert flow["prod"]["config"] == {"model": "gpt-4o", "temperature": 0.1}
    assert flow["prod"]["compiled"] == "Answer what is loupe? as a pirate."
    assert flow["staging_version"] == 2 and flow["v2_prompt"] == "v2: {{question}}"
    assert flow["chat_compiled"] == [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "earlier"}, {"role": "assistant", "content": "reply"},
        {"role": "user", "content": "hi?"}]
    assert flow["updated_labels"] == ["latest", "production", "staging"]
    assert flow["prod_after_update"] == 2
    assert flow["fallback"] == {"is_fallback": True, "compiled": "fallback ok"}
    body = sdk_api.get_json(f"/api/public/v2/prompts/sdk4-text-{s}", params={"version": 1})
    assert body["labels"] == [] and body["commitMessage"] == "first version" and body["tags"] == ["sdk4"]


def test_datasets(flow, sdk_api):
    s = flow["suffix"]
    assert flow["dataset"] == {"name": f"sdk4-dataset-{s}", "description": "capitals",
                               "items": ["Madrid", "Paris", "Rome"]}
    items = sdk_api.get_json("/api/public/dataset-items", params={"datasetName": f"sdk4-dataset-{s}"})
    assert sorted(i["id"] for i in items["data"]) == [f"sdk4-item-{s}-{i}" for i in range(3)]


def test_experiment_over_dataset(flow, sdk_api):
    s = flow["suffix"]
    exp = flow["experiment"]
    assert exp["items"] == 3 and exp["dataset_run_id"]
    assert exp["run_evaluations"] == [["accuracy", pytest.approx(2 / 3)]]
    run = sdk_api.get_json(f"/api/public/datasets/sdk4-dataset-{s}/runs/sdk4-run-{s}")
    assert run["id"] == exp["dataset_run_id"] and run["description"] == "baseline"
    assert run["metadata"] == {"model": "lookup"}
    assert sorted(ri["traceId"] for ri in run["datasetRunItems"]) == exp["trace_ids"]
    # Traces of the task arrive over OTLP; item scores over the ingestion API.
    for tid in exp["trace_ids"]:
        trace = wait_for(lambda: sdk_api.get(f"/api/public/traces/{tid}").status_code == 200
                         and len(sdk_api.trace(tid)["scores"]) >= 2 and sdk_api.trace(tid))
        names = {sc["name"]: sc for sc in trace["scores"]}
        assert names["exact_match"]["value"] in (0.0, 1.0) and names["exact_match"]["comment"] == "exact string match"
        assert names["is_capital"]["dataType"] == "BOOLEAN" and names["is_capital"]["value"] == 1
        assert trace["output"] in ("Paris", "Rome", "Lisbon") or trace["observations"]
    exact = sorted(next(x["value"] for x in sdk_api.trace(t)["scores"] if x["name"] == "exact_match")
                   for t in exp["trace_ids"])
    assert exact == [0.0, 1.0, 1.0]
    # Run-level score is attached to the dataset run.
    run_scores = wait_for(lambda: sdk_api.get_json("/api/public/v2/scores",
                                                   params={"datasetRunId": exp["dataset_run_id"]})["data"])
    assert [(x["name"], round(x["value"], 6)) for x in run_scores] == [("accuracy", round(2 / 3, 6))]
    local = flow["local_experiment"]
    assert local["items"] == 1
    wait_for(lambda: sdk_api.get(f"/api/public/traces/{local['trace_id']}").status_code == 200)


def test_experiments_api_reads_the_run(flow):
    s = flow["suffix"]
    exp = flow["experiment"]
    [e] = flow["experiments_api"]
    assert (e["id"], e["name"], e["description"], e["item_count"], e["dataset_id"]) == \
        (exp["dataset_run_id"], f"sdk4-run-{s}", "baseline", 3, flow["dataset_id"])
    assert e["metadata"] == {"model": "lookup"} and e["ordered"]
    assert e["scores"] == [["accuracy", round(2 / 3, 6)]]
    items = flow["experiment_items_api"]
    assert [i["item_id"] for i in items] == [f"sdk4-item-{s}-{i}" for i in range(3)]
    assert sorted(i["trace_id"] for i in items) == exp["trace_ids"]
    assert all(i["name"] == f"sdk4-run-{s}" and i["dataset_id"] == flow["dataset_id"] for i in items)
    assert [(i["input"], i["output"], i["expected_output"]) for i in items] == [
        ({"country": "France"}, "Paris", "Paris"), ({"country": "Italy"}, "Rome", "Rome"),
        ({"country": "Spain"}, "Lisbon", "Madrid")]
    assert all(i["scores"] == ["exact_match", "is_capital"] for i in items)


def test_dataset_schemas(flow):
    rejection = flow["schema_rejection"]
    assert rejection is not None and rejection["status"] == 400
    message = rejection["body"]["message"]
    assert "input does not match the inputSchema" in message and "Missing required property 'country'" in message
    assert flow["schema_items"] == ["Santiago"]


def test_scores(flow, sdk_api):
    tid = flow["score_trace_id"]
    trace = wait_for(lambda: len(sdk_api.trace(tid)["scores"]) >= 4 and sdk_api.trace(tid))
    by_name = {sc["name"]: sc for sc in trace["scores"]}
    assert by_name["sdk4-span-score"]["value"] == 0.75 and by_name["sdk4-span-score"]["observationId"]
    assert by_name["sdk4-trace-cat"]["stringValue"] == "good" and by_name["sdk4-trace-cat"]["dataType"] == "CATEGORICAL"
    assert by_name["sdk4-direct"]["dataType"] == "BOOLEAN" and by_name["sdk4-direct"]["stringValue"] == "True"
    assert by_name["sdk4-text"]["dataType"] == "TEXT" and by_name["sdk4-text"]["stringValue"] == "looks fine"
    assert [o["name"] for o in trace["observations"]] == ["sdk4-scored"]

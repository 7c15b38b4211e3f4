"""The current Langfuse JS client (@langfuse/client v5, npm) against Loupe:
prompts (create text and chat, get by label and version, compile with
placeholders, label update, list, 404 and fallback), datasets and items
(generated API client + dataset.get), a dataset run item read back through the
experiments API, and scores (ScoreManager batches them to POST
/api/public/ingestion)."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid

import pytest

from sdk_current.conftest import NODE_DIR, sdk_env


@pytest.fixture(scope="module")
def flow(sdk_server):
    if shutil.which("node") is None:
        pytest.skip("node not installed")
    if not (NODE_DIR / "node_modules" / "@langfuse" / "client" / "package.json").exists():
        pytest.skip("@langfuse/client missing: run scripts/setup-conformance-env.sh")
    suffix = uuid.uuid4().hex[:10]
    proc = subprocess.run(["node", "sdk_v5_flow.mjs", suffix], cwd=NODE_DIR, capture_output=True, text=True,
                          timeout=120, env=sdk_env(sdk_server))
    assert proc.returncode == 0, f"JS client v5 flow failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["suffix"] = suffix
    return out


def test_version(flow):
    assert flow["version"].startswith("5.")


def test_prompts(flow, sdk_api):
    s = flow["suffix"]
    assert flow["createdVersions"] == [1, 2, 1]
    assert flow["prod"] == {"version": 1, "labels": ["production"], "config": {"model": "gpt-4o"},
                            "compiled": "Hello Ada, you are 36."}
    assert flow["byVersion"] == "v2 {{name}}" and flow["byLabel"] == 2
    assert flow["chatCompiled"] == [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "earlier"}, {"role": "assistant", "content": "reply"},
        {"role": "user", "content": "where?"}]
    assert flow["updatedLabels"] == ["latest", "production", "staging"]
    assert flow["prodAfterUpdate"] == 2
    assert flow["listed"] == [{"name": f"js5-text-{s}", "versions": [1, 2],
                               "labels": ["latest", "production", "staging"]}]
    assert flow["missing"] is not None and "404" in flow["missing"]
    assert flow["fallback"] == {"isFallback": True, "compiled": "fb ok"}
    body = sdk_api.get_json(f"/api/public/v2/prompts/js5-text-{s}", params={"version": 1})
    assert body["commitMessage"] == "first" and body["tags"] == ["js5"]


def test_datasets(flow, sdk_api):
    s = flow["suffix"]
    assert flow["datasetCreated"]["name"] == f"js5-dataset-{s}"
    assert flow["dataset"] == {"name": f"js5-dataset-{s}", "items": [0, 2, 4]}
    assert flow["runItem"] == {"datasetRunName": f"js5-run-{s}", "traceId": flow["traceId"]}
    assert flow["runs"] == [f"js5-run-{s}"]
    run = sdk_api.get_json(f"/api/public/datasets/js5-dataset-{s}/runs/js5-run-{s}")
    assert [ri["traceId"] for ri in run["datasetRunItems"]] == [flow["traceId"]]


def test_experiments_api(flow):
    s = flow["suffix"]
    ds_id = flow["datasetCreated"]["id"]
    [e] = flow["experiments"]
    assert (e["name"], e["itemCount"], e["datasetId"], e["metadata"]) == (f"js5-run-{s}", 1, ds_id, {})
    # The run item names a trace that was never sent: it is listed at the time it was linked.
    [item] = flow["experimentItems"]
    linked = flow["linkedItem"]
    assert item == {"id": flow["traceId"], "traceId": flow["traceId"], "itemId": linked["id"],
                    "datasetId": ds_id, "input": None, "expectedOutput": linked["expectedOutput"],
                    "level": "DEFAULT"}


def test_scores(flow, sdk_api):
    s = flow["suffix"]
    assert flow["score"] == {"name": "js5-quality", "value": 0.9, "dataType": "NUMERIC", "traceId": flow["traceId"]}
    scores = {x["name"]: x for x in sdk_api.get_json("/api/public/v2/scores", params={"traceId": flow["traceId"]})["data"]}
    assert scores["js5-label"]["stringValue"] == "ok" and scores["js5-label"]["dataType"] == "CATEGORICAL"
    assert scores["js5-pass"]["value"] == 1 and scores["js5-pass"]["stringValue"] == "True"
    assert scores["js5-quality"]["comment"] == "good" and scores["js5-quality"]["id"] == f"js5-score-num-{s}"

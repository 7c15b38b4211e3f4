"""The real npm `langfuse` v3 SDK against Loupe's prompt and dataset routes.

tests/api/node/sdk_v3.cjs runs one scenario and prints what the SDK returned; the SDK
comes from tests/compat/node/node_modules (scripts/setup-test-env.sh installs it) via
NODE_PATH."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess

import pytest

from integration.harness import uid

HERE = pathlib.Path(__file__).resolve().parent
NODE_MODULES = HERE.parent / "compat" / "node" / "node_modules"


def run_scenario(loupe, scenario: str, prefix: str) -> dict:
    if os.environ.get("LOUPE_SKIP_NODE") == "1":
        pytest.skip("LOUPE_SKIP_NODE=1")
    assert shutil.which("node"), "node is not installed"
    assert (NODE_MODULES / "langfuse").exists(), "npm langfuse v3 missing: run scripts/setup-test-env.sh"
    proc = subprocess.run(["node", str(HERE / "node" / "sdk_v3.cjs"), scenario], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "NODE_PATH": str(NODE_MODULES), "LF_HOST": loupe.url,
                                            "LF_PREFIX": prefix})
    assert proc.returncode == 0, f"node failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["errors"] == [], out["errors"]
    return out["results"]


def test_prompts(loupe, api):
    prefix = uid("js")
    r = run_scenario(loupe, "prompts", prefix)
    assert r["createdText"] == {"version": 1, "labels": ["production", "latest"], "tags": ["js"]}
    assert r["production"] == {"version": 1, "compiled": "Hello Ada, you are a tester",
                               "config": {"model": "gpt-4o", "temperature": 0.3}, "isFallback": False}
    assert r["staging"] == {"version": 2, "compiled": "Second Bob"}
    assert r["version1"] == {"version": 1, "labels": ["production"]}
    assert r["afterUpdate"] == {"version": 2, "labels": ["production", "staging", "latest"]}
    assert r["createdChat"]["prompt"] == [
        {"role": "system", "content": "You are {{role}}", "type": "chatmessage"},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": "{{question}}", "type": "chatmessage"}]
    assert r["chatCompiled"] == [{"role": "system", "content": "You are a helper"},
                                 {"role": "user", "content": "earlier"},
                                 {"role": "assistant", "content": "reply"},
                                 {"role": "user", "content": "why?"}]
    assert r["chatUnfilled"][1] == {"type": "placeholder", "name": "history"}
    assert r["folder"] == {"name": f"{prefix}-folder/sub/prompt", "compiled": "foldered"}
    assert r["missing"] == f"Prompt not found: '{prefix}-missing' with label 'production'"
    assert r["fallback"] == {"isFallback": True, "compiled": "fb y"}
    # What the SDK wrote is what the API serves.
    stored = api.get_json(f"/api/public/v2/prompts/{prefix}-text", {"version": 1})
    assert (stored["commitMessage"], stored["tags"]) == ("from js", ["js"])


def test_datasets_and_experiment(loupe, api):
    prefix = uid("jsds")
    name = f"{prefix}-ds"
    r = run_scenario(loupe, "datasets", prefix)
    # createDataset goes to the v1 route, which answers with empty items / runs
    assert r["created"] == {"name": name, "description": "js dataset", "metadata": {"team": "js"},
                            "items": [], "runs": []}
    assert r["upsert"] == {"sameId": True, "description": "js dataset"}
    assert r["dataset"]["items"] == [[f"{name}-0", "ACTIVE", 0], [f"{name}-1", "ACTIVE", 10],
                                     [f"{name}-2", "ACTIVE", 20], [f"{name}-x", "ARCHIVED", None]]
    assert r["linked"] == [
        {"item": f"{name}-0", "run": "js-run", "traceMatches": True, "observationId": True},
        {"item": f"{name}-1", "run": "js-run", "traceMatches": True, "observationId": None},
        {"item": f"{name}-2", "run": "js-run", "traceMatches": True, "observationId": None}]
    assert r["run"] == {"name": "js-run", "description": "js run", "metadata": {"model": "m"},
                        "items": [f"{name}-0", f"{name}-1", f"{name}-2"]}
    assert r["runs"] == {"names": ["js-run"], "total": 1}
    assert r["item"] == {"input": {"n": 1}, "expectedOutput": 10, "metadata": {"i": 1}, "status": "ACTIVE"}
    v1 = api.get_json(f"/api/public/datasets/{name}")
    assert v1["runs"] == ["js-run"] and len(v1["items"]) == 3

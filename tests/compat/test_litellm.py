"""LiteLLM's classic `langfuse` callback (Python SDK v2 underneath) against Loupe:
(c) litellm.completion() in a subprocess, (d) the LiteLLM proxy as a server.

Both run from .venv-test/litellm (litellm 1.103.10 + langfuse 2.60.10; see
tests/compat/litellm/requirements.txt for why that version)."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import time

import pytest
import requests

from integration.harness import PUBLIC_KEY, ROOT, SECRET_KEY, env_name, free_port, uid

HERE = pathlib.Path(__file__).resolve().parent / "litellm"
VENV = ROOT / ".venv-test" / "litellm"
PY = VENV / "bin" / "python"
LITELLM = VENV / "bin" / "litellm"


@pytest.fixture(scope="module")
def litellm_venv():
    if os.environ.get("LOUPE_SKIP_LITELLM") == "1":
        pytest.skip("LOUPE_SKIP_LITELLM=1: LiteLLM venv not installed")
    assert PY.exists() and LITELLM.exists(), f"{VENV} missing: run scripts/setup-test-env.sh"
    return VENV


def _env(loupe, environment: str) -> dict:
    env = dict(os.environ)
    env.update({
        "LANGFUSE_HOST": loupe.url,
        "LANGFUSE_PUBLIC_KEY": PUBLIC_KEY,
        "LANGFUSE_SECRET_KEY": SECRET_KEY,
        "LANGFUSE_TRACING_ENVIRONMENT": environment,
        "LANGFUSE_FLUSH_INTERVAL": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
    })
    for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(k, None)
    return env


def _check_generation(g, *, trace_id, gen_id, environment, name, usage, cost, messages, content, model):
    assert g["id"] == gen_id and g["traceId"] == trace_id
    assert g["type"] == "GENERATION"
    assert g["name"] == name
    assert g["environment"] == environment
    assert g["model"] == model
    assert g["input"] == {"messages": messages}
    assert g["output"]["role"] == "assistant" and g["output"]["content"] == content
    assert g["level"] == "DEFAULT"
    # LiteLLM sends usage {input, output, unit, totalCost} and usageDetails {input, output, total,
    # cache_creation_input_tokens, cache_read_input_tokens}
    assert g["usageDetails"] == {"input": usage["prompt_tokens"], "output": usage["completion_tokens"],
                                 "total": usage["total_tokens"], "cache_creation_input_tokens": 0,
                                 "cache_read_input_tokens": 0}
    assert g["promptTokens"] == usage["prompt_tokens"]
    assert g["completionTokens"] == usage["completion_tokens"]
    assert g["totalTokens"] == usage["total_tokens"]
    # user-provided cost (LiteLLM's response_cost) wins over the price table
    assert cost and cost > 0
    assert g["costDetails"] == {"total": pytest.approx(cost)}
    assert g["calculatedTotalCost"] == pytest.approx(cost)
    assert g["modelId"] == "b9854a5c92dc496b997d99d20"
    assert g["startTime"] and g["endTime"] and g["endTime"] >= g["startTime"]
    assert g["metadata"]["litellm_response_cost"] == pytest.approx(cost)
    assert g["metadata"]["hidden_params"]["litellm_model_name"].endswith("gpt-4o")


@pytest.mark.slow
def test_litellm_completion_with_langfuse_callback(loupe, api, litellm_venv):
    environment = env_name()
    trace_id, gen_id = uid("ll-trace"), uid("ll-gen")
    proc = subprocess.run([str(PY), str(HERE / "completion_scenario.py"), trace_id, gen_id],
                          env=_env(loupe, environment), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"litellm script failed:\n{proc.stdout}\n{proc.stderr[-3000:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["content"] == "hi"

    t = api.trace(trace_id)
    assert t["name"] == "litellm-compat"
    assert t["userId"] == "litellm-user"
    assert t["sessionId"] == f"{trace_id}-session"
    assert t["environment"] == environment
    assert t["tags"] == ["compat", "litellm"]
    assert t["input"] == {"messages": out["messages"]}
    assert t["output"]["content"] == "hi"
    assert t["totalCost"] == pytest.approx(out["cost"])
    gens = [o for o in t["observations"] if o["type"] == "GENERATION"]
    assert [g["id"] for g in gens] == [gen_id]
    _check_generation(gens[0], trace_id=trace_id, gen_id=gen_id, environment=environment, name="litellm-gen",
                      usage=out["usage"], cost=out["cost"], messages=out["messages"], content="hi",
                      model="gpt-4o")
    assert gens[0]["modelParameters"]["temperature"] == "0.3"  # LiteLLM str()s it
    assert gens[0]["modelParameters"]["max_tokens"] == 20
    assert api.observation(gen_id) == gens[0]


PROXY_CONFIG = """\
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-not-used
      mock_response: "hello from the proxy"
litellm_settings:
  success_callback: ["langfuse"]
  failure_callback: ["langfuse"]
"""


@pytest.fixture
def litellm_proxy(loupe, litellm_venv, tmp_path):
    environment = env_name()
    cfg = tmp_path / "proxy.yaml"
    cfg.write_text(PROXY_CONFIG)
    port = free_port()
    log = open(tmp_path / "proxy.log", "wb")
    proc = subprocess.Popen([str(LITELLM), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port)],
                            env=_env(loupe, environment), stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            pytest.fail(f"litellm proxy exited with {proc.returncode}:\n{(tmp_path / 'proxy.log').read_text()[-3000:]}")
        try:
            if requests.get(url + "/health/liveliness", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"litellm proxy not up in 90s:\n{(tmp_path / 'proxy.log').read_text()[-3000:]}")
        time.sleep(0.2)
    yield url, environment, tmp_path / "proxy.log"
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


@pytest.mark.slow
def test_litellm_proxy_chat_completion_arrives(api, litellm_proxy):
    url, environment, log_path = litellm_proxy
    trace_id, gen_id = uid("proxy-trace"), uid("proxy-gen")
    messages = [{"role": "user", "content": "hello proxy"}]
    r = requests.post(url + "/chat/completions", timeout=60, json={
        "model": "gpt-4o", "messages": messages,
        "metadata": {"trace_id": trace_id, "generation_id": gen_id, "generation_name": "proxy-gen",
                     "trace_name": "proxy-trace", "session_id": f"{trace_id}-s"}})
    assert r.status_code == 200, r.text
    resp = r.json()
    assert resp["choices"][0]["message"]["content"] == "hello from the proxy"
    cost = float(r.headers.get("x-litellm-response-cost", "nan"))

    # The proxy's Langfuse client sends asynchronously (flush_interval 1 s): wait for the
    # proxy to deliver. This waits on the client, not on Loupe (reads are immediate).
    deadline = time.monotonic() + 30
    while True:
        got = api.get(f"/api/public/traces/{trace_id}")
        if got.status_code == 200 and any(o["id"] == gen_id for o in got.json()["observations"]):
            break
        assert got.status_code in (200, 404), got.text
        if time.monotonic() > deadline:
            pytest.fail(f"trace {trace_id} did not arrive within 30 s; proxy log:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.25)

    t = got.json()
    assert t["name"] == "proxy-trace"
    assert t["sessionId"] == f"{trace_id}-s"
    assert t["environment"] == environment
    assert t["input"] == {"messages": messages}
    assert t["output"]["content"] == "hello from the proxy"
    g = next(o for o in t["observations"] if o["id"] == gen_id)
    _check_generation(g, trace_id=trace_id, gen_id=gen_id, environment=environment, name="proxy-gen",
                      usage=resp["usage"], cost=cost, messages=messages, content="hello from the proxy",
                      model="openai/gpt-4o")  # the proxy reports provider/model
    assert g["metadata"]["user_api_key_request_route"] == "/chat/completions"

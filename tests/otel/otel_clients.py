"""Runs the OpenTelemetry client scripts of tests/otel as subprocesses: the
Python ones from .venv-test/otel (or, for LiteLLM and the OpenAI
instrumentations, from .venv-test/litellm-otel and .venv-test/openai-otel),
the JS ones with node from tests/otel/node (all installed by
scripts/setup-otel-test-env.sh)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import pytest

from integration.harness import PUBLIC_KEY, ROOT, SECRET_KEY

HERE = pathlib.Path(__file__).resolve().parent
VENV = ROOT / ".venv-test" / "otel"
PY = VENV / "bin" / "python"
NODE_DIR = HERE / "node"
SETUP_HINT = "run scripts/setup-otel-test-env.sh"


# Client venvs by name (.venv-test/<name>); each has its own requirements file
# in tests/otel so that their pins cannot conflict.
VENVS = ("otel", "litellm-otel", "openai-otel")


def venv_python(venv: str) -> pathlib.Path:
    assert venv in VENVS, venv
    return ROOT / ".venv-test" / venv / "bin" / "python"


def require_python_clients(venv: str = "otel") -> None:
    py = venv_python(venv)
    assert py.exists(), f"{py.parent.parent} missing: {SETUP_HINT}"


def require_node_clients() -> None:
    if os.environ.get("LOUPE_SKIP_NODE") == "1":
        pytest.skip("LOUPE_SKIP_NODE=1: npm OpenTelemetry clients not installed")
    assert (NODE_DIR / "node_modules" / "@langfuse" / "otel").exists(), \
        f"{NODE_DIR}/node_modules missing: {SETUP_HINT}"


def client_env(url: str, environment: str, session: str, grpc: str | None = None, **extra) -> dict:
    env = dict(os.environ)
    # The clients must talk to the server under test and nothing else.
    for k in list(env):
        if k.startswith(("OTEL_", "LANGFUSE_", "LITELLM_", "OPENAI_", "TRACELOOP_",
                         "OPENINFERENCE_")) or k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                                                     "https_proxy"):
            env.pop(k)
    env.update({
        "LOUPE_URL": url,
        "LANGFUSE_PUBLIC_KEY": PUBLIC_KEY,
        "LANGFUSE_SECRET_KEY": SECRET_KEY,
        "TEST_ENVIRONMENT": environment,
        "TEST_SESSION": session,
        "NO_PROXY": "127.0.0.1,localhost",
    })
    if grpc:
        env["LOUPE_GRPC"] = grpc
    env.update(extra)
    return env


def _run(cmd: list[str], env: dict, cwd: pathlib.Path, timeout: float) -> dict:
    p = subprocess.run(cmd, env=env, cwd=str(cwd), capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{' '.join(cmd)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    assert lines, f"{' '.join(cmd)} printed no ids\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return json.loads(lines[-1])


def run_python_client(script: str, *args: str, env: dict, timeout: float = 90,
                      venv: str = "otel") -> dict:
    require_python_clients(venv)
    return _run([str(venv_python(venv)), str(HERE / "clients" / script), *args], env, HERE, timeout)


def run_node_client(script: str, *args: str, env: dict, timeout: float = 90) -> dict:
    require_node_clients()
    return _run(["node", str(NODE_DIR / script), *args], env, NODE_DIR, timeout)


def by_name(observations: list[dict]) -> dict[str, dict]:
    out = {}
    for o in observations:
        assert o["name"] not in out, f"duplicate observation name {o['name']}"
        out[o["name"]] = o
    return out

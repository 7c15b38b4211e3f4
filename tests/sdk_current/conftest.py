"""Fixtures of the current-SDK tests: one server for the folder, the paths of
the SDK installs made by scripts/setup-conformance-env.sh."""

from __future__ import annotations

import pathlib

import pytest

from integration.harness import ROOT, Api, LoupeServer

V4_PYTHON = ROOT / ".venv-test" / "langfuse-v4" / "bin" / "python"
NODE_DIR = ROOT / "tests" / "sdk_current" / "node"


@pytest.fixture(scope="module")
def sdk_server(tmp_root):
    name = "sdk-current"
    srv = LoupeServer(tmp_root / f"data-{name}", tmp_root / f"loupe-{name}.log")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def sdk_api(sdk_server) -> Api:
    return Api(sdk_server.url)


def sdk_env(server: LoupeServer) -> dict:
    from integration.harness import PUBLIC_KEY, SECRET_KEY
    import os
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGFUSE_", "OTEL_"))}
    env.update({"LANGFUSE_BASE_URL": server.url, "LANGFUSE_HOST": server.url, "LANGFUSE_BASEURL": server.url,
                "LANGFUSE_PUBLIC_KEY": PUBLIC_KEY, "LANGFUSE_SECRET_KEY": SECRET_KEY})
    return env

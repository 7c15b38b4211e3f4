"""Shared fixtures for tests/integration and tests/compat.

`loupe` is one server for the whole session (tests isolate themselves with
unique ids and a unique environment per test); `server_factory` starts extra,
private servers (crash test, restarts).
"""

from __future__ import annotations

import pathlib
import shutil
import tempfile

import pytest

from integration.harness import Api, LoupeServer, env_name

_servers: list[LoupeServer] = []


@pytest.fixture(scope="session")
def tmp_root():
    d = pathlib.Path(tempfile.mkdtemp(prefix="loupe-it-"))
    yield d
    if not _keep():
        shutil.rmtree(d, ignore_errors=True)


def _keep() -> bool:
    import os
    return os.environ.get("LOUPE_KEEP_TMP") == "1"


@pytest.fixture(scope="session")
def loupe(tmp_root):
    """The shared server: fresh data dir, keys pk-lf-test / sk-lf-test."""
    srv = LoupeServer(tmp_root / "data-main", tmp_root / "loupe-main.log")
    _servers.append(srv)
    srv.start()
    yield srv
    rc = srv.stop()
    _servers.remove(srv)
    # A clean SIGTERM shutdown must exit 0 (Kubernetes restarts otherwise look like crashes).
    assert rc == 0, f"loupe exited with {rc} on SIGTERM:\n{srv.log_tail()}"


@pytest.fixture
def server_factory(tmp_root, request):
    """Starts private servers; each gets its own data dir. Stopped after the test."""
    made: list[LoupeServer] = []

    def make(name: str | None = None, extra_env: dict | None = None, start: bool = True,
             command: str = "serve") -> LoupeServer:
        name = name or f"{request.node.name}-{len(made)}".replace("/", "_")[:80]
        srv = LoupeServer(tmp_root / f"data-{name}", tmp_root / f"loupe-{name}.log", extra_env, command)
        made.append(srv)
        _servers.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    for srv in made:
        srv.stop()
        _servers.remove(srv)


@pytest.fixture
def api(loupe) -> Api:
    return Api(loupe.url)


@pytest.fixture
def env() -> str:
    """A unique environment name for this test (isolates list queries)."""
    return env_name()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _servers:
        for srv in _servers:
            rep.sections.append((f"loupe log tail ({srv.log_path.name})", srv.log_tail(40)))

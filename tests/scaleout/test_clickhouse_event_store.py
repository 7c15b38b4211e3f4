"""The EventStore on ClickHouse and its HTTP client, against the real ClickHouse
engine: chdb (PyPI) behind tests/support/chdb_front.py, which speaks
ClickHouse's HTTP interface. The C++ suites run with
LOUPE_TEST_CLICKHOUSE_URL pointing at it and must pass without skipping."""

from __future__ import annotations

import base64
import json
import os
import pathlib
import queue
import subprocess
import sys
import threading
import uuid

import pytest
import requests

from integration.harness import ROOT, binary_path

FRONT = ROOT / "tests" / "support" / "chdb_front.py"
USER = "loupe"
PASSWORD = "ch-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def clickhouse(tmp_path_factory):
    """A chdb front on a free port; yields its URL."""
    data = tmp_path_factory.mktemp("chdb")
    proc = subprocess.Popen([sys.executable, str(FRONT), "--data", str(data / "db"), "--port", "0",
                             "--user", USER, "--password", PASSWORD],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        line = lines.get(timeout=120)
    except queue.Empty:
        proc.kill()
        pytest.fail("chdb front did not start: " + (proc.stderr.read() if proc.poll() is not None else ""))
    assert line.startswith("PORT "), line + (proc.stderr.read() if proc.poll() is not None else "")
    url = f"http://127.0.0.1:{int(line.split()[1])}"
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _test_binary(name: str) -> pathlib.Path:
    binary = binary_path().parent / "src" / "storage" / "clickhouse" / name
    assert binary.exists(), f"{binary} not built (LOUPE_BUILD_TESTS=ON builds it next to loupe)"
    return binary


def _run_suite(name: str, url: str, gtest_filter: str) -> str:
    env = dict(os.environ, LOUPE_TEST_CLICKHOUSE_URL=url, LOUPE_TEST_CLICKHOUSE_USER=USER,
               LOUPE_TEST_CLICKHOUSE_PASSWORD=PASSWORD)
    r = subprocess.run([str(_test_binary(name)), f"--gtest_filter={gtest_filter}"], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "SKIPPED" not in r.stdout, r.stdout[-4000:]
    return r.stdout


def test_front_speaks_clickhouse_http(clickhouse):
    assert requests.get(clickhouse + "/ping", timeout=10).text == "Ok.\n"
    auth = {"X-ClickHouse-User": USER, "X-ClickHouse-Key": PASSWORD}
    r = requests.post(clickhouse + "/", data="SELECT 1 AS a, 'x' AS b FORMAT JSONEachRow", headers=auth,
                      timeout=30)
    assert r.status_code == 200 and r.json() == {"a": 1, "b": "x"}, r.text
    basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    r = requests.post(clickhouse + "/", data="SELECT 1, 'y'", headers={"Authorization": basic}, timeout=30)
    assert r.status_code == 200 and r.text == "1\ty\n", r.text
    r = requests.post(clickhouse + "/", data="SELECT 1", headers={**auth, "X-ClickHouse-Key": "wrong"},
                      timeout=30)
    assert r.status_code == 401 and r.text.startswith("Code: 516."), r.text
    r = requests.post(clickhouse + "/", data="SELEC 1", headers=auth, timeout=30)
    assert r.status_code == 400 and r.text.startswith("Code: 62. DB::Exception:"), r.text
    r = requests.post(clickhouse + "/", data="SELECT * FROM no_such_table", headers=auth, timeout=30)
    assert r.status_code == 404 and "Code: 60." in r.text, r.text

    db = "front_" + uuid.uuid4().hex[:8]
    assert requests.post(clickhouse + "/", data=f"CREATE DATABASE {db}", headers=auth, timeout=30).ok
    r = requests.post(clickhouse + "/", params={"database": db},
                      data="CREATE TABLE t (id String, n Int64) ENGINE = MergeTree ORDER BY id", headers=auth,
                      timeout=30)
    assert r.status_code == 200 and r.text == "", r.text
    r = requests.post(clickhouse + "/", params={"database": db, "query": "INSERT INTO t FORMAT JSONEachRow"},
                      data='{"id":"a","n":1}\n{"id":"b\'","n":2}\n', headers=auth, timeout=30)
    assert r.status_code == 200, r.text
    r = requests.post(clickhouse + "/", params={"database": db},
                      data="SELECT id, n FROM t ORDER BY id FORMAT JSONEachRow", headers=auth, timeout=30)
    assert [line for line in r.text.splitlines()] == ['{"id":"a","n":1}', '{"id":"b\'","n":2}'], r.text


def test_client_against_clickhouse(clickhouse):
    """Quoting round trips, wrong password, nothing listening, syntax errors."""
    out = _run_suite("ch_client_test", clickhouse, "*")
    assert "[  PASSED  ] 9 tests" in out, out[-4000:]


def test_event_store_conformance_suite_on_clickhouse(clickhouse):
    """The C++ suite every EventStore backend passes, on ClickHouse: every read
    equals what the SQLite store returns for the same events."""
    out = _run_suite("event_store_conformance_test", clickhouse, "*/clickhouse:ClickHouseEventStoreOpenTest.*")
    assert "[  PASSED  ] 22 tests" in out, out[-4000:]
    # The schema migrations it applied are recorded in ClickHouse, once each.
    auth = {"X-ClickHouse-User": USER, "X-ClickHouse-Key": PASSWORD}
    r = requests.post(clickhouse + "/", params={"database": "loupe_event_store_conformance"},
                      data="SELECT version, count() AS n FROM loupe_schema_migrations GROUP BY version "
                           "ORDER BY version FORMAT JSONEachRow", headers=auth, timeout=30)
    assert r.status_code == 200, r.text
    # (64-bit counts may come quoted, as older ClickHouse versions send them.)
    assert [(row["version"], int(row["n"])) for row in map(json.loads, r.text.splitlines())] == [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1)], r.text
    r = requests.post(clickhouse + "/", params={"database": "loupe_event_store_conformance"},
                      data="SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND "
                           "name = 'observations' FORMAT JSONEachRow", headers=auth, timeout=30)
    assert "ReplacingMergeTree(row_version, is_deleted)" in r.text and "ORDER BY (project_id, id)" in r.text, r.text
    # The write path's lookups (versions, the recount of trace summaries) read
    # small granules, whatever the table size.
    for table, order in (("entity_versions", "(project_id, kind, id)"), ("trace_heads", "(project_id, id)"),
                         ("observations_by_trace", "(project_id, trace_id, id)")):
        r = requests.post(clickhouse + "/", params={"database": "loupe_event_store_conformance"},
                          data="SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND "
                               f"name = '{table}' FORMAT JSONEachRow", headers=auth, timeout=30)
        assert f"ORDER BY {order}" in r.text and "index_granularity = 1024" in r.text, (table, r.text)

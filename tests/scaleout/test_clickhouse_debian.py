"""The ClickHouse client against Debian 12's own ClickHouse server (18.16).

The event store needs ClickHouse 23.2 or later and is tested against the
current engine (chdb, tests/support/chdb_front.py). The client underneath
keeps to the plain, long-stable part of the HTTP interface (statements in the
body, JSONEachRow, X-ClickHouse-User/-Key, "Code: N." errors), and this checks
it against the oldest server a user may have at hand: the one Debian packages,
started by scripts/start-services.sh. A Loupe pointed at it must stop with one
line naming the version it needs, not fail on a CREATE TABLE."""

from __future__ import annotations

import os
import subprocess

import pytest

from integration.harness import binary_path


def test_client_against_debian_clickhouse(debian_clickhouse):
    """Quoting round trips, create / insert / query, wrong password, syntax errors."""
    env = dict(os.environ, LOUPE_TEST_CLICKHOUSE_URL=debian_clickhouse.url,
               LOUPE_TEST_CLICKHOUSE_USER=debian_clickhouse.user,
               LOUPE_TEST_CLICKHOUSE_PASSWORD=debian_clickhouse.password)
    test = binary_path().parent / "src" / "storage" / "clickhouse" / "ch_client_test"
    r = subprocess.run([str(test)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "SKIPPED" not in r.stdout, r.stdout[-4000:]
    assert "[  PASSED  ] 9 tests" in r.stdout, r.stdout[-4000:]


def test_loupe_names_the_version_it_needs(server_factory, debian_clickhouse):
    srv = server_factory(extra_env={"CLICKHOUSE_URL": debian_clickhouse.url,
                                    "CLICKHOUSE_USER": debian_clickhouse.user,
                                    "CLICKHOUSE_PASSWORD": debian_clickhouse.password,
                                    "CLICKHOUSE_DB": "loupe_too_old"}, start=False)
    with pytest.raises(RuntimeError) as e:
        srv.start(timeout=20)
    assert "exited with 1" in str(e.value), str(e.value)
    [line] = [l for l in srv.log_tail().splitlines() if "failed to start" in l]
    assert "event storage (ClickHouse)" in line and "ClickHouse 18.16" in line, line
    assert "needs 23.2 or later" in line, line
    assert debian_clickhouse.password not in line

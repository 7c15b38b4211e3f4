"""Prompts and datasets in PostgreSQL (DATABASE_URL): the C++ suites every
PromptStore and DatasetStore backend passes, run against a real PostgreSQL 15
started by scripts/start-services.sh (conftest.py). Each test gets a fresh,
empty database; the tables land in Loupe's own schema `loupe`."""

from __future__ import annotations

import os
import subprocess

import pytest

from integration.harness import binary_path

# Binary → (schema component, number of its tests on PostgreSQL).
SUITES = {
    "prompt_store_conformance_test": ("prompts", 22),
    "dataset_store_conformance_test": ("datasets", 19),
}


@pytest.fixture
def database(pg_service) -> str:
    return pg_service.new_database()


def run_suite(name: str, url: str) -> subprocess.CompletedProcess:
    binary = binary_path().parent / "src" / "storage" / "postgres" / name
    assert binary.exists(), f"{binary} not built (LOUPE_BUILD_TESTS=ON builds it next to loupe)"
    env = dict(os.environ, LOUPE_TEST_DATABASE_URL=url)
    return subprocess.run([str(binary), "--gtest_filter=*/postgres"], env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_content_store_conformance_suite_on_postgres(pg_service, database, suite):
    """The suite passes on a fresh database, and again on the same one: ids
    are unique per run, and the second run finds its migrations applied."""
    component, count = SUITES[suite]
    url = pg_service.url(database)
    for attempt in range(2):
        r = run_suite(suite, url)
        assert r.returncode == 0, f"run {attempt + 1}:\n" + r.stdout[-4000:] + r.stderr[-2000:]
        assert "SKIPPED" not in r.stdout and f"[  PASSED  ] {count} tests" in r.stdout, r.stdout[-4000:]
    assert pg_service.psql(database, f"SELECT version FROM loupe.schema_version WHERE component = '{component}'") \
        == [["1"]]


def test_prompt_and_dataset_tables_live_in_the_loupe_schema(pg_service, database):
    """What the suites wrote is in `loupe`, not in the database's public
    schema (where a Langfuse sharing the database keeps tables of the same
    names)."""
    url = pg_service.url(database)
    for suite in SUITES:
        r = run_suite(suite, url)
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    tables = {row[0] for row in pg_service.psql(
        database, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'loupe'")}
    assert {"prompts", "prompt_dependencies", "prompt_changes", "datasets", "dataset_item_versions",
            "dataset_runs", "dataset_run_items"} <= tables, tables
    assert pg_service.psql(
        database, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") == [["0"]]
    # Versions of one prompt name are unique, whatever ran concurrently.
    assert pg_service.psql(database, "SELECT count(*) FROM (SELECT project_id, name, version FROM loupe.prompts "
                                     "GROUP BY 1, 2, 3 HAVING count(*) > 1) d") == [["0"]]
    # At most one current version per dataset item.
    assert pg_service.psql(database, "SELECT count(*) FROM (SELECT project_id, id FROM loupe.dataset_item_versions "
                                     "WHERE valid_to IS NULL GROUP BY 1, 2 HAVING count(*) > 1) d") == [["0"]]

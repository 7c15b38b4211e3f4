"""The management stores (score configs, models, comments, annotation queues,
LLM connections) and the media store on PostgreSQL: their C++ conformance
suites, which every backend passes, run against a real PostgreSQL 15
started by scripts/start-services.sh (conftest.py). The tables are checked
where they land, with psql; Loupe keeps them in the schema `loupe`."""

from __future__ import annotations

import os
import pathlib
import subprocess
import uuid

import pytest

from integration.harness import binary_path

SUITES = ("admin_stores_conformance_test", "media_store_conformance_test")
COMPONENTS = ("score_configs", "models", "comments", "annotation_queues", "llm_connections", "media")
TABLES = ("score_configs", "models", "comments", "annotation_queues", "annotation_queue_items",
          "annotation_queue_assignments", "llm_connections", "media", "trace_media", "observation_media",
          "dataset_item_media")


@pytest.fixture
def database(pg_service) -> str:
    return pg_service.new_database()


def suite_binary(name: str) -> pathlib.Path:
    binary = binary_path().parent / "src" / "storage" / "postgres" / name
    assert binary.exists(), f"{binary} not built (LOUPE_BUILD_TESTS=ON builds it next to loupe)"
    return binary


def postgres_test_count(binary: pathlib.Path) -> int:
    r = subprocess.run([str(binary), "--gtest_list_tests", "--gtest_filter=*/postgres"], capture_output=True,
                       text=True, timeout=60, check=True)
    return sum(1 for line in r.stdout.splitlines() if line.startswith("  "))


def start_suite(binary: pathlib.Path, url: str) -> subprocess.Popen:
    env = dict(os.environ, LOUPE_TEST_DATABASE_URL=url)
    return subprocess.Popen([str(binary), "--gtest_filter=*/postgres"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def check_passed(binary: pathlib.Path, proc: subprocess.Popen) -> None:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-4000:] + err[-2000:]
    n = postgres_test_count(binary)
    assert n > 0
    assert "SKIPPED" not in out and f"[  PASSED  ] {n} tests" in out, out[-4000:]


def run_suite(name: str, url: str) -> None:
    binary = suite_binary(name)
    check_passed(binary, start_suite(binary, url))


@pytest.mark.parametrize("suite", SUITES)
def test_conformance_suite_on_postgres(pg_service, database, suite):
    """The C++ suite every backend passes, run against this server."""
    run_suite(suite, pg_service.url(database))


def test_suites_migrate_once_and_reuse_the_database(pg_service, database):
    """Two runs of each suite at once on a fresh database: the migrations of
    each component apply once (the others wait for the lock, then find
    nothing to do), and the rows of one run do not disturb the other."""
    url = pg_service.url(database)
    procs = [(suite_binary(s), start_suite(suite_binary(s), url)) for s in SUITES for _ in range(2)]
    for binary, proc in procs:
        check_passed(binary, proc)
    versions = dict(pg_service.psql(database, "SELECT component, version FROM loupe.schema_version"))
    for component in COMPONENTS:
        assert versions.get(component) == "1", versions
    tables = {row[0] for row in pg_service.psql(
        database, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'loupe'")}
    assert set(TABLES) <= tables, tables
    public = pg_service.psql(
        database, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    assert public == [], public
    # Then once more on the same, now populated, database.
    for suite in SUITES:
        run_suite(suite, url)


def test_orderings_compare_bytes_under_a_linguistic_collation(pg_service):
    """Listings that break ties by id (queues, queue items) and the projects
    with models come in SQLite's byte order also when the database's default
    collation is a linguistic one (ICU en-US sorts "a" before "B")."""
    name = f"loupe_icu_{uuid.uuid4().hex[:12]}"
    pg_service.psql("postgres", f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu "
                                f"ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
    assert pg_service.psql(name, "SELECT 'a' < 'B'") == [["t"]]
    run_suite("admin_stores_conformance_test", pg_service.url(name))


def test_rows_land_in_the_loupe_schema(pg_service, database):
    """What the suites write is in PostgreSQL's own tables, readable with psql:
    times as epoch milliseconds, flags as booleans, numbers as doubles."""
    run_suite("admin_stores_conformance_test", pg_service.url(database))
    rows = pg_service.psql(database, "SELECT count(*), bool_or(is_archived) FROM loupe.score_configs")
    assert int(rows[0][0]) > 0 and rows[0][1] == "t", rows
    numbers = pg_service.psql(
        database, "SELECT min_value, max_value FROM loupe.score_configs WHERE min_value = 0.1")
    assert numbers and all(row == ["0.1", "1e+300"] for row in numbers), numbers
    types = dict(pg_service.psql(database, "SELECT column_name, data_type FROM information_schema.columns "
                                           "WHERE table_schema = 'loupe' AND table_name = 'llm_connections'"))
    assert types["created_at"] == "bigint" and types["with_default_models"] == "boolean", types
    run_suite("media_store_conformance_test", pg_service.url(database))
    media = pg_service.psql(database, "SELECT count(DISTINCT project_id) FROM loupe.media")
    assert int(media[0][0]) > 0
    links = pg_service.psql(database, "SELECT count(*) FROM loupe.trace_media")
    assert int(links[0][0]) > 0, links

"""The ClickHouse write path's lookups at a given table size.

Each worker round asks ClickHouse for the newest version of every entity of
its batch (about a thousand random ids, half of them new), then recounts the
summaries of the traces it touched from their observations (a few hundred
random traces). This times both queries, in chdb (ClickHouse 26) directly,
each on two tables holding the same N rows:

  - `default`: ClickHouse's default granules (8,192 rows) and compressed
    blocks (64 KB-1 MB), which is what the queries read before migrations
    5 and 6;
  - `small`: the layout of Loupe's entity_versions, trace_heads and
    observations_by_trace tables (1,024-row granules, 4-64 KB blocks).

    .venv-test/sdk/bin/python bench/clickhouse_lookup.py --rows 10000000

Prints one JSON line per query and table: the median and minimum of 7 runs,
in ms.
"""

import argparse
import json
import shutil
import tempfile
import time
import uuid

from chdb import session

LAYOUTS = {
    "default": "",
    "small": "SETTINGS index_granularity = 1024, min_compress_block_size = 4096, "
             "max_compress_block_size = 65536",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--ids", type=int, default=1000, help="ids per lookup, half of them stored")
    ap.add_argument("--traces", type=int, default=300, help="traces per recount")
    a = ap.parse_args()
    path = tempfile.mkdtemp(prefix="loupe-ch-lookup-")
    try:
        s = session.Session(path)

        def q(sql: str) -> str:
            return str(s.query(sql, "JSONEachRow"))

        q("CREATE DATABASE b")
        for name, settings in LAYOUTS.items():
            q(f"CREATE TABLE b.versions_{name} (project_id String, kind UInt8, id String, "
              f"row_version UInt64, is_deleted UInt8, created_at Int64) "
              f"ENGINE = ReplacingMergeTree(row_version) ORDER BY (project_id, kind, id) {settings}")
            q(f"CREATE TABLE b.by_trace_{name} (project_id String, trace_id String, id String, "
              f"start_time Int64, end_time Nullable(Int64), total_cost Nullable(Float64), "
              f"total_tokens Int64, row_version UInt64, is_deleted UInt8) "
              f"ENGINE = ReplacingMergeTree(row_version, is_deleted) "
              f"ORDER BY (project_id, trace_id, id) {settings}")
        q(f"INSERT INTO b.versions_default SELECT 'p', 1, toString(generateUUIDv4()), number, 0, "
          f"number FROM numbers({a.rows})")
        # Four observations a trace.
        q(f"INSERT INTO b.by_trace_default SELECT 'p', toString(cityHash64(intDiv(number, 4))), "
          f"toString(generateUUIDv4()), number, number, 0.1, 10, 1, 0 FROM numbers({a.rows})")
        q("INSERT INTO b.versions_small SELECT * FROM b.versions_default")
        q("INSERT INTO b.by_trace_small SELECT * FROM b.by_trace_default")
        for name in LAYOUTS:
            q(f"OPTIMIZE TABLE b.versions_{name} FINAL")
            q(f"OPTIMIZE TABLE b.by_trace_{name} FINAL")
        stored = [json.loads(line)["id"] for line in
                  q(f"SELECT id FROM b.versions_default ORDER BY rand() LIMIT {a.ids // 2}").splitlines()]
        ids = stored + [str(uuid.uuid4()) for _ in range(a.ids - len(stored))]
        id_list = ",".join(f"'{i}'" for i in ids)
        traces = [json.loads(line)["trace_id"] for line in q(
            f"SELECT DISTINCT trace_id FROM b.by_trace_default ORDER BY rand() LIMIT {a.traces}").splitlines()]
        trace_list = ",".join(f"'{t}'" for t in traces)
        queries = {
            "versions": lambda name: (
                f"SELECT id, max(row_version) AS v, argMax(is_deleted, row_version) AS d, "
                f"argMax(created_at, row_version) AS c FROM b.versions_{name} WHERE project_id = 'p' "
                f"AND kind = 1 AND id IN ({id_list}) GROUP BY id"),
            "observations_of_traces": lambda name: (
                f"SELECT trace_id, count() AS n, sum(ifNull(total_cost, 0)) AS cost FROM (SELECT * "
                f"FROM b.by_trace_{name} WHERE project_id = 'p' AND trace_id IN ({trace_list}) "
                f"ORDER BY row_version DESC LIMIT 1 BY trace_id, id) WHERE is_deleted = 0 "
                f"GROUP BY trace_id"),
        }
        for query, sql in queries.items():
            for name in LAYOUTS:
                times = []
                for _ in range(7):
                    t0 = time.monotonic()
                    found = q(sql(name)).splitlines()
                    times.append((time.monotonic() - t0) * 1000)
                times.sort()
                print(json.dumps({"query": query, "layout": name, "rows": a.rows, "found": len(found),
                                  "median_ms": round(times[3], 1), "min_ms": round(times[0], 1)}))
    finally:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()

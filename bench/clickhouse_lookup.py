"""The ClickHouse write path's version lookup at a given table size.

Each worker round asks ClickHouse for the newest version of every entity of
its batch (about a thousand random ids, half of them new). This times that
query, in chdb (ClickHouse 26) directly, on two tables holding the same
N rows (random UUID ids):

  - `default`: ClickHouse's default granules (8,192 rows) and compressed
    blocks (64 KB-1 MB), which is what the query read before migration 5;
  - `entity_versions`: the layout of Loupe's entity_versions table
    (1,024-row granules, 4-64 KB compressed blocks).

    .venv-test/sdk/bin/python bench/clickhouse_lookup.py --rows 10000000

Prints one JSON line per table: the median and minimum of 7 runs, in ms.
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
    "entity_versions": "SETTINGS index_granularity = 1024, min_compress_block_size = 4096, "
                       "max_compress_block_size = 65536",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--ids", type=int, default=1000, help="ids per lookup, half of them stored")
    a = ap.parse_args()
    path = tempfile.mkdtemp(prefix="loupe-ch-lookup-")
    try:
        s = session.Session(path)

        def q(sql: str) -> str:
            return str(s.query(sql, "JSONEachRow"))

        q("CREATE DATABASE b")
        for name, settings in LAYOUTS.items():
            q(f"CREATE TABLE b.{name} (project_id String, kind UInt8, id String, row_version UInt64, "
              f"is_deleted UInt8, created_at Int64) ENGINE = ReplacingMergeTree(row_version) "
              f"ORDER BY (project_id, kind, id) {settings}")
        q(f"INSERT INTO b.default SELECT 'p', 1, toString(generateUUIDv4()), number, 0, number "
          f"FROM numbers({a.rows})")
        q("INSERT INTO b.entity_versions SELECT * FROM b.default")
        for name in LAYOUTS:
            q(f"OPTIMIZE TABLE b.{name} FINAL")
        stored = [json.loads(line)["id"] for line in
                  q(f"SELECT id FROM b.default ORDER BY rand() LIMIT {a.ids // 2}").splitlines()]
        ids = stored + [str(uuid.uuid4()) for _ in range(a.ids - len(stored))]
        id_list = ",".join(f"'{i}'" for i in ids)
        for name in LAYOUTS:
            times = []
            for _ in range(7):
                t0 = time.monotonic()
                found = q(f"SELECT id, max(row_version) AS v, argMax(is_deleted, row_version) AS d, "
                          f"argMax(created_at, row_version) AS c FROM b.{name} WHERE project_id = 'p' "
                          f"AND kind = 1 AND id IN ({id_list}) GROUP BY id").splitlines()
                times.append((time.monotonic() - t0) * 1000)
            times.sort()
            print(json.dumps({"table": name, "rows": a.rows, "ids": len(ids), "found": len(found),
                              "median_ms": round(times[3], 1), "min_ms": round(times[0], 1)}))
    finally:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Grows a ClickHouse event store to a target size for query timing.

The entities Loupe stored through its real write path (the benchmark's load
phases) are copied, inside ClickHouse, until the project holds the requested
number of observations: copy n of an entity gets "~n" appended to its id and
to every id it refers to (trace, parent observation, session), and its times
moved n steps back, spreading the copies over the 30 days before the
originals. Copies share their original's merge state (payloads), so a copy
read by id shows the original's input and output; lists, filters and
aggregations read the copied narrow columns. That is enough to time lists
and dashboards at scale, and it takes minutes instead of hours.

    python3 bench/clickhouse_replicate.py --url http://127.0.0.1:8123 --user U --password P \
        --database loupe_bench --project p --observations 10000000
"""

from __future__ import annotations

import argparse
import json
import math
import time
import urllib.request

DAY_MS = 86_400_000
ID_COLUMNS = {"id", "trace_id", "parent_observation_id", "observation_id", "session_id"}
TIME_COLUMNS = {"timestamp", "start_time", "end_time", "completion_start_time", "created_at",
                "updated_at", "min_start", "max_end"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", default="default")
    ap.add_argument("--password", default="")
    ap.add_argument("--database", required=True)
    ap.add_argument("--project", required=True)
    ap.add_argument("--observations", type=int, required=True)
    a = ap.parse_args()

    def sql(query: str) -> list[dict]:
        req = urllib.request.Request(
            f"{a.url}/?database={a.database}", data=query.encode(), method="POST",
            headers={"X-ClickHouse-User": a.user, "X-ClickHouse-Key": a.password})
        with urllib.request.urlopen(req, timeout=3600) as r:
            body = r.read().decode()
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def quote(s: str) -> str:
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"

    project = quote(a.project)
    have = int(sql(f"SELECT count() AS n FROM observations FINAL WHERE project_id = {project} "
                   "AND is_deleted = 0 FORMAT JSONEachRow")[0]["n"])
    if have == 0:
        raise SystemExit("no observations to copy")
    copies = max(0, math.ceil(a.observations / have) - 1)
    step_ms = 30 * DAY_MS // max(copies, 1)
    out = {"original_observations": have, "copies": copies}
    start = time.monotonic()
    # trace_metrics and observations_by_trace: the per-trace summaries and
    # the observations by trace that the write path keeps (entity_versions
    # and trace_heads are filled by ClickHouse's views from the copies).
    for table in ("traces", "observations", "scores", "trace_metrics", "observations_by_trace"):
        cols = [r["name"] for r in sql(
            f"SELECT name FROM system.columns WHERE database = {quote(a.database)} AND table = "
            f"{quote(table)} ORDER BY position FORMAT JSONEachRow")]
        exprs = []
        for c in cols:
            if c in ID_COLUMNS:
                exprs.append(f"if(isNull(src.{c}), src.{c}, concat(assumeNotNull(src.{c}), '~', "
                             f"toString(r.n))) AS {c}" if c != "id" else
                             f"concat(src.id, '~', toString(r.n)) AS id")
            elif c in TIME_COLUMNS:
                exprs.append(f"src.{c} - r.n * {step_ms} AS {c}")
            else:
                exprs.append(f"src.{c} AS {c}")
        t0 = time.monotonic()
        sql(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM "
            f"(SELECT * FROM {table} FINAL WHERE project_id = {project} AND is_deleted = 0) AS src "
            f"CROSS JOIN (SELECT number + 1 AS n FROM numbers({copies})) AS r")
        out[f"{table}_seconds"] = round(time.monotonic() - t0, 1)
    out["observations"] = int(sql(f"SELECT count() AS n FROM observations FINAL WHERE project_id = "
                                  f"{project} FORMAT JSONEachRow")[0]["n"])
    out["traces"] = int(sql(f"SELECT count() AS n FROM traces FINAL WHERE project_id = {project} "
                            "FORMAT JSONEachRow")[0]["n"])
    out["seconds"] = round(time.monotonic() - start, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

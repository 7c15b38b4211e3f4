"""Many clients at once: every request must get its normal answer (no spurious
401/500 under contention) and every acknowledged event must be readable."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from integration.harness import Api, env_name, event


@pytest.mark.parametrize("round_", range(4))
def test_parallel_clients_ingest_and_read(server_factory, round_):
    """On a fresh server each round, so that the very first writes of the project race each other."""
    loupe = server_factory(f"concurrency-{round_}")
    env = env_name()
    n_clients, n_batches, per_batch = 16, 8, 5
    statuses: Counter = Counter()
    bad: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(n_clients)

    def client(k: int):
        api = Api(loupe.url)          # one keep-alive connection per client
        start.wait()
        for b in range(n_batches):
            batch = []
            for i in range(per_batch):
                tid = f"{env}-c{k}-b{b}-t{i}"
                batch += [event("trace-create", {"id": tid, "name": "par", "environment": env}),
                          event("span-create", {"id": f"{tid}-s", "traceId": tid, "environment": env})]
            r = api.ingest(batch)
            reads = [api.get("/api/public/traces", params={"environment": env, "limit": 5}),
                     api.get(f"/api/public/traces/{env}-c{k}-b{b}-t0"),
                     api.get("/api/public/projects")]
            with lock:
                statuses[("ingest", r.status_code)] += 1
                if r.status_code != 207 or r.json().get("errors"):
                    bad.append(f"ingest c{k} b{b}: {r.status_code} {r.text[:200]}")
                for what, rr in zip(("list", "get", "projects"), reads):
                    statuses[(what, rr.status_code)] += 1
                    if rr.status_code != 200:
                        bad.append(f"{what} c{k} b{b}: {rr.status_code} {rr.text[:200]}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not bad, f"{len(bad)} bad answers {dict(statuses)}; first: {bad[:5]}"

    api = Api(loupe.url)
    traces = api.list_all("/api/public/traces", {"environment": env})
    assert len(traces) == n_clients * n_batches * per_batch
    obs = api.get_json("/api/public/observations", {"environment": env, "limit": 1})
    assert obs["meta"]["totalItems"] == n_clients * n_batches * per_batch

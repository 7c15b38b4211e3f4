"""Durability: a 207 means the events are durable (DESIGN §3). Kill -9 the server
while batches stream in, restart on the same data dir, and every acknowledged
event must be there."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from integration.harness import Api, env_name, event, iso, now_utc


def _batch(env: str, worker: int, n: int, per_batch: int = 10):
    prefix = f"w{worker}-b{n}"
    traces, obs, scores = [], [], []
    batch = []
    for i in range(per_batch):
        t = f"{env}-{prefix}-t{i}"
        traces.append(t)
        batch.append(event("trace-create", {"id": t, "name": f"crash-{prefix}", "input": {"i": i, "w": worker},
                                            "tags": ["crash"], "environment": env}))
        s, g = f"{t}-span", f"{t}-gen"
        obs += [s, g]
        batch.append(event("span-create", {"id": s, "traceId": t, "name": "s", "environment": env,
                                           "startTime": iso(now_utc())}))
        batch.append(event("generation-create", {"id": g, "traceId": t, "parentObservationId": s, "model": "gpt-4o",
                                                 "usageDetails": {"input": 10, "output": 5}, "environment": env}))
        sc = f"{t}-score"
        scores.append(sc)
        batch.append(event("score-create", {"id": sc, "traceId": t, "name": "q", "value": i, "environment": env}))
    return batch, traces, obs, scores


@pytest.mark.slow
def test_kill_9_mid_stream_loses_no_acknowledged_event(server_factory):
    srv = server_factory("crash")
    env = env_name()
    acked = {"traces": set(), "obs": set(), "scores": set(), "batches": 0}
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[str] = []

    def worker(wid: int):
        client = Api(srv.url)
        n = 0
        while not stop.is_set() and n < 200:
            batch, traces, obs, scores = _batch(env, wid, n)
            try:
                r = client.ingest(batch, timeout=15)
            except requests.RequestException:
                return  # the server is gone: this batch was never acknowledged
            if r.status_code != 207 or r.json()["errors"]:
                failures.append(f"{r.status_code} {r.text[:200]}")
                return
            with lock:
                acked["traces"].update(traces)
                acked["obs"].update(obs)
                acked["scores"].update(scores)
                acked["batches"] += 1
            n += 1

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with lock:
            if acked["batches"] >= 30:
                break
        time.sleep(0.01)
    srv.kill()                      # SIGKILL while the workers are mid-request
    stop.set()
    for t in threads:
        t.join(20)
    assert not failures, failures
    assert acked["batches"] >= 10, f"only {acked['batches']} batches acknowledged before the kill"

    srv.start()                     # same data dir, new port
    api = Api(srv.url)
    traces = {t["id"]: t for t in api.list_all("/api/public/traces", {"environment": env})}
    missing = acked["traces"] - set(traces)
    assert not missing, f"{len(missing)} acknowledged traces lost, e.g. {sorted(missing)[:5]}"
    obs = {o["id"] for o in api.list_all("/api/public/observations", {"environment": env})}
    missing = acked["obs"] - obs
    assert not missing, f"{len(missing)} acknowledged observations lost, e.g. {sorted(missing)[:5]}"
    scores = {s["id"] for s in api.list_all("/api/public/v2/scores", {"environment": env})}
    missing = acked["scores"] - scores
    assert not missing, f"{len(missing)} acknowledged scores lost, e.g. {sorted(missing)[:5]}"
    # content survived, not just ids
    sample = sorted(acked["traces"])[0]
    t = api.trace(sample)
    assert t["name"].startswith("crash-w") and t["tags"] == ["crash"] and set(t["input"]) == {"i", "w"}
    assert len(t["observations"]) == 2 and len(t["scores"]) == 1
    gen = next(o for o in t["observations"] if o["type"] == "GENERATION")
    assert gen["usageDetails"] == {"input": 10, "output": 5, "total": 15}
    assert gen["calculatedTotalCost"] == pytest.approx(10 * 2.5e-6 + 5 * 1e-5)
    # and the restarted server keeps accepting writes
    api.ingest_ok([event("trace-create", {"id": f"{env}-after", "environment": env})])
    assert api.trace(f"{env}-after")["environment"] == env


def test_sigterm_restart_keeps_data_and_exits_zero(server_factory):
    srv = server_factory("restart")
    env = env_name()
    api = Api(srv.url)
    api.ingest_ok([event("trace-create", {"id": f"{env}-t", "name": "persisted", "environment": env}),
                   event("span-create", {"id": f"{env}-s", "traceId": f"{env}-t", "environment": env})])
    rc = srv.stop()
    assert rc == 0, f"exit code {rc} after SIGTERM"
    srv.start()
    api = Api(srv.url)
    t = api.trace(f"{env}-t")
    assert t["name"] == "persisted"
    assert [o["id"] for o in t["observations"]] == [f"{env}-s"]
    # the init keys are still valid (no duplicate-key error on the second start)
    assert api.get("/api/public/projects").status_code == 200

"""Separate `loupe web` and `loupe worker` processes sharing real services:
PostgreSQL (metadata), ClickHouse (events; the real engine through chdb),
Redis (queue, shared cache invalidation) and Swift's s3api (raw events).
Two web processes and two workers: whatever goes in through either web
process is stored once by the workers and read back through both; a worker
killed with SIGKILL mid-run loses nothing; with ClickHouse down ingestion
keeps answering 207 and everything appears once it is back."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from integration.harness import basic_auth, uid
from scaleout.queue_support import TIMEOUT, get_trace, ingest, queue_env, trace_batch, wait_visible

ORG_KEY = ("pk-lf-org-ww", "sk-lf-org-ww")


@pytest.fixture
def cluster(server_factory, pg_service, s3_service, redis_service, clickhouse_service):
    """Builds processes sharing one set of services; `make(role)` starts one more."""
    database = pg_service.new_database()
    env = {
        "DATABASE_URL": pg_service.url(database),
        **clickhouse_service.env("loupe_" + uuid.uuid4().hex[:8]),
        **queue_env(s3_service, redis_service, f"ww-{uuid.uuid4().hex[:8]}/"),
        "LOUPE_METADATA_REFRESH_SECONDS": "1",
        "LOUPE_INIT_ORG_PUBLIC_KEY": ORG_KEY[0],
        "LOUPE_INIT_ORG_SECRET_KEY": ORG_KEY[1],
    }

    class Cluster:
        webs: list = []
        workers: list = []

        def make(self, role: str, extra: dict | None = None):
            srv = server_factory(f"{role}-{len(self.webs) + len(self.workers)}", {**env, **(extra or {})},
                                 command=role)
            (self.webs if role == "web" else self.workers).append(srv)
            return srv

    c = Cluster()
    c.webs, c.workers = [], []
    c.env = env
    c.clickhouse = clickhouse_service
    return c


def worker_health(worker) -> tuple[int, dict]:
    r = requests.get(worker.url + "/api/health", timeout=TIMEOUT)
    return r.status_code, r.json()


def test_two_webs_and_two_workers_share_everything(cluster):
    web_a, web_b = cluster.make("web"), cluster.make("web")
    w1, w2 = cluster.make("worker"), cluster.make("worker")
    # The workers split the 4 partitions between them.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        parts = [worker_health(w)[1]["partitions"] for w in (w1, w2)]
        if parts == [2, 2]:
            break
        time.sleep(0.2)
    assert parts == [2, 2], parts

    ids = [uid("ww") for _ in range(20)]
    for i, t in enumerate(ids):
        r = ingest((web_a if i % 2 else web_b).url, trace_batch(t, f"trace-{i}"))
        assert r.status_code == 207, r.text
    for t in ids:
        for web in (web_a, web_b):
            trace, _ = wait_visible(web.url, t)
            assert len(trace["observations"]) == 1 and len(trace["scores"]) == 1
    written = [worker_health(w)[1]["eventsWritten"] for w in (w1, w2)]
    assert sum(written) == 60 and min(written) > 0, written  # each event stored once, by both workers
    # Lists see every trace exactly once (no duplicate versions).
    r = requests.get(web_a.url + "/api/public/traces", params={"limit": 100}, timeout=TIMEOUT,
                     headers={"Authorization": basic_auth()})
    listed = [t["id"] for t in r.json()["data"] if t["id"] in ids]
    assert sorted(listed) == sorted(ids)

    # Metadata is shared: a prompt made through one web process is served by the other.
    name = uid("prompt")
    r = requests.post(web_a.url + "/api/public/v2/prompts", timeout=TIMEOUT, headers={"Authorization": basic_auth()},
                      json={"name": name, "prompt": "Hi {{x}}", "type": "text", "labels": ["production"]})
    assert r.status_code in (200, 201), r.text
    r = requests.get(f"{web_b.url}/api/public/v2/prompts/{name}", timeout=TIMEOUT,
                     headers={"Authorization": basic_auth()})
    assert r.status_code == 200 and r.json()["prompt"] == "Hi {{x}}", r.text

    # A custom model created through web A prices generations the workers store.
    model = uid("my-model")
    r = requests.post(web_a.url + "/api/public/models", timeout=TIMEOUT, headers={"Authorization": basic_auth()},
                      json={"modelName": model, "matchPattern": f"(?i)^{model}$", "unit": "TOKENS",
                            "inputPrice": 0.5, "outputPrice": 1.0})
    assert r.status_code in (200, 201), r.text
    time.sleep(2.5)  # LOUPE_METADATA_REFRESH_SECONDS=1 in the workers
    priced = uid("priced")
    batch = trace_batch(priced, "priced")
    batch["batch"][1]["body"]["model"] = model
    assert ingest(web_b.url, batch).status_code == 207
    trace, _ = wait_visible(web_a.url, priced)
    assert trace["observations"][0]["calculatedTotalCost"] == pytest.approx(1000 * 0.5 + 100 * 1.0)

    # An API key deleted through web A stops working on web B within seconds
    # (the shared invalidation through Redis), not after the 5-minute cache.
    org_auth = requests.auth.HTTPBasicAuth(*ORG_KEY)
    r = requests.post(f"{web_a.url}/api/public/projects/proj-loupe-test/apiKeys", auth=org_auth,
                      json={"note": "short-lived"}, timeout=TIMEOUT)
    assert r.status_code in (200, 201), r.text
    key = r.json()
    key_auth = requests.auth.HTTPBasicAuth(key["publicKey"], key["secretKey"])
    assert requests.get(web_b.url + "/api/public/traces", auth=key_auth, timeout=TIMEOUT).status_code == 200
    r = requests.delete(f"{web_a.url}/api/public/projects/proj-loupe-test/apiKeys/{key['id']}", auth=org_auth,
                        timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        code = requests.get(web_b.url + "/api/public/traces", auth=key_auth, timeout=TIMEOUT).status_code
        if code == 401:
            break
        time.sleep(0.2)
    assert code == 401


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(cluster):
    web = cluster.make("web")
    w1, w2 = cluster.make("worker"), cluster.make("worker")
    ids = [uid("kill") for _ in range(40)]
    for i, t in enumerate(ids):
        assert ingest(web.url, trace_batch(t, "k")).status_code == 207
        if i == 20:
            w1.kill()  # SIGKILL: whatever it had read and not acknowledged is claimed by w2
    for t in ids:
        trace, _ = wait_visible(web.url, t, seconds=60)
        assert len(trace["observations"]) == 1 and len(trace["scores"]) == 1
    r = requests.get(web.url + "/api/public/observations", params={"limit": 100, "name": "llm"},
                     timeout=TIMEOUT, headers={"Authorization": basic_auth()})
    gens = [o for o in r.json()["data"] if o["traceId"] in ids]
    assert len(gens) == len(ids)


def test_clickhouse_down_keeps_207_and_everything_appears_when_it_is_back(cluster):
    web = cluster.make("web")
    worker = cluster.make("worker")
    before = uid("before")
    assert ingest(web.url, trace_batch(before, "before")).status_code == 207
    wait_visible(web.url, before)
    cluster.clickhouse.stop()
    during = [uid("during") for _ in range(5)]
    for t in during:
        r = ingest(web.url, trace_batch(t, "during"))
        assert r.status_code == 207, r.text  # durable in S3 and Redis; ClickHouse is not needed
    deadline = time.monotonic() + 20
    while worker_health(worker)[0] != 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    code, health = worker_health(worker)
    assert code == 503 and "ClickHouse" in health.get("error", ""), health
    cluster.clickhouse.start()
    for t in during:
        trace, _ = wait_visible(web.url, t, seconds=90)  # the worker's backoff is at most 30 s
        assert len(trace["observations"]) == 1
    assert worker_health(worker)[0] == 200


def test_web_and_worker_refuse_to_start_without_their_services(server_factory):
    for role in ("web", "worker"):
        srv = server_factory(f"bare-{role}", {}, start=False, command=role)
        with pytest.raises(RuntimeError) as e:
            srv.start(timeout=15)
        assert "exited with 2" in str(e.value), str(e.value)
        [line] = [l for l in srv.log_tail().splitlines() if "invalid configuration" in l]
        for name in ("DATABASE_URL", "CLICKHOUSE_URL", "REDIS_CONNECTION_STRING",
                     "LANGFUSE_S3_EVENT_UPLOAD_BUCKET", "loupe serve"):
            assert name in line, line


def test_wrong_or_unreachable_clickhouse_stops_the_start_with_one_line(server_factory, clickhouse_service):
    for env, words in [({**clickhouse_service.env("loupe_bad"), "CLICKHOUSE_PASSWORD": "badpw-9c1e"},
                        "CLICKHOUSE_PASSWORD"),
                       ({**clickhouse_service.env("loupe_bad"), "CLICKHOUSE_URL": "http://127.0.0.1:1"},
                        "CLICKHOUSE_URL")]:
        srv = server_factory(extra_env=env, start=False)
        with pytest.raises(RuntimeError) as e:
            srv.start(timeout=20)
        assert "exited with 1" in str(e.value), str(e.value)
        [line] = [l for l in srv.log_tail().splitlines() if "failed to start" in l]
        assert "event storage (ClickHouse)" in line and words in line, line
        assert "badpw-9c1e" not in line


def test_langfuse_cluster_variables_are_named_as_not_acted_on(server_factory, clickhouse_service):
    """A Langfuse deployment's CLICKHOUSE_CLUSTER_ENABLED=true / CLICKHOUSE_MIGRATION_URL are not
    silently taken as honored: the process starts on the single node and says so in its log."""
    env = {**clickhouse_service.env("loupe_cluster_vars"), "CLICKHOUSE_CLUSTER_ENABLED": "true",
           "CLICKHOUSE_MIGRATION_URL": "clickhouse://127.0.0.1:9000"}
    srv = server_factory(extra_env=env)
    log = srv.log_tail()
    [warning] = [l for l in log.splitlines() if "CLICKHOUSE_CLUSTER_ENABLED=true is not supported" in l]
    assert "without ON CLUSTER or replicated engines" in warning, warning
    assert any("CLICKHOUSE_MIGRATION_URL is not used" in l for l in log.splitlines()), log
    r = requests.get(srv.url + "/api/public/health", timeout=10)
    assert r.status_code == 200, r.text

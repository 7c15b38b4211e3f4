"""Ingestion through the durable queue (REDIS_CONNECTION_STRING with
LANGFUSE_S3_EVENT_UPLOAD_*), against a real Redis and Swift's s3api: each
accepted batch is an object in the bucket and a reference in Redis before the
207; the worker stores it moments later. What was acknowledged survives
kill -9; with Redis or S3 down the answer is 503 with Retry-After, never a
207."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import time
import urllib.parse
import uuid

import requests

from integration.harness import basic_auth, binary_path, uid
from scaleout.queue_support import TIMEOUT, get_trace, ingest, queue_env, trace_batch, wait_visible

def test_batches_go_through_the_bucket_and_redis_and_become_visible(server_factory, s3_service,
                                                                    redis_service):
    prefix = f"q-{uuid.uuid4().hex[:8]}/"
    srv = server_factory(extra_env=queue_env(s3_service, redis_service, prefix))
    trace_id = uid("queued")
    r = ingest(srv.url, trace_batch(trace_id, "through-the-queue"))
    assert r.status_code == 207, r.text
    assert len(r.json()["successes"]) == 3 and r.json()["errors"] == []
    trace, waited = wait_visible(srv.url, trace_id)
    assert waited < 5, waited  # the bench measures it properly; this catches a stuck worker
    assert trace["name"] == "through-the-queue"
    [gen] = trace["observations"]
    assert gen["model"] == "gpt-4o" and gen["calculatedTotalCost"] > 0  # priced by the worker
    assert trace["scores"][0]["value"] == 1
    # The batch is an object under the prefix, in the bucket, read back with curl's own SigV4.
    code, listing = s3_service.read("?list-type=2&prefix=" + urllib.parse.quote(prefix + "events/", safe=""))
    assert code == 200 and b"<Key>" + prefix.encode() + b"events/" in listing, listing[:500]
    # Stored entries are acknowledged and removed from the streams.
    deadline = time.monotonic() + 10
    while sum(int(redis_service.cli("XLEN", f"loupe:ingest:{p}")) for p in range(4)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sum(int(redis_service.cli("XLEN", f"loupe:ingest:{p}")) for p in range(4)) == 0
    # OTLP takes the same path.
    span_trace = uuid.uuid4().hex
    now_ns = time.time_ns()
    otlp = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "langfuse-sdk"}, "spans": [
        {"traceId": span_trace, "spanId": uuid.uuid4().hex[:16], "name": "otel-root", "kind": 1,
         "startTimeUnixNano": str(now_ns), "endTimeUnixNano": str(now_ns + 1_000_000),
         "attributes": [{"key": "langfuse.trace.name", "value": {"stringValue": "otel-queued"}}]}]}]}]}
    r = requests.post(srv.url + "/api/public/otel/v1/traces", json=otlp, timeout=TIMEOUT,
                      headers={"Authorization": basic_auth()})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 10
    while get_trace(srv.url, span_trace).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert get_trace(srv.url, span_trace).json()["name"] == "otel-queued"


def test_what_was_acknowledged_survives_kill_9(server_factory, s3_service, redis_service):
    env = queue_env(s3_service, redis_service, f"k-{uuid.uuid4().hex[:8]}/")
    srv = server_factory(extra_env=env)
    ids = [uid("k9") for _ in range(30)]
    for t in ids:
        assert ingest(srv.url, trace_batch(t, "killed")).status_code == 207
    srv.kill()  # SIGKILL right after the last 207: the worker had no chance to finish
    srv.start()
    for t in ids:
        # The dead process's leases expire (15 s) before its pending entries move.
        trace, _ = wait_visible(srv.url, t, seconds=60)
        assert len(trace["observations"]) == 1 and len(trace["scores"]) == 1


def test_redis_down_answers_503_and_nothing_is_acknowledged(server_factory, s3_service, redis_service):
    srv = server_factory(extra_env=queue_env(s3_service, redis_service, f"r-{uuid.uuid4().hex[:8]}/"))
    before = uid("before")
    assert ingest(srv.url, trace_batch(before, "before")).status_code == 207
    wait_visible(srv.url, before)
    redis_service.stop()
    lost = uid("during")
    r = ingest(srv.url, trace_batch(lost, "during"))
    assert r.status_code == 503, r.text
    assert r.headers.get("Retry-After"), r.headers
    assert "Redis" in r.text
    assert get_trace(srv.url, before).status_code == 200  # reads do not need Redis
    redis_service.start()
    after = uid("after")
    r = ingest(srv.url, trace_batch(after, "after"))
    assert r.status_code == 207, r.text
    wait_visible(srv.url, after, seconds=30)
    # The refused batch was not stored behind the client's back: only a retry stores it.
    assert get_trace(srv.url, lost).status_code == 404
    assert ingest(srv.url, trace_batch(lost, "during")).status_code == 207
    wait_visible(srv.url, lost)


def _swift_proxy_pid(s3) -> tuple[pathlib.Path, int]:
    pidfile = s3.netrc.parent.parent / "pids" / "swift-proxy.pid"
    return pidfile, int(pidfile.read_text().strip())


def test_s3_down_answers_503_then_recovers(server_factory, s3_service, redis_service):
    srv = server_factory(extra_env=queue_env(s3_service, redis_service, f"s-{uuid.uuid4().hex[:8]}/"))
    pidfile, pid = _swift_proxy_pid(s3_service)
    cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    log = s3_service.netrc.parent.parent / "logs" / "swift-proxy.log"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while pathlib.Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        r = ingest(srv.url, trace_batch(uid("nos3"), "no-s3"))
        assert r.status_code == 503, r.text
        assert r.headers.get("Retry-After")
        assert "LANGFUSE_S3_EVENT_UPLOAD" in r.text
    finally:
        with open(log, "ab") as out:
            proc = subprocess.Popen([c.decode() for c in cmdline], stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        pidfile.write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(s3_service.endpoint + "/healthcheck", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
    back = uid("s3back")
    r = ingest(srv.url, trace_batch(back, "s3-back"))
    assert r.status_code == 207, r.text
    wait_visible(srv.url, back)


def test_unreachable_or_wrong_redis_stops_the_start_with_one_line(server_factory, s3_service, redis_service):
    for url, words in [(f"redis://:badpw-7f3a@127.0.0.1:{redis_service.port}", "rejected the password"),
                       ("redis://:x@127.0.0.1:1", "Redis at 127.0.0.1:1")]:
        env = queue_env(s3_service, redis_service, "bad/")
        env["REDIS_CONNECTION_STRING"] = url
        srv = server_factory(extra_env=env, start=False)
        try:
            srv.start(timeout=15)
            raise AssertionError("started with a bad Redis")
        except RuntimeError as e:
            assert "exited with 1" in str(e), str(e)
            lines = [l for l in srv.log_tail().splitlines() if "failed to start" in l]
            assert len(lines) == 1 and words in lines[0] and "REDIS_CONNECTION_STRING" in lines[0], lines
            assert "badpw-7f3a" not in lines[0]  # never the password


def test_queue_suite_on_redis(redis_service):
    """The C++ suite of the Redis client and the queue (leases, orphan claims,
    two workers, dead letters), run against this real Redis."""
    binary = binary_path().parent / "src" / "queue" / "queue_test"
    assert binary.exists(), f"{binary} not built (LOUPE_BUILD_TESTS=ON builds it next to loupe)"
    env = dict(os.environ, LOUPE_TEST_REDIS_URL=redis_service.url)
    r = subprocess.run([str(binary)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "SKIPPED" not in r.stdout and "[  PASSED  ] 14 tests" in r.stdout, r.stdout[-4000:]

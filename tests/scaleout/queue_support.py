"""Shared by the scale-out tests that ingest through the queue."""

from __future__ import annotations

import time

import requests

from integration.harness import basic_auth, event, iso, now_utc

TIMEOUT = 30


def queue_env(s3, redis, prefix: str) -> dict:
    return {
        "REDIS_CONNECTION_STRING": redis.url,
        "LANGFUSE_S3_EVENT_UPLOAD_BUCKET": s3.bucket,
        "LANGFUSE_S3_EVENT_UPLOAD_REGION": s3.region,
        "LANGFUSE_S3_EVENT_UPLOAD_ENDPOINT": s3.endpoint,
        "LANGFUSE_S3_EVENT_UPLOAD_ACCESS_KEY_ID": s3.access_key,
        "LANGFUSE_S3_EVENT_UPLOAD_SECRET_ACCESS_KEY": s3.secret,
        "LANGFUSE_S3_EVENT_UPLOAD_FORCE_PATH_STYLE": "true",
        "LANGFUSE_S3_EVENT_UPLOAD_PREFIX": prefix,
        "LOUPE_INGEST_PARTITIONS": "4",
    }


def trace_batch(trace_id: str, name: str) -> dict:
    ts = iso(now_utc())
    return {"batch": [
        event("trace-create", {"id": trace_id, "name": name, "userId": "u-1", "timestamp": ts}),
        event("generation-create", {"id": trace_id + "-g", "traceId": trace_id, "name": "llm",
                                    "model": "gpt-4o", "startTime": ts, "endTime": ts,
                                    "usageDetails": {"input": 1000, "output": 100}}),
        event("score-create", {"id": trace_id + "-s", "traceId": trace_id, "name": "quality", "value": 1}),
    ]}


def ingest(url: str, body: dict) -> requests.Response:
    return requests.post(url + "/api/public/ingestion", json=body, timeout=TIMEOUT,
                         headers={"Authorization": basic_auth()})


def get_trace(url: str, trace_id: str) -> requests.Response:
    return requests.get(f"{url}/api/public/traces/{trace_id}", timeout=TIMEOUT,
                        headers={"Authorization": basic_auth()})


def wait_visible(url: str, trace_id: str, seconds: float = 20) -> tuple[dict, float]:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        r = get_trace(url, trace_id)
        if r.status_code == 200 and r.json()["observations"] and r.json()["scores"]:
            return r.json(), time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"trace {trace_id} not visible within {seconds}s: {r.status_code} {r.text[:300]}")

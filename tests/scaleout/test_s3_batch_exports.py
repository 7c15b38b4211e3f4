"""Batch exports to S3 (LANGFUSE_S3_BATCH_EXPORT_*) against a real S3 server:
OpenStack Swift with s3api (conftest.py). The web UI's export writes the file
to the bucket under the prefix and answers with a presigned S3 GET URL, which
downloads the file straight from the bucket; the object is also read back
with curl's own SigV4 client. A wrong setting stops the start with one line
naming the variable."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import urllib.parse
import uuid

import pytest
import requests

from integration.harness import PROJECT_ID, Api, LoupeServer, basic_auth, binary_path, event, free_port, uid
from ui.ui_helpers import UI_ENV, UiClient


def export_env(s3_service, prefix: str, **overrides: str) -> dict:
    env = {k.replace("LANGFUSE_S3_MEDIA_UPLOAD_", "LANGFUSE_S3_BATCH_EXPORT_"): v
           for k, v in s3_service.media_env(prefix).items()}
    env["LANGFUSE_S3_BATCH_EXPORT_ENABLED"] = "true"
    env.update(UI_ENV)
    env.update(overrides)
    return env


@pytest.fixture(scope="module")
def export_prefix() -> str:
    return f"loupe-export-{uuid.uuid4().hex[:8]}/"


@pytest.fixture(scope="module")
def loupe_export(tmp_root, s3_service, export_prefix):
    srv = LoupeServer(tmp_root / "data-s3-export", tmp_root / "loupe-s3-export.log",
                      export_env(s3_service, export_prefix))
    srv.start()
    yield srv
    assert srv.stop() == 0, srv.log_tail()


def test_export_is_written_to_the_bucket_and_downloads_through_a_presigned_url(loupe_export, s3_service,
                                                                              export_prefix):
    env = "s3exp-" + uid("e")[-8:]
    ids = [uid("s3exp") for _ in range(3)]
    batch = [event("trace-create", {"id": tid, "name": f"n,\"{i}\"\n", "environment": env})
             for i, tid in enumerate(ids)]
    r = Api(loupe_export.url).post("/api/public/ingestion", json={"batch": batch}, auth=basic_auth())
    assert r.status_code == 207 and not r.json()["errors"], r.text

    c = UiClient(loupe_export.url)
    c.sign_in()
    flt = json.dumps([{"type": "string", "column": "environment", "operator": "=", "value": env}])
    r = c.post(f"/api/ui/projects/{PROJECT_ID}/batch-exports", {"table": "traces", "format": "csv", "filter": flt})
    assert r.status_code == 201, r.text
    e = r.json()
    assert e["status"] == "completed" and e["rows"] == 3
    key = f"{export_prefix}exports/{PROJECT_ID}/{e['id']}.csv"
    # A presigned S3 URL, path-style, for the object under the prefix.
    assert e["url"].startswith(f"{s3_service.endpoint}/{s3_service.bucket}/{key}?"), e["url"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(e["url"]).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["86400"]

    d = requests.get(e["url"], timeout=30)
    assert d.status_code == 200, d.text
    rows = list(csv.DictReader(io.StringIO(d.content.decode(), newline="")))
    assert sorted(x["id"] for x in rows) == sorted(ids)
    assert {x["name"] for x in rows} == {f"n,\"{i}\"\n" for i in range(3)}
    assert all(x["environment"] == env for x in rows)
    status, stored = s3_service.read(key)
    assert status == 200 and stored == d.content

    # JSON Lines too, to its own object.
    r = c.post(f"/api/ui/projects/{PROJECT_ID}/batch-exports", {"table": "traces", "format": "jsonl", "filter": flt})
    assert r.status_code == 201, r.text
    lines = requests.get(r.json()["url"], timeout=30).text.splitlines()
    assert sorted(json.loads(x)["id"] for x in lines) == sorted(ids)
    # A presigned URL whose signature was altered is refused by S3 itself.
    bad = r.json()["url"].replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert requests.get(bad, timeout=30).status_code == 403


def test_a_wrong_secret_stops_the_start_naming_the_variable(tmp_root, s3_service):
    env = export_env(s3_service, "x/", LANGFUSE_S3_BATCH_EXPORT_SECRET_ACCESS_KEY="not-the-secret")
    srv = LoupeServer(tmp_root / "data-s3-export-bad", tmp_root / "loupe-s3-export-bad.log", env)
    srv.port = free_port()
    srv.data_dir.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([str(binary_path()), "serve"], env=srv.env(), capture_output=True, text=True, timeout=60,
                       cwd=str(srv.data_dir))
    lines = (r.stdout + r.stderr).splitlines()
    assert r.returncode != 0, lines
    errors = [line for line in lines if " error " in line]
    assert len(errors) == 1, lines
    assert "batch export" in errors[0] and "LANGFUSE_S3_BATCH_EXPORT_SECRET_ACCESS_KEY" in errors[0], errors[0]
    assert not any("loupe listening" in line for line in lines), lines

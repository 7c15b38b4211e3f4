"""The real Python SDK v2 (langfuse 2.x) uploading media: a LangfuseMedia in a
trace's input makes the SDK ask POST /api/public/media for an upload URL, PUT
the bytes there, PATCH the upload report and put a media reference string in
the trace. The media is then read back through GET /api/public/media/{id}, its
download URL, and the SDK's own resolve_media_references."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time

import pytest
import requests

from integration.harness import PUBLIC_KEY, SECRET_KEY, uid

langfuse = pytest.importorskip("langfuse", reason="run scripts/setup-test-env.sh (langfuse v2 in .venv-test/sdk)")

# A valid 1x1 PNG, with random bytes appended in a trailing chunk-free tail so
# every run uploads new content.
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

REF = re.compile(r"@@@langfuseMedia:type=([^|]+)\|id=([^|]+)\|source=([^@]+)@@@")


def wait_for(fn, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        result = fn()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_sdk_v2_uploads_langfuse_media(loupe, api):
    from langfuse import Langfuse
    from langfuse.media import LangfuseMedia

    image = PNG_1X1 + os.urandom(32)
    lf = Langfuse(host=loupe.url, public_key=PUBLIC_KEY, secret_key=SECRET_KEY, flush_at=10,
                  flush_interval=0.2, max_retries=2, timeout=10)
    try:
        trace_id = uid("trace-media")
        lf.trace(id=trace_id, name="with-image",
                 input={"question": "what is this?",
                        "image": LangfuseMedia(content_bytes=image, content_type="image/png")})
        lf.flush()
    finally:
        lf.shutdown()

    expected_id = base64.urlsafe_b64encode(hashlib.sha256(image).digest()).decode()[:22]

    def trace_input():
        r = api.get(f"/api/public/traces/{trace_id}")
        return r.json()["input"] if r.status_code == 200 else None

    inp = wait_for(trace_input)
    assert inp, "trace never arrived"
    m = REF.fullmatch(inp["image"])
    assert m, inp
    assert m.group(1) == "image/png"
    assert m.group(2) == expected_id
    assert m.group(3) == "bytes"

    media = api.get_json(f"/api/public/media/{expected_id}")
    assert media["contentType"] == "image/png"
    assert media["contentLength"] == len(image)
    got = requests.get(media["url"], timeout=10)
    assert got.status_code == 200
    assert got.content == image

    # The SDK's own way back: fetch_media + download, as a data URI.
    lf2 = Langfuse(host=loupe.url, public_key=PUBLIC_KEY, secret_key=SECRET_KEY)
    try:
        resolved = LangfuseMedia.resolve_media_references(obj=inp, langfuse_client=lf2,
                                                          resolve_with="base64_data_uri")
    finally:
        lf2.shutdown()
    assert resolved["image"] == "data:image/png;base64," + base64.b64encode(image).decode()

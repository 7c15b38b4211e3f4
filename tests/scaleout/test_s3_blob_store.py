"""The S3 blob store's C++ tests (src/blob/s3_blob_store_service_test.cc)
against the real Swift s3api: put/get/stat/delete under a prefix, multipart
uploads of large objects, virtual-host style, presigned URLs bound to their
signed headers, and the start-up check naming the wrong setting."""

from __future__ import annotations

import os
import subprocess

import pytest

from integration.harness import binary_path


def test_s3_blob_store_against_swift(s3_service):
    binary = binary_path().parent / "src" / "blob" / "s3_blob_store_service_test"
    if not binary.exists():
        pytest.fail(f"{binary} not built (it is built with the unit tests: LOUPE_BUILD_TESTS=ON)")
    env = dict(os.environ)
    env.update({
        "LOUPE_TEST_S3_ENDPOINT": s3_service.endpoint,
        "LOUPE_TEST_S3_VHOST_ENDPOINT": s3_service.vhost_endpoint,
        "LOUPE_TEST_S3_BUCKET": s3_service.bucket,
        "LOUPE_TEST_S3_REGION": s3_service.region,
        "LOUPE_TEST_S3_ACCESS_KEY": s3_service.access_key,
        "LOUPE_TEST_S3_SECRET": s3_service.secret,
    })
    r = subprocess.run([str(binary)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]

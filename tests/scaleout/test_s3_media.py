"""Media on S3 (LANGFUSE_S3_MEDIA_UPLOAD_*) against a real S3 server: OpenStack
Swift with s3api, which checks every SigV4 signature, started by
scripts/start-services.sh (conftest.py).

POST /api/public/media hands out a presigned S3 PUT URL signed over the
declared Content-Type, Content-Length and x-amz-checksum-sha256, as Langfuse
does; the client uploads straight to the bucket; GET hands out a presigned S3
GET URL. The bytes are checked where they land, with curl's own SigV4 client.
A wrong setting stops Loupe at start with one log line naming the variable."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import time
import urllib.parse
import uuid

import pytest
import requests

from integration.harness import (PUBLIC_KEY, SECRET_KEY, Api, LoupeServer, binary_path, free_port, iso,
                                 now_utc, uid)


def sha_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def media_id_of(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode()[:22]


def fresh_bytes(n: int = 256) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + os.urandom(n)


def request_upload(api: Api, data: bytes, content_type: str = "image/png") -> requests.Response:
    return api.post("/api/public/media", json={
        "traceId": uid("trace"), "contentType": content_type, "contentLength": len(data),
        "sha256Hash": sha_b64(data), "field": "input"})


def put_bytes(url: str, data: bytes, content_type: str = "image/png", checksum: str | None = None,
              host: str | None = None) -> requests.Response:
    """The upload as the SDKs send it (Python SDK v2: these three headers)."""
    headers = {"Content-Type": content_type, "x-amz-checksum-sha256": checksum or sha_b64(data),
               "x-ms-blob-type": "BlockBlob"}
    if host:
        headers["Host"] = host
    return requests.put(url, data=data, headers=headers, timeout=30)


def report(api: Api, media_id: str, status: int = 200) -> None:
    r = api.patch(f"/api/public/media/{media_id}",
                  json={"uploadedAt": iso(now_utc()), "uploadHttpStatus": status, "uploadHttpError": None,
                        "uploadTimeMs": 5})
    assert r.status_code == 204, r.text


def object_key(prefix: str, media_id: str) -> str:
    # Loupe keeps media at media/<project>/<mediaId> under the configured prefix.
    return f"{prefix}media/proj-loupe-test/{media_id}"


@pytest.fixture(scope="module")
def s3_prefix() -> str:
    return f"loupe-it-{uuid.uuid4().hex[:8]}/"


@pytest.fixture(scope="module")
def loupe_s3(tmp_root, s3_service, s3_prefix):
    srv = LoupeServer(tmp_root / "data-s3-media", tmp_root / "loupe-s3-media.log", s3_service.media_env(s3_prefix))
    srv.start()
    yield srv
    rc = srv.stop()
    assert rc == 0, srv.log_tail()


@pytest.fixture
def api_s3(loupe_s3) -> Api:
    return Api(loupe_s3.url)


# --------------------------------------------------------------------------- the flow


def test_upload_lands_in_the_bucket_and_reads_back_through_presigned_urls(loupe_s3, api_s3, s3_service,
                                                                         s3_prefix):
    data = fresh_bytes(5000)
    r = request_upload(api_s3, data)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["mediaId"] == media_id_of(data)
    url = body["uploadUrl"]
    key = object_key(s3_prefix, body["mediaId"])
    # A presigned S3 URL, path-style, for the object under the prefix.
    assert url.startswith(f"{s3_service.endpoint}/{s3_service.bucket}/{key}?"), url
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host;x-amz-checksum-sha256"]
    assert query["X-Amz-Expires"] == ["3600"]

    assert api_s3.get(f"/api/public/media/{body['mediaId']}").status_code == 404
    put = put_bytes(url, data)
    assert put.status_code == 200, put.text
    # The bytes are in the bucket, read with another SigV4 client (curl's).
    status, stored = s3_service.read(key)
    assert status == 200
    assert stored == data

    report(api_s3, body["mediaId"])
    media = api_s3.get_json(f"/api/public/media/{body['mediaId']}")
    assert media["contentType"] == "image/png"
    assert media["contentLength"] == len(data)
    assert media["url"].startswith(f"{s3_service.endpoint}/{s3_service.bucket}/{key}?"), media["url"]
    dl = requests.get(media["url"], timeout=30)
    assert dl.status_code == 200, dl.text
    assert dl.content == data
    assert dl.headers["content-type"] == "image/png"

    # Uploaded once: the same bytes need no second upload.
    again = request_upload(api_s3, data)
    assert again.json() == {"mediaId": body["mediaId"], "uploadUrl": None}


def test_sdk_v2_media_upload_goes_to_the_bucket(loupe_s3, api_s3, s3_service, s3_prefix):
    langfuse = pytest.importorskip("langfuse", reason="scripts/setup-test-env.sh installs langfuse v2")
    from langfuse.media import LangfuseMedia

    image = fresh_bytes(2000)
    lf = langfuse.Langfuse(host=loupe_s3.url, public_key=PUBLIC_KEY, secret_key=SECRET_KEY, flush_at=10,
                           flush_interval=0.2, max_retries=2, timeout=10)
    trace_id = uid("trace-s3")
    try:
        lf.trace(id=trace_id, name="s3-image",
                 input={"image": LangfuseMedia(content_bytes=image, content_type="image/png")})
        lf.flush()
    finally:
        lf.shutdown()

    media_id = media_id_of(image)
    deadline = time.monotonic() + 20
    r = api_s3.get(f"/api/public/media/{media_id}")
    while r.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
        r = api_s3.get(f"/api/public/media/{media_id}")
    assert r.status_code == 200, r.text
    assert s3_service.read(object_key(s3_prefix, media_id)) == (200, image)
    trace = api_s3.get_json(f"/api/public/traces/{trace_id}")
    assert re.fullmatch(rf"@@@langfuseMedia:type=image/png\|id={media_id}\|source=bytes@@@",
                        trace["input"]["image"]), trace["input"]

    # The SDK's own way back: fetch_media, then the presigned URL.
    lf2 = langfuse.Langfuse(host=loupe_s3.url, public_key=PUBLIC_KEY, secret_key=SECRET_KEY)
    try:
        resolved = LangfuseMedia.resolve_media_references(obj=trace["input"], langfuse_client=lf2,
                                                          resolve_with="base64_data_uri")
    finally:
        lf2.shutdown()
    assert resolved["image"] == "data:image/png;base64," + base64.b64encode(image).decode()


@pytest.mark.parametrize("case", ["content_type", "length", "checksum_header", "forged_signature"])
def test_s3_refuses_uploads_that_differ_from_the_declaration(api_s3, s3_service, s3_prefix, case):
    data = fresh_bytes()
    url = request_upload(api_s3, data).json()["uploadUrl"]
    if case == "content_type":
        r = put_bytes(url, data, "image/jpeg")
    elif case == "length":
        r = put_bytes(url, data + b"x", checksum=sha_b64(data))
    elif case == "checksum_header":
        r = put_bytes(url, data, checksum=sha_b64(b"other"))
    else:
        r = put_bytes(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), data)
    assert r.status_code == 403, r.text
    assert s3_service.read(object_key(s3_prefix, media_id_of(data)))[0] == 404
    report(api_s3, media_id_of(data), r.status_code)
    r = api_s3.get(f"/api/public/media/{media_id_of(data)}")
    assert r.status_code == 404 and r.json()["message"] == "Media upload failed", r.text
    # The URL still takes the declared bytes.
    assert put_bytes(url, data).status_code == 200
    report(api_s3, media_id_of(data))
    assert api_s3.get(f"/api/public/media/{media_id_of(data)}").status_code == 200


def test_bytes_that_do_not_match_the_hash_are_not_served(api_s3, s3_service, s3_prefix):
    """The signed checksum header with other bytes of the same length: servers
    that verify x-amz-checksum-sha256 refuse the PUT; Swift stores it, and Loupe
    finds the mismatch by reading the object back, deletes it and keeps the media
    unavailable until the right bytes arrive."""
    data = fresh_bytes()
    media_id = media_id_of(data)
    url = request_upload(api_s3, data).json()["uploadUrl"]
    other = bytearray(data)
    other[-1] ^= 0xFF
    put = put_bytes(url, bytes(other), checksum=sha_b64(data))
    if put.status_code == 200:
        report(api_s3, media_id)
    assert api_s3.get(f"/api/public/media/{media_id}").status_code == 404
    assert s3_service.read(object_key(s3_prefix, media_id))[0] == 404
    again = request_upload(api_s3, data).json()["uploadUrl"]
    assert again
    assert put_bytes(again, data).status_code == 200
    report(api_s3, media_id)
    assert requests.get(api_s3.get_json(f"/api/public/media/{media_id}")["url"], timeout=30).content == data


def test_a_new_content_type_replaces_the_object(api_s3, s3_service, s3_prefix):
    data = fresh_bytes()
    media_id = media_id_of(data)
    assert put_bytes(request_upload(api_s3, data).json()["uploadUrl"], data).status_code == 200
    report(api_s3, media_id)
    url = request_upload(api_s3, data, "application/octet-stream").json()["uploadUrl"]
    assert url
    assert put_bytes(url, data, "application/octet-stream").status_code == 200
    report(api_s3, media_id)
    media = api_s3.get_json(f"/api/public/media/{media_id}")
    assert media["contentType"] == "application/octet-stream"
    assert requests.get(media["url"], timeout=30).headers["content-type"] == "application/octet-stream"


def test_virtual_host_style_and_short_lived_urls(tmp_root, s3_service, s3_prefix):
    """FORCE_PATH_STYLE=false: the bucket is a host name (<bucket>.localhost,
    which Swift's s3api serves with storage_domain=localhost)."""
    env = s3_service.media_env(s3_prefix, LANGFUSE_S3_MEDIA_UPLOAD_ENDPOINT=s3_service.vhost_endpoint,
                               LANGFUSE_S3_MEDIA_UPLOAD_FORCE_PATH_STYLE="false",
                               LOUPE_MEDIA_UPLOAD_URL_EXPIRY_SECONDS="2")
    srv = LoupeServer(tmp_root / "data-s3-vhost", tmp_root / "loupe-s3-vhost.log", env)
    srv.start()
    try:
        api = Api(srv.url)
        data = fresh_bytes()
        url = request_upload(api, data).json()["uploadUrl"]
        host = f"{s3_service.bucket}.localhost:{s3_service.port}"
        assert url.startswith(f"http://{host}/{object_key(s3_prefix, media_id_of(data))}?"), url
        # <bucket>.localhost is loopback; connect by address and send the signed Host.
        direct = url.replace(f"http://{host}", s3_service.endpoint)
        assert put_bytes(direct, data, host=host).status_code == 200
        report(api, media_id_of(data))
        media = api.get_json(f"/api/public/media/{media_id_of(data)}")
        dl = requests.get(media["url"].replace(f"http://{host}", s3_service.endpoint), headers={"Host": host},
                          timeout=30)
        assert dl.status_code == 200 and dl.content == data

        # An expired upload URL is refused by S3 itself.
        other = fresh_bytes()
        stale = request_upload(api, other).json()["uploadUrl"].replace(f"http://{host}", s3_service.endpoint)
        time.sleep(3.1)
        assert put_bytes(stale, other, host=host).status_code == 403
    finally:
        assert srv.stop() == 0, srv.log_tail()


# --------------------------------------------------------------------------- start-up failures


def run_to_exit(tmp_root, name: str, env: dict) -> tuple[int, list[str]]:
    srv = LoupeServer(tmp_root / f"data-{name}", tmp_root / f"loupe-{name}.log", env)
    srv.port = free_port()
    srv.data_dir.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([str(binary_path()), "serve"], env=srv.env(), capture_output=True, text=True, timeout=60,
                       cwd=str(srv.data_dir))
    return r.returncode, (r.stdout + r.stderr).splitlines()


@pytest.mark.parametrize("setting, value, variable", [
    ("SECRET_ACCESS_KEY", "not-the-secret", "LANGFUSE_S3_MEDIA_UPLOAD_SECRET_ACCESS_KEY"),
    ("BUCKET", "no-such-bucket", "LANGFUSE_S3_MEDIA_UPLOAD_BUCKET"),
    ("REGION", "eu-central-2", "LANGFUSE_S3_MEDIA_UPLOAD_REGION"),
    ("ENDPOINT", "unreachable", "LANGFUSE_S3_MEDIA_UPLOAD_ENDPOINT"),
])
def test_wrong_settings_stop_the_start_with_one_line_naming_the_variable(tmp_root, s3_service, setting,
                                                                         value, variable):
    if value == "unreachable":
        value = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = s3_service.media_env("x/", **{f"LANGFUSE_S3_MEDIA_UPLOAD_{setting}": value})
    rc, lines = run_to_exit(tmp_root, f"s3-bad-{setting.lower()}", env)
    assert rc != 0, lines
    errors = [line for line in lines if " error " in line]
    assert len(errors) == 1, lines
    assert "S3" in errors[0] and variable in errors[0], errors[0]
    assert not any("loupe listening" in line for line in lines), lines


def test_malformed_s3_settings_are_configuration_errors(tmp_root, s3_service):
    env = s3_service.media_env("x/", LANGFUSE_S3_MEDIA_UPLOAD_FORCE_PATH_STYLE="yes")
    rc, lines = run_to_exit(tmp_root, "s3-bad-path-style", env)
    assert rc == 2, lines
    assert any("LANGFUSE_S3_MEDIA_UPLOAD_FORCE_PATH_STYLE must be true or false" in line for line in lines), lines
    env = s3_service.media_env("x/", LANGFUSE_S3_MEDIA_UPLOAD_ACCESS_KEY_ID="", LANGFUSE_S3_MEDIA_UPLOAD_SECRET_ACCESS_KEY="",
                               AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
    rc, lines = run_to_exit(tmp_root, "s3-no-keys", env)
    assert rc != 0, lines
    assert any("LANGFUSE_S3_MEDIA_UPLOAD_ACCESS_KEY_ID" in line for line in lines), lines

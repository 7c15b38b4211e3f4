"""Media upload flow against the real binary: POST /api/public/media for an
upload URL that points at Loupe itself, PUT of the bytes on that URL (checked
against the declared type, length and SHA-256), PATCH of the client's upload
report, GET of the metadata and a signed download URL.

Expected shapes and codes come from the Langfuse API contract §2.5 and the
OpenAPI spec (GetMediaUploadUrlResponse, GetMediaResponse)."""

from __future__ import annotations

import base64
import hashlib
import os
import time

import pytest
import requests

from integration.harness import Api, basic_auth, iso, now_utc, parse_iso, uid

UPLOAD_PREFIX = "/api/public/media/upload/"
DOWNLOAD_PREFIX = "/api/public/media/download/"


def sha_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def media_id_of(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode()[:22]


def fresh_bytes(n: int = 64) -> bytes:
    """Unique content per test: the server dedupes by hash within a project."""
    return b"\x89PNG\r\n\x1a\n" + os.urandom(n)


def request_upload(api: Api, data: bytes, content_type: str = "image/png", **extra) -> requests.Response:
    body = {"traceId": uid("trace"), "contentType": content_type, "contentLength": len(data),
            "sha256Hash": sha_b64(data), "field": "input"}
    body.update(extra)
    return api.post("/api/public/media", json=body)


def put_bytes(url: str, data: bytes, content_type: str = "image/png", checksum: str | None = "auto",
              **headers) -> requests.Response:
    h = {"Content-Type": content_type, "x-ms-blob-type": "BlockBlob"}
    if checksum == "auto":
        h["x-amz-checksum-sha256"] = sha_b64(data)
    elif checksum is not None:
        h["x-amz-checksum-sha256"] = checksum
    h.update(headers)
    return requests.put(url, data=data, headers=h, timeout=30)


def upload(api: Api, data: bytes, content_type: str = "image/png") -> str:
    r = request_upload(api, data, content_type)
    assert r.status_code == 201, r.text
    url = r.json()["uploadUrl"]
    assert url, r.json()
    put = put_bytes(url, data, content_type)
    assert put.status_code == 200, put.text
    return r.json()["mediaId"]


# --------------------------------------------------------------------------- happy path


def test_full_flow_upload_patch_get_download(loupe, api):
    data = fresh_bytes(1000)
    trace_id = uid("trace")
    r = request_upload(api, data, traceId=trace_id, observationId=uid("obs"), field="output")
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"mediaId", "uploadUrl"}
    assert body["mediaId"] == media_id_of(data)
    # No NEXTAUTH_URL: the URL is built from the request's Host header.
    assert body["uploadUrl"].startswith(loupe.url + UPLOAD_PREFIX), body["uploadUrl"]

    # Not uploaded yet: 404.
    r = api.get(f"/api/public/media/{body['mediaId']}")
    assert r.status_code == 404, r.text
    assert r.json()["error"] == "LangfuseNotFoundError"

    # The upload as the SDKs do it (no API key; the URL is the credential).
    put = put_bytes(body["uploadUrl"], data)
    assert put.status_code == 200, put.text

    r = api.patch(f"/api/public/media/{body['mediaId']}",
                  json={"uploadedAt": iso(now_utc()), "uploadHttpStatus": 200, "uploadHttpError": "",
                        "uploadTimeMs": 12})
    assert r.status_code == 204, r.text
    assert r.content == b""

    before = now_utc()
    r = api.get(f"/api/public/media/{body['mediaId']}")
    assert r.status_code == 200, r.text
    media = r.json()
    assert set(media) == {"mediaId", "contentType", "contentLength", "uploadedAt", "url", "urlExpiry"}
    assert media["mediaId"] == body["mediaId"]
    assert media["contentType"] == "image/png"
    assert media["contentLength"] == len(data)
    parse_iso(media["uploadedAt"])
    expiry = parse_iso(media["urlExpiry"])
    assert 3500 < (expiry - before).total_seconds() <= 3601
    assert media["url"].startswith(loupe.url + DOWNLOAD_PREFIX)

    dl = requests.get(media["url"], timeout=30)
    assert dl.status_code == 200
    assert dl.content == data
    assert dl.headers["content-type"] == "image/png"


def test_dedupe_per_project_and_content_type(api):
    data = fresh_bytes()
    media_id = upload(api, data)

    # Same bytes, same type, another trace: nothing to upload.
    r = request_upload(api, data)
    assert r.status_code == 201, r.text
    assert r.json() == {"mediaId": media_id, "uploadUrl": None}

    # Same bytes declared as another type: a new upload URL for the same id.
    r = request_upload(api, data, "application/octet-stream")
    assert r.status_code == 201, r.text
    assert r.json()["mediaId"] == media_id
    url = r.json()["uploadUrl"]
    assert url
    # Until it is uploaded again, GET reports what was uploaded.
    assert api.get_json(f"/api/public/media/{media_id}")["contentType"] == "image/png"
    assert put_bytes(url, data, "application/octet-stream").status_code == 200
    assert api.get_json(f"/api/public/media/{media_id}")["contentType"] == "application/octet-stream"


def test_upload_larger_than_the_default_body_limit(api):
    """Other routes stop at 1 MB; the upload path takes whole media files."""
    data = fresh_bytes(3 * 1024 * 1024)
    media_id = upload(api, data, "video/mp4")
    media = api.get_json(f"/api/public/media/{media_id}")
    assert media["contentLength"] == len(data)
    assert requests.get(media["url"], timeout=30).content == data


def test_dataset_item_context(api):
    data = fresh_bytes()
    r = request_upload(api, data, traceId=None, datasetId=uid("ds"), datasetItemId=uid("item"),
                       field="expectedOutput")
    assert r.status_code == 201, r.text
    assert r.json()["uploadUrl"]


def test_the_same_upload_url_can_be_used_twice(api):
    """An S3 presigned URL stays valid until it expires; SDK retries rely on it."""
    data = fresh_bytes()
    url = request_upload(api, data).json()["uploadUrl"]
    assert put_bytes(url, data).status_code == 200
    assert put_bytes(url, data).status_code == 200
    assert requests.get(api.get_json(f"/api/public/media/{media_id_of(data)}")["url"]).content == data


def test_upload_without_checksum_header_is_checked_against_the_body(api):
    data = fresh_bytes()
    url = request_upload(api, data).json()["uploadUrl"]
    assert put_bytes(url, data, checksum=None).status_code == 200


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("change, field", [
    ({"contentType": "image/x-unknown"}, "contentType"),
    ({"contentType": None}, "contentType"),
    ({"contentLength": 0}, "contentLength"),
    ({"contentLength": -5}, "contentLength"),
    ({"contentLength": 1.5}, "contentLength"),
    ({"contentLength": 1_000_000_001}, "contentLength"),
    ({"sha256Hash": "not-a-hash"}, "sha256Hash"),
    ({"sha256Hash": base64.b64encode(b"x" * 31).decode() + "AAAA"}, "sha256Hash"),
    ({"field": "expectedOutput"}, "field"),
    ({"field": None}, "field"),
    ({"traceId": None}, "traceId"),
    ({"datasetId": "ds", "datasetItemId": "it"}, "traceId"),
])
def test_create_rejects_bad_bodies(api, change, field):
    data = fresh_bytes()
    body = {"traceId": uid("trace"), "contentType": "image/png", "contentLength": len(data),
            "sha256Hash": sha_b64(data), "field": "input"}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    r = api.post("/api/public/media", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "InvalidRequestError"
    assert field in r.json()["message"], r.json()


def test_create_rejects_non_json_and_bad_auth(api):
    r = api.post("/api/public/media", data="{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    data = fresh_bytes()
    r = request_upload(Api(api.base, auth=basic_auth("pk-lf-test", "wrong")), data)
    assert r.status_code == 401
    r = api.get("/api/public/media/whatever", auth=False)
    assert r.status_code == 401


@pytest.mark.parametrize("case", ["content_type", "checksum_header", "body_hash", "length"])
def test_upload_mismatch_is_400_and_stores_nothing(api, case):
    data = fresh_bytes()
    url = request_upload(api, data).json()["uploadUrl"]
    if case == "content_type":
        r = put_bytes(url, data, "image/jpeg")
    elif case == "checksum_header":
        r = put_bytes(url, data, checksum=sha_b64(b"other"))
    elif case == "body_hash":
        other = bytearray(data)
        other[-1] ^= 0xFF
        r = put_bytes(url, bytes(other), checksum=None)
    else:
        r = put_bytes(url, data + b"x", checksum=None)
    assert r.status_code == 400, r.text
    assert api.get(f"/api/public/media/{media_id_of(data)}").status_code == 404
    # The URL is still good for the right bytes.
    assert put_bytes(url, data).status_code == 200
    assert api.get(f"/api/public/media/{media_id_of(data)}").status_code == 200


def test_forged_and_misused_tokens_are_403(loupe, api):
    data = fresh_bytes()
    url = request_upload(api, data).json()["uploadUrl"]
    token = url[len(loupe.url + UPLOAD_PREFIX):]
    payload, expiry, mac = token.split(".")
    # Longer validity with the old signature.
    r = put_bytes(loupe.url + UPLOAD_PREFIX + f"{payload}.{int(expiry) + 10**6}.{mac}", data)
    assert r.status_code == 403, r.text
    # Another declared length with the old signature.
    forged_payload = base64.urlsafe_b64encode(base64.urlsafe_b64decode(payload + "==").replace(
        f'"l":{len(data)}'.encode(), b'"l":1')).decode().rstrip("=")
    r = put_bytes(loupe.url + UPLOAD_PREFIX + f"{forged_payload}.{expiry}.{mac}", data[:1])
    assert r.status_code == 403, r.text
    for bad in ["garbage", "a.b.c", f"{payload}.{expiry}.{'A' * len(mac)}"]:
        assert put_bytes(loupe.url + UPLOAD_PREFIX + bad, data).status_code == 403, bad
    # An upload token is no download token, and the other way round.
    assert requests.get(loupe.url + DOWNLOAD_PREFIX + token).status_code == 403
    assert put_bytes(url, data).status_code == 200
    dl = api.get_json(f"/api/public/media/{media_id_of(data)}")["url"]
    assert put_bytes(loupe.url + UPLOAD_PREFIX + dl[len(loupe.url + DOWNLOAD_PREFIX):],
                     data).status_code == 403
    assert requests.get(dl[:-2] + ("AA" if not dl.endswith("AA") else "BB")).status_code == 403


# --------------------------------------------------------------------------- PATCH / GET


def test_patch_validation_and_unknown_media(api):
    data = fresh_bytes()
    media_id = request_upload(api, data).json()["mediaId"]
    r = api.patch(f"/api/public/media/{media_id}", json={"uploadHttpStatus": 200})
    assert r.status_code == 400 and "uploadedAt" in r.json()["message"], r.text
    r = api.patch(f"/api/public/media/{media_id}", json={"uploadedAt": "yesterday", "uploadHttpStatus": 200})
    assert r.status_code == 400, r.text
    r = api.patch(f"/api/public/media/{media_id}", json={"uploadedAt": iso(now_utc()), "uploadHttpStatus": "ok"})
    assert r.status_code == 400, r.text
    r = api.patch("/api/public/media/nope", json={"uploadedAt": iso(now_utc()), "uploadHttpStatus": 200})
    assert r.status_code == 404, r.text
    assert api.get("/api/public/media/nope").status_code == 404


def test_failed_upload_report_keeps_media_unavailable(api):
    data = fresh_bytes()
    media_id = request_upload(api, data).json()["mediaId"]
    r = api.patch(f"/api/public/media/{media_id}",
                  json={"uploadedAt": iso(now_utc()), "uploadHttpStatus": 403,
                        "uploadHttpError": "denied", "uploadTimeMs": None})
    assert r.status_code == 204, r.text
    r = api.get(f"/api/public/media/{media_id}")
    assert r.status_code == 404
    assert r.json()["message"] == "Media upload failed"
    # A client claiming success without the bytes reaching Loupe changes nothing.
    api.patch(f"/api/public/media/{media_id}", json={"uploadedAt": iso(now_utc()), "uploadHttpStatus": 200})
    assert api.get(f"/api/public/media/{media_id}").status_code == 404


def test_routes_have_the_right_methods(api):
    assert api.delete("/api/public/media/abc").status_code == 405
    assert api.get("/api/public/media").status_code == 405


# --------------------------------------------------------------------------- settings, restarts


def test_public_url_expiry_and_restart(server_factory):
    srv = server_factory(extra_env={"NEXTAUTH_URL": "http://media.example.test:9/",
                                    "LOUPE_MEDIA_UPLOAD_URL_EXPIRY_SECONDS": "2",
                                    "LANGFUSE_S3_MEDIA_DOWNLOAD_URL_EXPIRY_SECONDS": "2",
                                    "LANGFUSE_S3_MEDIA_MAX_CONTENT_LENGTH": "5000"})
    api = Api(srv.url)
    data = fresh_bytes(100)
    r = request_upload(api, data)
    assert r.status_code == 201, r.text
    public = r.json()["uploadUrl"]
    assert public.startswith("http://media.example.test:9" + UPLOAD_PREFIX), public
    local = public.replace("http://media.example.test:9", srv.url)
    assert put_bytes(local, data).status_code == 200
    media = api.get_json(f"/api/public/media/{media_id_of(data)}")
    assert media["url"].startswith("http://media.example.test:9" + DOWNLOAD_PREFIX)
    dl = media["url"].replace("http://media.example.test:9", srv.url)
    assert requests.get(dl).content == data

    # The configured maximum applies to the declared length.
    big = os.urandom(5001)
    assert request_upload(api, big).status_code == 400
    # ... and bounds the upload body itself.
    assert put_bytes(local, big, checksum=None).status_code == 413

    # Expired URLs are refused like S3's (403).
    other = fresh_bytes(100)
    stale = request_upload(api, other).json()["uploadUrl"].replace("http://media.example.test:9", srv.url)
    time.sleep(2.2)
    assert put_bytes(stale, other).status_code == 403
    assert requests.get(dl).status_code == 403

    # Records, bytes and the signing secret survive a restart.
    srv.restart()
    api = Api(srv.url)
    media = api.get_json(f"/api/public/media/{media_id_of(data)}")
    assert requests.get(media["url"].replace("http://media.example.test:9", srv.url)).content == data
    assert request_upload(api, data).json()["uploadUrl"] is None
    fresh = fresh_bytes(100)
    url = request_upload(api, fresh).json()["uploadUrl"].replace("http://media.example.test:9", srv.url)
    assert put_bytes(url, fresh).status_code == 200


# --------------------------------------------------------------------------- spec


def test_responses_match_the_openapi_schemas(api):
    spec = pytest.importorskip("conformance.openapi_spec")
    data = fresh_bytes()
    r = request_upload(api, data)
    assert r.status_code == 201
    assert spec.errors(spec.response_schema("post", "/api/public/media", 200), r.json()) == []
    put_bytes(r.json()["uploadUrl"], data)
    r = request_upload(api, data)  # uploadUrl null
    assert spec.errors(spec.response_schema("post", "/api/public/media", 200), r.json()) == []
    body = api.get_json(f"/api/public/media/{media_id_of(data)}")
    assert spec.errors(spec.response_schema("get", "/api/public/media/{mediaId}", 200), body) == []

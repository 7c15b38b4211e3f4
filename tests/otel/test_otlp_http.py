"""The OTLP/HTTP routes on the wire, with the captured client requests of
tests/fixtures/otel replayed byte for byte and hand-made bad requests:
content types, encodings, the ingestion-version header, auth, partial
success, idempotent re-sends and oversized spans."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import pathlib

import pytest

from integration.harness import ROOT, basic_auth

FIXTURES = ROOT / "tests" / "fixtures" / "otel"
PATHS = ["/api/public/otel/v1/traces", "/v1/traces"]


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _replay(api, fixture: dict, path: str | None = None):
    """Sends a captured request as the client did (same body bytes, content
    type and encoding) and returns the response."""
    headers = {k: v for k, v in fixture["headers"].items()
               if k in ("content-type", "content-encoding", "x-langfuse-sdk-name",
                        "x-langfuse-sdk-version", "x-langfuse-public-key")}
    if "bodyBase64" in fixture:
        body = base64.b64decode(fixture["bodyBase64"])
    else:
        body = json.dumps(fixture["body"]).encode()
    return api.post(path or fixture["path"], data=body, headers=headers)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return n, i


def _partial_success(buf: bytes) -> dict:
    """Decodes ExportTraceServiceResponse{1: partial_success{1: rejected_spans, 2: error_message}}."""
    out: dict = {}
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        assert key == (1 << 3 | 2), f"unexpected field {key}"
        length, i = _varint(buf, i)
        inner, i = buf[i:i + length], i + length
        j = 0
        while j < len(inner):
            k, j = _varint(inner, j)
            if k == (1 << 3 | 0):
                out["rejected_spans"], j = _varint(inner, j)
            elif k == (2 << 3 | 2):
                n, j = _varint(inner, j)
                out["error_message"], j = inner[j:j + n].decode(), j + n
            else:
                raise AssertionError(f"unexpected field {k}")
    return out


def _span(trace_id: str, span_id: str, **extra) -> dict:
    s = {"traceId": trace_id, "spanId": span_id, "name": extra.pop("name", "op"),
         "startTimeUnixNano": "1748764800000000000", "endTimeUnixNano": "1748764801000000000"}
    s.update(extra)
    return s


def _export(*spans, resource=None) -> dict:
    return {"resourceSpans": [{"resource": {"attributes": resource or []},
                               "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}]}]}


def _ids(prefix: str) -> tuple[str, str]:
    import uuid
    return uuid.uuid4().hex, (prefix + uuid.uuid4().hex)[:16]


# --------------------------------------------------------------------------- captured clients


def test_plain_exporter_protobuf_requests(api):
    for n in ("001", "002", "003"):
        r = _replay(api, _fixture(f"plain-otel-exporters-{n}-POST-api_public_otel_v1_traces.json"))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/x-protobuf")
        assert r.content == b""  # an empty ExportTraceServiceResponse
    t = api.trace("64b2e68d9c10bc7989c73ae28bf2373c")
    assert t["name"] == "plain-otel-proto"
    assert t["userId"] == "user-42" and t["sessionId"] == "session-7"
    assert sorted(t["tags"]) == ["otel", "proto"]
    assert t["environment"] == "prod"
    assert t["timestamp"] == "2026-11-26T23:14:15.133Z"  # the root span's start
    obs = {o["id"]: o for o in t["observations"]}
    assert obs["e677966ac41e9e68"]["type"] == "AGENT"
    chat = obs["5ad454b185b720a9"]
    assert chat["type"] == "GENERATION" and chat["parentObservationId"] == "e677966ac41e9e68"
    assert chat["usageDetails"] == {"input": 12, "output": 1, "total": 13}
    assert chat["costDetails"] == {"total": pytest.approx(0.00012)}
    tool = obs["eafd2e6bb18fd5bd"]
    assert tool["type"] == "TOOL" and tool["name"] == "calc"
    assert tool["level"] == "ERROR" and tool["statusMessage"] == "tool failed"
    assert tool["metadata"]["attributes"]["int.big"] == "9007199254740991"


def test_plain_exporter_gzip_protobuf_requests(api):
    for n in ("004", "005", "006"):
        f = _fixture(f"plain-otel-exporters-{n}-POST-api_public_otel_v1_traces.json")
        assert f["headers"]["content-encoding"] == "gzip"
        r = _replay(api, f)
        assert r.status_code == 200, r.text
    t = api.trace("6b475f1488216e0ccbfc64519637b9ab")
    assert len(t["observations"]) == 3
    assert {o["type"] for o in t["observations"]} == {"AGENT", "GENERATION", "TOOL"}


def test_plain_exporter_json_requests(api):
    for n in ("007", "008", "009"):
        r = _replay(api, _fixture(f"plain-otel-exporters-{n}-POST-api_public_otel_v1_traces.json"))
        assert r.status_code == 200 and r.json() == {}, r.text
    t = api.trace("d1d6dccc3bb5411acec46c494f97ab75")
    assert t["name"] == "plain-otel-json"
    chat = next(o for o in t["observations"] if o["type"] == "GENERATION")
    assert chat["model"] == "gpt-4o-mini-2024-07-18"
    assert chat["modelParameters"] == {"temperature": 0.2, "max_tokens": 100, "top_p": 1}


def test_langfuse_js_sdk_v5_request(api):
    r = _replay(api, _fixture("langfuse-otel-sdk-v5-001-POST-api_public_otel_v1_traces.json"))
    assert r.status_code == 200 and r.json() == {}
    t = api.trace("ee921bbd7c9b15509d34401efffe783c")
    assert t["name"] == "otel-trace" and t["environment"] == "staging"
    assert t["release"] == "rel-9.9.9" and t["metadata"]["tenant"] == "acme"
    g = api.observation("0f0304b131e2640a")
    assert g["type"] == "GENERATION" and g["model"] == "gpt-4o-mini"
    assert g["completionStartTime"] == "2026-11-26T23:14:00.216Z"
    assert g["usageDetails"]["cache_read_input_tokens"] == 2
    assert g["costDetails"] == {"input": pytest.approx(0.0001), "output": pytest.approx(0.00002),
                                "total": pytest.approx(0.00012)}


def test_langfuse_python_sdk_example_with_prompt_link(api):
    body = _fixture("04_otlp_json_langfuse_python_sdk_v4.json")
    r = api.post("/api/public/otel/v1/traces", json=body)
    assert r.status_code == 200 and r.json() == {}
    t = api.trace("4bf92f3577b34da6a3ce929d0e0e4736")
    assert t["name"] == "summarize" and t["environment"] == "production"
    assert t["input"] == {"text": "OTel is great."} and t["output"] == {"summary": "OTel good."}
    g = api.observation("5a1c3e7f9b2d4c6e")
    assert g["promptName"] == "summarizer" and g["promptVersion"] == 3
    assert g["completionStartTime"] == "2025-06-01T08:00:00.412Z"
    assert g["calculatedTotalCost"] == pytest.approx(4.95e-06)


def test_resending_an_export_changes_nothing(api):
    f = _fixture("langfuse-otel-sdk-v5-001-POST-api_public_otel_v1_traces.json")
    assert _replay(api, f).status_code == 200
    before = api.trace("ee921bbd7c9b15509d34401efffe783c")
    for path in PATHS:
        assert _replay(api, f, path).status_code == 200
    after = api.trace("ee921bbd7c9b15509d34401efffe783c")
    for k in ("name", "timestamp", "input", "output", "metadata", "tags", "userId", "totalCost"):
        assert after[k] == before[k], k
    def stable(observations):
        # updatedAt records the re-send itself; everything else must be equal.
        return sorted(json.dumps({k: v for k, v in o.items() if k != "updatedAt"}, sort_keys=True)
                      for o in observations)

    assert stable(after["observations"]) == stable(before["observations"])


# --------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize("path", PATHS)
def test_content_type_must_be_protobuf_or_json(api, path):
    for ct in ("text/plain", "application/xml", ""):
        r = api.post(path, data=b"{}", headers={"content-type": ct})
        assert r.status_code == 400 and r.json() == {"error": "Invalid content type"}, (ct, r.text)
    r = api.post(path, data=b"{}", headers={"content-type": "Application/JSON; charset=utf-8"})
    assert r.status_code == 200 and r.json() == {}


@pytest.mark.parametrize("path", PATHS)
def test_unparseable_bodies(api, path):
    f = _fixture("plain-otel-exporters-001-POST-api_public_otel_v1_traces.json")
    pb = base64.b64decode(f["bodyBase64"])
    for body in (b"\xff\xff\xff\xff", pb[: len(pb) // 2], b"not protobuf at all"):
        r = api.post(path, data=body, headers={"content-type": "application/x-protobuf"})
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "Failed to parse OTel Protobuf Trace"
    for body in (b"{", b"[]", b'{"resourceSpans": 5}', b'{"resourceSpans": [{"scopeSpans": 1}]}'):
        r = api.post(path, data=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "Failed to parse OTel JSON Trace"
    r = api.post(path, data=b"not gzip", headers={"content-type": "application/json",
                                                  "content-encoding": "gzip"})
    assert r.status_code == 400 and r.json()["message"] == "Failed to decompress request body"


def test_empty_exports(api):
    r = api.post("/v1/traces", data=b"", headers={"content-type": "application/x-protobuf"})
    assert r.status_code == 200 and r.content == b""
    for body in (b"{}", b'{"resourceSpans": []}'):
        r = api.post("/v1/traces", data=body, headers={"content-type": "application/json"})
        assert r.status_code == 200 and r.json() == {}


def test_ingestion_version_header(api):
    for v in ("5", "abc", "4.5"):
        r = api.post("/api/public/otel/v1/traces", json={},
                     headers={"x-langfuse-ingestion-version": v})
        assert r.status_code == 400, v
        assert r.json()["error"] == "Unsupported x-langfuse-ingestion-version"
    for v in ("4", "3"):
        r = api.post("/api/public/otel/v1/traces", json={},
                     headers={"x-langfuse-ingestion-version": v})
        assert r.status_code == 200, v


@pytest.mark.parametrize("path", PATHS)
def test_authentication(api, path):
    r = api.post(path, json={}, auth=False)
    assert r.status_code == 401
    r = api.post(path, json={}, auth=basic_auth("pk-lf-test", "sk-lf-wrong"))
    assert r.status_code == 401
    r = api.post(path, json={}, auth="Bearer pk-lf-test")
    assert r.status_code in (401, 403)


def test_partial_success_keeps_the_valid_spans(api):
    trace_id, good = _ids("a")
    _, absurd = _ids("b")
    body = _export(
        _span(trace_id, good, name="good"),
        _span(trace_id, absurd, name="millis", startTimeUnixNano="1748764800000"),
        {"spanId": "cccccccccccccccc", "name": "no trace id"},
    )
    r = api.post("/api/public/otel/v1/traces", json=body)
    assert r.status_code == 200
    ps = r.json()["partialSuccess"]
    assert ps["rejectedSpans"] == "2"
    assert "traceId is absent" in ps["errorMessage"] and absurd in ps["errorMessage"]
    t = api.trace(trace_id)
    assert [o["id"] for o in t["observations"]] == [good]
    assert api.get(f"/api/public/observations/{absurd}").status_code == 404


def test_partial_success_in_protobuf(api):
    # The captured protobuf chat span, with its trace id removed (field 1 of
    # the span, 16 bytes): rebuilt by hand to stay independent of protobuf
    # libraries in the test venv.
    f = _fixture("plain-otel-exporters-001-POST-api_public_otel_v1_traces.json")
    pb = base64.b64decode(f["bodyBase64"])
    trace_id = bytes.fromhex("64b2e68d9c10bc7989c73ae28bf2373c")
    tag = b"\x0a\x10" + trace_id
    assert pb.count(tag) == 1
    broken = pb.replace(tag, b"\x0a\x10" + bytes(16))  # all-zero trace id: invalid
    r = api.post("/v1/traces", data=broken, headers={"content-type": "application/x-protobuf"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-protobuf")
    ps = _partial_success(r.content)
    assert ps["rejected_spans"] == 1
    assert "traceId is all zeros" in ps["error_message"]


def test_large_attribute_values(api):
    trace_id, ok_span = _ids("d")
    _, big_span = _ids("e")
    three_mb = "x" * (3 * 1024 * 1024)
    seventeen_mb = "y" * (17 * 1024 * 1024)
    body = _export(
        _span(trace_id, ok_span, attributes=[{"key": "input.value", "value": {"stringValue": three_mb}}]),
        _span(trace_id, big_span, attributes=[{"key": "input.value", "value": {"stringValue": seventeen_mb}}]),
    )
    data = gzip.compress(json.dumps(body).encode())
    r = api.post("/api/public/otel/v1/traces", data=data,
                 headers={"content-type": "application/json", "content-encoding": "gzip"}, timeout=120)
    assert r.status_code == 200, r.text[:300]
    ps = r.json()["partialSuccess"]
    assert ps["rejectedSpans"] == "1" and big_span in ps["errorMessage"]
    o = api.observation(ok_span)
    assert o["input"] == three_mb


def test_chunked_request_body(api):
    trace_id, span_id = _ids("f")
    payload = json.dumps(_export(_span(trace_id, span_id, name="chunked"))).encode()

    def chunks():
        for i in range(0, len(payload), 7):
            yield payload[i:i + 7]

    r = api.post("/v1/traces", data=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json() == {}
    assert api.trace(trace_id)["name"] == "chunked"

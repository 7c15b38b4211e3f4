"""Raw OTLP/gRPC calls (no SDK) for the receiver's edge cases, run from
.venv-test/otel by tests/otel/test_plain_exporters.py.

Env: LOUPE_GRPC (host:port), LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY,
TRACE_ID. Prints one JSON object: the outcome of each call.
"""

import base64
import json
import os

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

basic = "Basic " + base64.b64encode(
    f'{os.environ["LANGFUSE_PUBLIC_KEY"]}:{os.environ["LANGFUSE_SECRET_KEY"]}'.encode()
).decode()
trace_id = bytes.fromhex(os.environ["TRACE_ID"])

request = trace_service_pb2.ExportTraceServiceRequest()
scope_spans = request.resource_spans.add().scope_spans.add()
scope_spans.scope.name = "raw-grpc"
good = scope_spans.spans.add(trace_id=trace_id, span_id=bytes.fromhex("00000000000000a1"),
                             name="good", start_time_unix_nano=1748764800000000000,
                             end_time_unix_nano=1748764801000000000)
good.attributes.append(common_pb2.KeyValue(key="langfuse.trace.name",
                                           value=common_pb2.AnyValue(string_value="raw-grpc")))
scope_spans.spans.add(span_id=bytes.fromhex("00000000000000a2"), name="no trace id",
                      start_time_unix_nano=1748764800000000000)
scope_spans.spans.add(trace_id=trace_id, span_id=bytes.fromhex("00000000000000a3"), name="seconds",
                      start_time_unix_nano=1748764800)

out = {}
with grpc.insecure_channel(os.environ["LOUPE_GRPC"]) as channel:
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    response = stub.Export(request, metadata=[("authorization", basic)], timeout=10)
    out["partial"] = {"rejected_spans": response.partial_success.rejected_spans,
                      "error_message": response.partial_success.error_message}
    for name, metadata in [
        ("no_auth", []),
        ("bad_auth", [("authorization", "Basic " + base64.b64encode(b"pk-lf-test:nope").decode())]),
        ("bad_version", [("authorization", basic), ("x-langfuse-ingestion-version", "9")]),
    ]:
        try:
            stub.Export(trace_service_pb2.ExportTraceServiceRequest(), metadata=metadata, timeout=10)
            out[name] = "OK"
        except grpc.RpcError as e:
            out[name] = e.code().name
print(json.dumps(out))

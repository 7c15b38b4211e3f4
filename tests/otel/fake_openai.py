"""A tiny OpenAI-compatible server for the instrumentation tests: answers
POST /v1/chat/completions with a fixed completion and usage, as one JSON
response or, with "stream": true, as server-sent events (the usage chunk last
when stream_options.include_usage is set), the way api.openai.com does; the
model MISSING_MODEL gets OpenAI's 404 error instead.

Runs in a thread of the test process on 127.0.0.1 and an ephemeral port."""

from __future__ import annotations

import http.server
import json
import threading

MODEL = "gpt-4o-mini-2024-07-18"
CONTENT = "2+2 is 4."
STREAM_PARTS = ["2+2 ", "is ", "4."]
# The usage object as api.openai.com sends it, details included.
USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 3,
    "total_tokens": 15,
    "prompt_tokens_details": {"cached_tokens": 4, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 1, "audio_tokens": 0,
                                  "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
}
CREATED = 1748764800
# Asking for this model gets OpenAI's 404 model_not_found error.
MISSING_MODEL = "gpt-4o-mini-missing"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _send_json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            return
        try:
            req = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
            return
        server: FakeOpenAI = self.server.owner  # type: ignore[attr-defined]
        with server.lock:
            server.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": req})
            n = len(server.requests)
        if MISSING_MODEL == req.get("model"):
            self._send_json(404, {"error": {
                "message": f"The model `{MISSING_MODEL}` does not exist or you do not have access to it.",
                "type": "invalid_request_error", "param": None, "code": "model_not_found"}})
            return
        cid = f"chatcmpl-fake-{n}"
        if req.get("stream"):
            self._stream(cid, req)
            return
        self._send_json(200, {
            "id": cid,
            "object": "chat.completion",
            "created": CREATED,
            "model": MODEL,
            "system_fingerprint": "fp_fake",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": CONTENT, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }],
            "usage": json.loads(json.dumps(USAGE)),
        })

    def _stream(self, cid: str, req: dict) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()

        def chunk(delta: dict | None, finish: str | None = None, usage: dict | None = None) -> None:
            body = {"id": cid, "object": "chat.completion.chunk", "created": CREATED, "model": MODEL,
                    "system_fingerprint": "fp_fake",
                    "choices": [] if delta is None else
                    [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if usage is not None or (req.get("stream_options") or {}).get("include_usage"):
                body["usage"] = usage
            self.wfile.write(b"data: " + json.dumps(body).encode() + b"\n\n")

        chunk({"role": "assistant", "content": ""})
        for part in STREAM_PARTS:
            chunk({"content": part})
        chunk({}, finish="stop")
        if (req.get("stream_options") or {}).get("include_usage"):
            chunk(None, usage=json.loads(json.dumps(USAGE)))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

"""A ClickHouse HTTP front over chdb, for tests.

chdb is the ClickHouse engine in-process (PyPI `chdb`). This serves the plain,
long-stable part of ClickHouse's HTTP interface over chdb connections, so that
a ClickHouse client can be tested against the real engine without a server:

  GET  /ping                      -> "Ok.\n"
  POST /  body = query            -> the query's output, in the FORMAT it names
                                     (TabSeparated when it names none)
  POST /?query=INSERT ... FORMAT F  body = data
  ?database=NAME                  -> the query runs with NAME as the current database
                                     (other parameters, ClickHouse settings, are ignored)
  auth: X-ClickHouse-User / X-ClickHouse-Key headers, HTTP basic auth, or
        ?user=&password=; checked against --user/--password (401 on mismatch)
  errors: "Code: N. DB::Exception: ..." as text/plain with HTTP 400 (syntax),
          404 (unknown table, database or function) or 500, and the
          X-ClickHouse-Exception-Code header.

Usage: python chdb_front.py --data DIR [--port 0] [--user default] [--password '']
       [--query-log FILE]
The listening port is printed on stdout as "PORT <n>" once the front is ready.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import chdb

# ClickHouse error codes answered with something other than 500.
_STATUS_BY_CODE = {
    62: 400,   # SYNTAX_ERROR
    27: 400,   # CANNOT_PARSE_INPUT_ASSERTION_FAILED
    26: 400,   # CANNOT_PARSE_QUOTED_STRING
    117: 400,  # INCORRECT_DATA
    60: 404,   # UNKNOWN_TABLE
    81: 404,   # UNKNOWN_DATABASE
    46: 404,   # UNKNOWN_FUNCTION
    516: 401,  # AUTHENTICATION_FAILED
}

_CODE_RE = re.compile(r"Code:\s*(\d+)")
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Front:
    """A pool of chdb connections to one data directory, shared by the request
    threads.

    Each query takes an idle connection (opening one when none is idle), so
    queries run concurrently, as on a ClickHouse server: one chdb connection
    runs one query at a time. Each connection keeps its own current database.
    """

    def __init__(self, data_dir: str, user: str, password: str, query_log: str | None = None):
        self.user = user
        self.password = password
        self.data_dir = data_dir
        self.lock = threading.Lock()
        # [connection, its current database]; the first one opens the engine.
        self.idle: list[list] = [[chdb.connect(data_dir), None]]
        self.query_log = open(query_log, "a", buffering=1) if query_log else None

    def _acquire(self) -> list:
        with self.lock:
            if self.idle:
                return self.idle.pop()
            return [chdb.connect(self.data_dir), None]

    def run(self, sql: str, database: str | None) -> bytes:
        database = database or "default"
        conn = self._acquire()
        try:
            if conn[1] != database:
                conn[0].query(f"USE `{database}`", "TabSeparated")
                conn[1] = database
            started = time.monotonic()
            try:
                result = conn[0].query(sql, "TabSeparated")
                return result.bytes() if hasattr(result, "bytes") else b""
            finally:
                if self.query_log:
                    ms = (time.monotonic() - started) * 1000
                    # Only the head of the text: inserts carry megabytes of rows.
                    self.query_log.write(f"{ms:.1f}\t{' '.join(sql[:1000].split())[:400]}\n")
        finally:
            with self.lock:
                self.idle.append(conn)


def _exception_text(e: Exception) -> tuple[int, str]:
    text = str(e).strip()
    m = _CODE_RE.search(text)
    code = int(m.group(1)) if m else 1002
    if not m:
        text = f"Code: 1002. DB::Exception: {text}"
    else:
        text = text[m.start():]
    return code, text


def make_handler(front: Front):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet
            pass

        def _send(self, status: int, body: bytes, headers: dict | None = None):
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _error(self, code: int, text: str):
            status = _STATUS_BY_CODE.get(code, 500)
            self._send(status, (text + "\n").encode(), {"X-ClickHouse-Exception-Code": str(code)})

        def _credentials(self, params: dict) -> tuple[str, str]:
            user = self.headers.get("X-ClickHouse-User")
            key = self.headers.get("X-ClickHouse-Key")
            auth = self.headers.get("Authorization", "")
            if user is None and auth.lower().startswith("basic "):
                try:
                    decoded = base64.b64decode(auth[6:].strip()).decode()
                    user, _, key = decoded.partition(":")
                except Exception:  # noqa: BLE001 - malformed header = no credentials
                    user, key = None, None
            if user is None and "user" in params:
                user, key = params["user"], params.get("password", "")
            return (user if user is not None else "default"), (key or "")

        def _body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                return self.rfile.read(n)
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            return b""

        def _handle(self, body: bytes):
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/ping":
                self._send(200, b"Ok.\n")
                return
            if url.path != "/":
                self._send(404, b"There is no handle " + url.path.encode() + b"\n")
                return
            params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            user, key = self._credentials(params)
            if user != front.user or key != front.password:
                self._error(516, f"Code: 516. DB::Exception: {user}: Authentication failed: "
                                 "password is incorrect, or there is no user with such name. "
                                 "(AUTHENTICATION_FAILED)")
                return
            database = params.get("database") or None
            if database is not None and not _IDENT_RE.match(database):
                self._error(81, f"Code: 81. DB::Exception: Database {database} does not exist. "
                                "(UNKNOWN_DATABASE)")
                return
            if "query" in params:
                sql = params["query"]
                if body:
                    sql = sql.rstrip() + "\n" + body.decode("utf-8", errors="surrogateescape")
            else:
                sql = body.decode("utf-8", errors="surrogateescape")
            if not sql.strip():
                self._error(62, "Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)")
                return
            try:
                out = front.run(sql, database)
            except Exception as e:  # noqa: BLE001 - every engine error goes to the client
                self._error(*_exception_text(e))
                return
            self._send(200, out)

        def do_GET(self):
            self._handle(b"")

        def do_POST(self):
            self._handle(self._body())

    return Handler


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="directory of the chdb data")
    ap.add_argument("--port", type=int, default=0, help="0 = a free port")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--user", default="default")
    ap.add_argument("--password", default="")
    ap.add_argument("--query-log", help="append each query's duration (ms) and text to this file")
    args = ap.parse_args()
    front = Front(args.data, args.user, args.password, args.query_log)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(front))
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

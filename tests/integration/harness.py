"""Test harness for black-box tests against the real `loupe` binary.

Starts the server on a free port with a fresh data dir and known API keys,
and offers a thin HTTP client plus builders for ingestion events.

Nothing here knows the server's internals: everything goes over HTTP, and the
expected values in the tests come from the Langfuse API contract.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import uuid
from typing import Any, Iterable

import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]

PUBLIC_KEY = "pk-lf-test"
SECRET_KEY = "sk-lf-test"
ORG_ID = "org-loupe-test"
ORG_NAME = "Loupe Test Org"
PROJECT_ID = "proj-loupe-test"
PROJECT_NAME = "Loupe Test Project"
SALT = "loupe-test-salt"

AUTH_HINT = "Confirm that you've configured the correct host."

# Metadata backend of every server the tests start. With LOUPE_TEST_PG_ADMIN_URL
# (a PostgreSQL URL whose role may create databases; tests/run-scaleout-mode.sh
# sets it) each LoupeServer gets a fresh database of its own as DATABASE_URL;
# without it the servers keep metadata in the embedded meta.db.
PG_ADMIN_URL = os.environ.get("LOUPE_TEST_PG_ADMIN_URL", "")


# Event backend: with LOUPE_TEST_CLICKHOUSE_URL (and _USER, _PASSWORD) each
# LoupeServer gets a fresh ClickHouse database of its own as CLICKHOUSE_DB.
CLICKHOUSE_URL = os.environ.get("LOUPE_TEST_CLICKHOUSE_URL", "")


def events_on_clickhouse() -> bool:
    return bool(CLICKHOUSE_URL)


def metadata_on_postgres() -> bool:
    return bool(PG_ADMIN_URL)


def new_pg_database_url() -> str:
    """CREATE DATABASE through psql; returns the URL of the new, empty database."""
    name = f"loupe_it_{uuid.uuid4().hex[:12]}"
    r = subprocess.run(["psql", PG_ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-qc", f"CREATE DATABASE {name}"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"cannot create a test database at {PG_ADMIN_URL}: {r.stderr.strip()}")
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


def binary_path() -> pathlib.Path:
    env = os.environ.get("LOUPE_BIN")
    return pathlib.Path(env) if env else ROOT / "build" / "release" / "loupe"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def basic_auth(pk: str = PUBLIC_KEY, sk: str = SECRET_KEY) -> str:
    return "Basic " + base64.b64encode(f"{pk}:{sk}".encode()).decode()


def uid(prefix: str = "id") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def env_name() -> str:
    """A fresh, valid environment name: the tests use it to isolate list queries."""
    return "t-" + uuid.uuid4().hex[:12]


# --------------------------------------------------------------------------- time


def parse_iso(s: str) -> dt.datetime:
    """Parses an ISO-8601 date-time with Z or an offset (microseconds allowed)."""
    s = s.strip()
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    # Python < 3.11 fromisoformat only takes 0, 3 or 6 fraction digits.
    if "." in s:
        head, rest = s.split(".", 1)
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        frac, tz = rest[:i], rest[i:]
        s = head + "." + (frac + "000000")[:6] + tz
    d = dt.datetime.fromisoformat(s)
    if d.tzinfo is None:
        raise ValueError(f"naive datetime {s!r}")
    return d


def ms_iso(s: str | dt.datetime) -> str:
    """The canonical way the server renders a date-time: UTC, milliseconds, `Z`
    (JS `Date.toISOString()`), e.g. 2025-06-01T08:00:00.123Z. Sub-millisecond
    digits are truncated (JS Dates hold milliseconds)."""
    d = parse_iso(s) if isinstance(s, str) else s
    d = d.astimezone(dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def iso(d: dt.datetime) -> str:
    return d.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def at(base: dt.datetime, ms: float) -> str:
    """ISO string for base + ms milliseconds."""
    return iso(base + dt.timedelta(milliseconds=ms))


# --------------------------------------------------------------------------- events


def event(type_: str, body: dict | None, *, timestamp: str | None = None, eid: str | None = None,
          **extra: Any) -> dict:
    ev: dict[str, Any] = {"id": eid or str(uuid.uuid4()), "type": type_,
                          "timestamp": timestamp or iso(now_utc())}
    if body is not None:
        ev["body"] = body
    ev.update(extra)
    return ev


# --------------------------------------------------------------------------- server


class LoupeServer:
    """One `loupe serve` (or `web` / `worker`: `command`) process. Use start()/stop();
    restart() keeps the data dir."""

    def __init__(self, data_dir: pathlib.Path, log_path: pathlib.Path, extra_env: dict | None = None,
                 command: str = "serve"):
        self.command = command
        self.data_dir = pathlib.Path(data_dir)
        self.log_path = pathlib.Path(log_path)
        self.extra_env = dict(extra_env or {})
        if metadata_on_postgres() and "DATABASE_URL" not in self.extra_env:
            self.extra_env["DATABASE_URL"] = new_pg_database_url()
        if events_on_clickhouse() and "CLICKHOUSE_URL" not in self.extra_env:
            self.extra_env.update({
                "CLICKHOUSE_URL": CLICKHOUSE_URL,
                "CLICKHOUSE_USER": os.environ.get("LOUPE_TEST_CLICKHOUSE_USER", "default"),
                "CLICKHOUSE_PASSWORD": os.environ.get("LOUPE_TEST_CLICKHOUSE_PASSWORD", ""),
                "CLICKHOUSE_DB": f"loupe_it_{uuid.uuid4().hex[:12]}",
            })
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({
            "PORT": str(self.port),
            "LOUPE_DATA_DIR": str(self.data_dir),
            "SALT": SALT,
            "LANGFUSE_INIT_ORG_ID": ORG_ID,
            "LANGFUSE_INIT_ORG_NAME": ORG_NAME,
            "LANGFUSE_INIT_PROJECT_ID": PROJECT_ID,
            "LANGFUSE_INIT_PROJECT_NAME": PROJECT_NAME,
            "LANGFUSE_INIT_PROJECT_PUBLIC_KEY": PUBLIC_KEY,
            "LANGFUSE_INIT_PROJECT_SECRET_KEY": SECRET_KEY,
            "LANGFUSE_LOG_LEVEL": os.environ.get("LOUPE_TEST_LOG_LEVEL", "info"),
            "LANGFUSE_LOG_FORMAT": "text",
            "OTLP_GRPC_PORT": "0",
        })
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 30.0) -> "LoupeServer":
        binary = binary_path()
        if not binary.exists():
            raise RuntimeError(
                f"loupe binary not found at {binary}: build it first "
                "(cmake --preset release && cmake --build build/release) or set LOUPE_BIN")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._log = open(self.log_path, "ab")
        self._log.write(f"\n===== starting {binary} {self.command} on port {self.port} =====\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen([str(binary), self.command], env=self.env(), stdout=self._log,
                                     stderr=subprocess.STDOUT, cwd=str(self.data_dir))
        deadline = time.monotonic() + timeout
        last_err: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"loupe exited with {self.proc.returncode} during startup:\n{self.log_tail()}")
            try:
                health = "/api/health" if self.command == "worker" else "/api/public/health"
                r = requests.get(self.url + health, timeout=1)
                if r.status_code == 200:
                    return self
                last_err = RuntimeError(f"health returned {r.status_code}: {r.text[:200]}")
            except requests.RequestException as e:  # not listening yet
                last_err = e
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"loupe did not become healthy within {timeout}s ({last_err}):\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._note("did not exit within %ss of SIGTERM: killed" % timeout)
        rc = self.proc.returncode
        self._close()
        return rc

    def kill(self) -> None:
        """SIGKILL (kill -9), no chance to flush anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._close()

    def restart(self) -> "LoupeServer":
        self.stop()
        return self.start()

    def _note(self, msg: str) -> None:
        if self._log:
            self._log.write(f"\n===== harness: {msg} =====\n".encode())
            self._log.flush()

    def _close(self) -> None:
        if self._log:
            self._log.close()
            self._log = None

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])


# --------------------------------------------------------------------------- client


class Api:
    """requests.Session bound to a server, with Basic auth by default."""

    def __init__(self, base_url: str, auth: str | None = None):
        self.base = base_url.rstrip("/")
        self.s = requests.Session()
        self.auth = basic_auth() if auth is None else auth

    def _headers(self, headers: dict | None, auth: str | None | bool) -> dict:
        h = {}
        if auth is not False:
            a = self.auth if auth is None or auth is True else auth
            if a:
                h["Authorization"] = a
        if headers:
            h.update(headers)
        return h

    def request(self, method: str, path: str, *, auth: str | None | bool = None, headers: dict | None = None,
                **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.s.request(method, self.base + path, headers=self._headers(headers, auth), **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw) -> requests.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.request("DELETE", path, **kw)

    # --- ingestion
    def ingest(self, batch: list[dict], metadata: Any = None, **kw) -> requests.Response:
        body: dict[str, Any] = {"batch": batch}
        if metadata is not None:
            body["metadata"] = metadata
        return self.post("/api/public/ingestion", json=body, **kw)

    def ingest_ok(self, batch: list[dict], **kw) -> dict:
        """Ingests and asserts: 207, every non-sdk-log event in successes with 201, no errors."""
        r = self.ingest(batch, **kw)
        assert r.status_code == 207, f"ingestion returned {r.status_code}: {r.text[:500]}"
        body = r.json()
        assert body.get("errors") == [], f"unexpected per-event errors: {body.get('errors')}"
        expected = sorted(e["id"] for e in batch if e.get("type") != "sdk-log")
        got = sorted(s["id"] for s in body["successes"])
        assert got == expected, f"successes {got} != sent events {expected}"
        assert all(s["status"] == 201 for s in body["successes"]), body["successes"]
        return body

    # --- reads that must succeed
    def get_json(self, path: str, params: Any = None, status: int = 200) -> Any:
        r = self.get(path, params=params)
        assert r.status_code == status, f"GET {path} {params} -> {r.status_code}: {r.text[:500]}"
        return r.json()

    def trace(self, trace_id: str, **params) -> dict:
        return self.get_json(f"/api/public/traces/{quote(trace_id)}", params or None)

    def observation(self, obs_id: str) -> dict:
        return self.get_json(f"/api/public/observations/{quote(obs_id)}")

    def score(self, score_id: str) -> dict:
        return self.get_json(f"/api/public/v2/scores/{quote(score_id)}")

    def list_all(self, path: str, params: dict | None = None, limit: int = 100) -> list[dict]:
        """Walks offset pagination to the end."""
        out: list[dict] = []
        page = 1
        while True:
            p = dict(params or {})
            p.update({"page": page, "limit": limit})
            body = self.get_json(path, p)
            out.extend(body["data"])
            meta = body["meta"]
            if page >= meta["totalPages"] or not body["data"]:
                return out
            page += 1


def quote(s: str) -> str:
    return requests.utils.quote(s, safe="")


def by_id(items: Iterable[dict]) -> dict[str, dict]:
    return {i["id"]: i for i in items}


def approx_eq(a: float | None, b: float | None, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


def dumps(o: Any) -> str:
    return json.dumps(o, indent=1, sort_keys=True, default=str)

"""Real services for the scale-out tests, started through the project's own
scripts/start-services.sh (which installs what is missing) in a private
directory on free ports, and stopped with scripts/stop-services.sh at the end
of the session. A service that cannot start fails the tests that need it:
nothing here skips."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from typing import Callable

import pytest

from integration.harness import ROOT, free_port

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@dataclasses.dataclass
class S3Service:
    """Swift with s3api: path-style at `endpoint`, virtual-host style at
    `vhost_endpoint` (<bucket>.localhost)."""
    port: int
    bucket: str
    region: str
    access_key: str
    secret: str
    netrc: pathlib.Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def vhost_endpoint(self) -> str:
        return f"http://localhost:{self.port}"

    def media_env(self, prefix: str, **overrides: str) -> dict:
        """LANGFUSE_S3_MEDIA_UPLOAD_* for a path-style Loupe."""
        env = {
            "LANGFUSE_S3_MEDIA_UPLOAD_BUCKET": self.bucket,
            "LANGFUSE_S3_MEDIA_UPLOAD_REGION": self.region,
            "LANGFUSE_S3_MEDIA_UPLOAD_ENDPOINT": self.endpoint,
            "LANGFUSE_S3_MEDIA_UPLOAD_ACCESS_KEY_ID": self.access_key,
            "LANGFUSE_S3_MEDIA_UPLOAD_SECRET_ACCESS_KEY": self.secret,
            "LANGFUSE_S3_MEDIA_UPLOAD_FORCE_PATH_STYLE": "true",
            "LANGFUSE_S3_MEDIA_UPLOAD_PREFIX": prefix,
        }
        env.update(overrides)
        return env

    def read(self, key: str) -> tuple[int, bytes]:
        """GETs bucket/key with curl's own SigV4 (independent of Loupe's)."""
        r = subprocess.run(
            ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--aws-sigv4", f"aws:amz:{self.region}:s3",
             "--netrc-file", str(self.netrc), "-H", f"x-amz-content-sha256: {EMPTY_SHA256}",
             f"{self.endpoint}/{self.bucket}/{key}"],
            capture_output=True, timeout=30, check=True)
        body, _, code = r.stdout.rpartition(b"\n")
        return int(code), body


def _service_env(base: pathlib.Path, ports: dict) -> dict:
    env = dict(os.environ)
    env["LOUPE_SERVICES_DIR"] = str(base)
    env.update({k: str(v) for k, v in ports.items()})
    return env


def _start_service(name: str, base: pathlib.Path, ports: dict) -> tuple[dict, Callable[[], object]]:
    """Runs scripts/start-services.sh NAME in `base` on `ports`; returns the
    variables it printed and the command that stops it. Fails the test with
    the service's logs when it cannot start."""
    env = _service_env(base, ports)
    stop = [str(ROOT / "scripts" / "stop-services.sh"), "--purge"]
    try:
        # The first run on a machine installs the Debian packages (Swift: about a minute).
        r = subprocess.run([str(ROOT / "scripts" / "start-services.sh"), name], env=env,
                           capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired as e:
        subprocess.run(stop, env=env, capture_output=True)
        pytest.fail(f"scripts/start-services.sh {name} timed out:\n{e.stdout}\n{e.stderr}")
    if r.returncode != 0:
        logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                         for p in sorted(base.glob("**/*.log")))
        subprocess.run(stop, env=env, capture_output=True)
        pytest.fail(f"scripts/start-services.sh {name} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n{logs}")
    settings = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    return settings, lambda: subprocess.run(stop, env=env, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def s3_service(tmp_root) -> S3Service:
    base = tmp_root / "services"
    ports = {"S3_PORT": free_port(), "SWIFT_OBJECT_PORT": free_port(), "SWIFT_CONTAINER_PORT": free_port(),
             "SWIFT_ACCOUNT_PORT": free_port(), "MEMCACHED_PORT": free_port()}
    settings, stop = _start_service("s3", base, ports)
    svc = S3Service(port=ports["S3_PORT"], bucket=settings["LANGFUSE_S3_MEDIA_UPLOAD_BUCKET"],
                    region=settings["LANGFUSE_S3_MEDIA_UPLOAD_REGION"],
                    access_key=settings["LANGFUSE_S3_MEDIA_UPLOAD_ACCESS_KEY_ID"],
                    secret=settings["LANGFUSE_S3_MEDIA_UPLOAD_SECRET_ACCESS_KEY"],
                    netrc=base / "swift" / "s3.netrc")
    yield svc
    stop()


@dataclasses.dataclass
class PgService:
    """PostgreSQL 15 on 127.0.0.1:`port` (user postgres, trust auth)."""
    port: int
    data_dir: pathlib.Path

    def url(self, database: str, user: str = "postgres", password: str | None = None) -> str:
        auth = user + (f":{urllib.parse.quote(password, safe='')}" if password else "")
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def psql(self, database: str, sql: str) -> list[list[str]]:
        """Rows of `sql`, read with psql (independent of Loupe's client)."""
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
                            "-v", "ON_ERROR_STOP=1", "-tA", "-F", "\t", "-c", sql],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def password_role(self, role: str, password: str) -> None:
        """A role that must log in with `password` (SCRAM), while every other
        role keeps the service's trust authentication."""
        self.psql("postgres", f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        self.psql("postgres", "SELECT pg_reload_conf()")

    def new_database(self) -> str:
        """A fresh, empty database; returns its name."""
        name = f"loupe_{uuid.uuid4().hex[:12]}"
        self.psql("postgres", f"CREATE DATABASE {name}")
        return name


@pytest.fixture(scope="session")
def pg_service() -> PgService:
    # Its own directory: the postgres user (initdb refuses root) must reach
    # it, and the session's tmp_root is private to this user.
    base = pathlib.Path(tempfile.mkdtemp(prefix="loupe-pg-"))
    base.chmod(0o755)
    port = free_port()
    _, stop = _start_service("pg", base, {"PG_PORT": port})
    yield PgService(port=port, data_dir=base / "pg" / "data")
    stop()


@dataclasses.dataclass
class RedisService:
    """Redis 7 on 127.0.0.1:`port` with `password`, started by scripts/start-services.sh
    in its own directory; stop() and start() stop and restart the real server."""
    port: int
    password: str
    base: pathlib.Path

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}"

    def _env(self) -> dict:
        return _service_env(self.base, {"REDIS_PORT": self.port, "REDIS_PASSWORD": self.password})

    def start(self) -> None:
        r = subprocess.run([str(ROOT / "scripts" / "start-services.sh"), "redis"], env=self._env(),
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"start-services.sh redis failed:\n{r.stdout}\n{r.stderr}"

    def stop(self) -> None:
        r = subprocess.run([str(ROOT / "scripts" / "stop-services.sh")], env=self._env(),
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr

    def cli(self, *args: str) -> str:
        r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "-a", self.password,
                            "--no-auth-warning", *args], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()


@pytest.fixture
def redis_service() -> RedisService:
    """A private Redis for one test (tests stop and restart it)."""
    base = pathlib.Path(tempfile.mkdtemp(prefix="loupe-redis-"))
    svc = RedisService(port=free_port(), password="pw-" + uuid.uuid4().hex[:8], base=base)
    svc.start()
    yield svc
    subprocess.run([str(ROOT / "scripts" / "stop-services.sh"), "--purge"], env=svc._env(),
                   capture_output=True, timeout=120)


@dataclasses.dataclass
class ClickHouseService:
    """The real ClickHouse engine (chdb, from PyPI) behind tests/support/chdb_front.py,
    which speaks ClickHouse's HTTP interface. stop() and start() stop and restart
    it on the same port and data."""
    port: int
    data: pathlib.Path
    user: str
    password: str
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, database: str) -> dict:
        """CLICKHOUSE_* for a Loupe process."""
        return {"CLICKHOUSE_URL": self.url, "CLICKHOUSE_USER": self.user,
                "CLICKHOUSE_PASSWORD": self.password, "CLICKHOUSE_DB": database}

    def start(self) -> None:
        import sys
        import requests
        log = open(self.data.parent / "chdb-front.log", "ab")
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "support" / "chdb_front.py"),
                                      "--data", str(self.data), "--port", str(self.port), "--user", self.user,
                                      "--password", self.password],
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "chdb front exited: see " + str(self.data.parent / "chdb-front.log")
            try:
                if requests.get(self.url + "/ping", timeout=2).text == "Ok.\n":
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError("chdb front did not answer /ping within 120 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def clickhouse_service(tmp_path_factory) -> ClickHouseService:
    """A private ClickHouse for one test (tests stop and restart it)."""
    base = tmp_path_factory.mktemp("clickhouse")
    svc = ClickHouseService(port=free_port(), data=base / "db", user="loupe",
                            password="ch-" + uuid.uuid4().hex[:10])
    svc.start()
    yield svc
    svc.stop()


@dataclasses.dataclass
class DebianClickHouse:
    """Debian 12's ClickHouse server (18.16): too old for the event store, but
    the plain HTTP interface the client uses is the same."""
    url: str
    user: str
    password: str


@pytest.fixture(scope="session")
def debian_clickhouse(tmp_root) -> DebianClickHouse:
    ports = {"CH_HTTP_PORT": free_port(), "CH_TCP_PORT": free_port(), "CH_PASSWORD": "ch-" + uuid.uuid4().hex[:8]}
    settings, stop = _start_service("ch", tmp_root / "debian-clickhouse", ports)
    yield DebianClickHouse(url=settings["CLICKHOUSE_URL"], user=settings["CLICKHOUSE_USER"],
                           password=settings["CLICKHOUSE_PASSWORD"])
    stop()

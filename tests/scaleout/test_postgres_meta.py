"""Organizations, projects, API keys, users, memberships and web UI sessions in
PostgreSQL (DATABASE_URL), against a real PostgreSQL 15 started by
scripts/start-services.sh (conftest.py). Every test gets a fresh, empty
database. The rows are checked where they land, with psql; Loupe keeps its
tables in the schema `loupe`."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest
import requests

from integration.harness import (ORG_ID, PROJECT_ID, PUBLIC_KEY, SECRET_KEY, Api, LoupeServer, basic_auth,
                                 binary_path, free_port, uid)
from ui.ui_helpers import ORG_PK, ORG_SK, UI_ENV, USER_EMAIL, USER_PASSWORD, UiClient

MIGRATION_LINE = "applied PostgreSQL schema migration"
# Every metadata store keeps its schema in PostgreSQL, each its own component.
SCHEMA_VERSIONS = sorted([["annotation_queues", "1"], ["comments", "1"], ["datasets", "1"],
                          ["llm_connections", "1"], ["media", "1"], ["meta", "1"], ["models", "1"],
                          ["prompts", "1"], ["score_configs", "1"]])


def schema_versions(pg_service, database) -> list:
    return sorted(pg_service.psql(database, "SELECT component, version FROM loupe.schema_version"))


@pytest.fixture
def database(pg_service) -> str:
    return pg_service.new_database()


@pytest.fixture
def servers(tmp_root, request):
    """Makes Loupe processes on DATABASE_URL, each with its own data dir."""
    made: list[LoupeServer] = []

    def make(url: str, extra: dict | None = None) -> LoupeServer:
        name = f"pg-{request.node.name}-{len(made)}"
        env = dict(UI_ENV)
        env["DATABASE_URL"] = url
        # Shared by every process, as in a Langfuse deployment: session
        # cookies are signed with it (SALT, for key hashes, is the harness's).
        env["NEXTAUTH_SECRET"] = "loupe-scaleout-test-secret"
        env.update(extra or {})
        srv = LoupeServer(tmp_root / f"data-{name}", tmp_root / f"loupe-{name}.log", env)
        made.append(srv)
        return srv

    yield make
    for srv in made:
        if srv.proc and srv.proc.poll() is None:
            rc = srv.stop()
            assert rc == 0, srv.log_tail()


def project_api(srv: LoupeServer) -> Api:
    return Api(srv.url, auth=basic_auth(PUBLIC_KEY, SECRET_KEY))


def org_api(srv: LoupeServer) -> Api:
    return Api(srv.url, auth=basic_auth(ORG_PK, ORG_SK))


def migrations_logged(*srvs: LoupeServer) -> int:
    return sum(s.log_path.read_text(errors="replace").count(MIGRATION_LINE) for s in srvs)


def test_headless_init_lands_in_postgres_and_is_idempotent(pg_service, database, servers):
    srv = servers(pg_service.url(database)).start()
    r = project_api(srv).get("/api/public/projects")
    assert r.status_code == 200, r.text
    assert [p["id"] for p in r.json()["data"]] == [PROJECT_ID]
    assert Api(srv.url, auth=basic_auth(PUBLIC_KEY, "sk-lf-wrong")).get("/api/public/projects").status_code == 401

    def snapshot():
        return {
            "orgs": pg_service.psql(database, "SELECT id, name, created_at FROM loupe.organizations"),
            "projects": pg_service.psql(database, "SELECT id, org_id, name, created_at, updated_at FROM "
                                                  "loupe.projects WHERE deleted_at IS NULL"),
            "keys": pg_service.psql(database, "SELECT id, public_key, scope, project_id, org_id FROM "
                                              "loupe.api_keys ORDER BY public_key"),
            "users": pg_service.psql(database, "SELECT id, email FROM loupe.users"),
            "members": pg_service.psql(database, "SELECT org_id, role FROM loupe.organization_memberships"),
        }

    first = snapshot()
    assert [row[0] for row in first["orgs"]] == [ORG_ID]
    assert [row[:3] for row in first["projects"]] == [[PROJECT_ID, ORG_ID, "Loupe Test Project"]]
    assert [(k[1], k[2]) for k in first["keys"]] == [(ORG_PK, "ORGANIZATION"), (PUBLIC_KEY, "PROJECT")]
    assert [u[1] for u in first["users"]] == [USER_EMAIL]
    assert first["members"] == [[ORG_ID, "OWNER"]]
    assert schema_versions(pg_service, database) == SCHEMA_VERSIONS
    # None of it went to an embedded meta.db: there is none.
    assert not (srv.data_dir / "meta.db").exists()

    # A restart applies the same initialization again and changes nothing.
    srv.restart()
    assert snapshot() == first
    assert migrations_logged(srv) == len(SCHEMA_VERSIONS)  # all at the first start, none at the restart
    assert project_api(srv).get("/api/public/projects").status_code == 200

    # The state is in PostgreSQL, not in the data dir: a process with an empty
    # data dir serves the same keys.
    other = servers(pg_service.url(database)).start()
    assert project_api(other).get("/api/public/projects").status_code == 200
    assert snapshot() == first


def test_organization_api_manages_projects_and_keys_in_postgres(pg_service, database, servers):
    srv = servers(pg_service.url(database)).start()
    org = org_api(srv)
    r = org.post("/api/public/projects", json={"name": "Beta", "retention": 7, "metadata": {"team": "x"}})
    assert r.status_code == 201, r.text
    project = r.json()
    assert project["retentionDays"] == 7 and project["metadata"] == {"team": "x"}
    assert org.post("/api/public/projects", json={"name": "Beta"}).status_code == 409

    r = org.post(f"/api/public/projects/{project['id']}/apiKeys", json={"note": "ci"})
    assert r.status_code == 201, r.text
    key = r.json()
    api = Api(srv.url, auth=basic_auth(key["publicKey"], key["secretKey"]))
    assert [p["id"] for p in api.get_json("/api/public/projects")["data"]] == [project["id"]]
    listed = org.get_json(f"/api/public/projects/{project['id']}/apiKeys")["apiKeys"]
    assert [k["publicKey"] for k in listed] == [key["publicKey"]]
    rows = pg_service.psql(database, f"SELECT project_id, note FROM loupe.api_keys WHERE public_key = "
                                     f"'{key['publicKey']}'")
    assert rows == [[project["id"], "ci"]]

    # The owner's membership, and a project role for them.
    members = org.get_json("/api/public/organizations/memberships")["memberships"]
    [owner] = [m for m in members if m["email"] == USER_EMAIL]
    assert owner["role"] == "OWNER"
    r = org.request("PUT", f"/api/public/projects/{project['id']}/memberships",
                    json={"userId": owner["userId"], "role": "VIEWER"})
    assert r.status_code == 200, r.text
    assert pg_service.psql(database, "SELECT project_id, role FROM loupe.project_memberships") == [
        [project["id"], "VIEWER"]]

    # Revoking the key and deleting the project take effect at once.
    r = org.delete(f"/api/public/projects/{project['id']}/apiKeys/{key['id']}")
    assert r.status_code == 200, r.text
    assert api.get("/api/public/projects").status_code == 401
    r = org.delete(f"/api/public/projects/{project['id']}")
    assert r.status_code in (200, 202), r.text
    ids = [p["id"] for p in org.get_json("/api/public/organizations/projects")["projects"]]
    assert project["id"] not in ids and PROJECT_ID in ids
    assert pg_service.psql(database, f"SELECT deleted_at IS NOT NULL FROM loupe.projects WHERE id = "
                                     f"'{project['id']}'") == [["t"]]
    assert pg_service.psql(database, "SELECT count(*) FROM loupe.project_memberships") == [["0"]]


def test_web_ui_accounts_and_sessions_are_shared_between_processes(pg_service, database, servers):
    url = pg_service.url(database)
    a = servers(url).start()
    b = servers(url).start()
    # Sign up on one process, sign in on the other.
    email = f"member-{uid()}@loupe.test"
    UiClient(a.url).sign_up(email=email, password="member-password-1", name="Member")
    assert pg_service.psql(database, f"SELECT name FROM loupe.users WHERE email = '{email}'") == [["Member"]]
    r = UiClient(b.url).post("/api/ui/auth/sign-up", {"email": email.upper(), "password": "12345678", "name": "B"})
    assert r.status_code == 409, r.text
    member = UiClient(b.url)
    member.sign_in(email=email.upper(), password="member-password-1")
    # The session made on b is valid on a (a load balancer may send the next
    # request anywhere).
    on_a = UiClient(a.url)
    on_a.s.cookies.update(member.s.cookies)
    assert on_a.get("/api/ui/auth/session").json()["user"]["email"] == email

    # The initial user creates an organization, a project and a key through
    # the UI; the key works on the other process.
    owner = UiClient(a.url)
    owner.sign_in(USER_EMAIL, USER_PASSWORD)
    assert owner.get("/api/ui/auth/session").json()["organizations"][0]["role"] == "OWNER"
    org = owner.post("/api/ui/organizations", {"name": "Acme"}).json()
    r = owner.post(f"/api/ui/organizations/{org['id']}/projects", {"name": "Chatbot"})
    assert r.status_code == 201, r.text
    project = r.json()
    key = owner.post(f"/api/ui/projects/{project['id']}/api-keys", {"note": "ui"}).json()
    r = Api(b.url).get("/api/public/projects", auth=basic_auth(key["publicKey"], key["secretKey"]))
    assert r.status_code == 200 and [p["id"] for p in r.json()["data"]] == [project["id"]]

    # Signing out on a ends the session everywhere (the one sign-up opened
    # stays).
    def sessions() -> int:
        return int(pg_service.psql(database, "SELECT count(*) FROM loupe.user_sessions s JOIN loupe.users u "
                                             f"ON u.id = s.user_id WHERE u.email = '{email}'")[0][0])

    assert sessions() == 2
    assert on_a.post("/api/ui/auth/sign-out").status_code == 200
    assert member.get("/api/ui/auth/session").status_code == 401
    assert sessions() == 1


def test_two_processes_starting_at_once_migrate_once(pg_service, database, servers):
    url = pg_service.url(database)
    srvs = [servers(url), servers(url)]
    errors: list[Exception] = []

    def start(s: LoupeServer) -> None:
        try:
            s.start()
        except Exception as e:  # reported below, with the log
            errors.append(e)

    threads = [threading.Thread(target=start, args=(s,)) for s in srvs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for s in srvs:
        assert project_api(s).get("/api/public/projects").status_code == 200, s.log_tail()
    assert migrations_logged(*srvs) == len(SCHEMA_VERSIONS)  # each once, by one of the two
    assert schema_versions(pg_service, database) == SCHEMA_VERSIONS
    assert pg_service.psql(database, "SELECT count(*) FROM loupe.projects") == [["1"]]
    assert pg_service.psql(database, "SELECT count(*) FROM loupe.api_keys") == [["2"]]


def test_connections_the_server_closed_are_replaced(pg_service, database, servers):
    srv = servers(pg_service.url(database)).start()
    api = project_api(srv)
    assert api.get("/api/public/projects").status_code == 200
    # What a restart or failover does to the pool's idle connections.
    killed = pg_service.psql("postgres", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                                         f"datname = '{database}'")
    assert int(killed[0][0]) >= 1
    time.sleep(0.2)
    for _ in range(5):
        r = api.get("/api/public/projects")
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def password_role(pg_service) -> tuple[str, str]:
    """A role with password authentication; the password needs percent-encoding in a URL."""
    role, password = "loupe_pw", "p@ss:w/rd?" + uid()
    pg_service.password_role(role, password)
    return role, password


def test_password_authentication(pg_service, database, servers, password_role):
    role, password = password_role
    pg_service.psql(database, f"GRANT ALL ON DATABASE {database} TO {role}")
    srv = servers(pg_service.url(database, user=role, password=password) + "?sslmode=disable&connection_limit=3"
                  "&pool_timeout=10").start()
    assert project_api(srv).get("/api/public/projects").status_code == 200
    log = srv.log_path.read_text(errors="replace")
    assert "DATABASE_URL parameter ignored parameter=pool_timeout" in log
    assert password not in log


def test_database_url_from_its_parts(pg_service, database, servers, password_role):
    """DATABASE_HOST (host:port), DATABASE_USERNAME, DATABASE_PASSWORD, DATABASE_NAME and
    DATABASE_ARGS, which Langfuse's container turns into DATABASE_URL when that is unset."""
    role, password = password_role
    pg_service.psql(database, f"GRANT ALL ON DATABASE {database} TO {role}")
    srv = servers("", {"DATABASE_HOST": f"127.0.0.1:{pg_service.port}", "DATABASE_USERNAME": role,
                       "DATABASE_PASSWORD": password, "DATABASE_NAME": database,
                       "DATABASE_ARGS": "sslmode=disable"}).start()
    assert project_api(srv).get("/api/public/projects").status_code == 200
    assert pg_service.psql(database, "SELECT id FROM loupe.projects") == [[PROJECT_ID]]
    assert password not in srv.log_path.read_text(errors="replace")


@pytest.mark.parametrize("case", ["wrong password", "unknown role", "unreachable"])
def test_bad_database_url_stops_the_start_with_one_line(pg_service, servers, password_role, case):
    role, _ = password_role
    password = "s3cret-pw-" + uid()
    expected = {"wrong password": f'password authentication failed for user "{role}"',
                "unknown role": 'role "nobody" does not exist', "unreachable": "Connection refused"}[case]
    if case == "wrong password":
        url = pg_service.url("langfuse", user=role, password=password)
    elif case == "unknown role":
        url = pg_service.url("langfuse", user="nobody", password=password)
    else:
        url = f"postgresql://postgres:{password}@127.0.0.1:{free_port()}/langfuse"
    srv = servers(url)
    with pytest.raises(RuntimeError, match="exited with 1"):
        srv.start()
    log = srv.log_path.read_text(errors="replace")
    lines = [line for line in log.splitlines() if "failed to start" in line]
    assert len(lines) == 1, log
    assert "PostgreSQL at postgresql://" in lines[0] and "(DATABASE_URL)" in lines[0], lines[0]
    assert expected in lines[0], lines[0]
    assert password not in log


def test_meta_store_conformance_suite_on_postgres(pg_service, database):
    """The C++ suite every MetaStore backend passes, run against this server."""
    binary = binary_path().parent / "src" / "storage" / "postgres" / "meta_store_conformance_test"
    assert binary.exists(), f"{binary} not built (LOUPE_BUILD_TESTS=ON builds it next to loupe)"
    env = dict(os.environ, LOUPE_TEST_DATABASE_URL=pg_service.url(database))
    r = subprocess.run([str(binary), "--gtest_filter=*/postgres"], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "SKIPPED" not in r.stdout and "[  PASSED  ] 5 tests" in r.stdout, r.stdout[-4000:]

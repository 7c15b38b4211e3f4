"""LLM connections (/api/public/llm-connections): upsert by provider, secrets
encrypted at rest with AES-256-GCM under ENCRYPTION_KEY, never returned."""

from __future__ import annotations

import re
import sqlite3
import subprocess

import pytest

from api_admin.helpers import assert_error
from integration.harness import Api, uid

BASE = "/api/public/llm-connections"
KEYS = {"id", "provider", "adapter", "displaySecretKey", "baseURL", "customModels", "withDefaultModels",
        "extraHeaderKeys", "config", "createdAt", "updatedAt"}


def put(api, status=None, **body):
    body.setdefault("provider", uid("provider"))
    body.setdefault("adapter", "openai")
    body.setdefault("secretKey", "sk-proj-" + uid("secret"))
    r = api.request("PUT", BASE, json=body)
    if status is not None:
        assert r.status_code == status, r.text
    return r


def stored_row(admin_server, connection_id):
    """The stored (secret_key, extra_headers), read beside Loupe: from PostgreSQL
    when the server keeps metadata there, else from meta.db."""
    database_url = admin_server.extra_env.get("DATABASE_URL")
    if database_url:
        r = subprocess.run(["psql", database_url, "-v", "ON_ERROR_STOP=1", "-tA", "-F", "\t", "-c",
                            "SELECT secret_key, coalesce(extra_headers, '') FROM loupe.llm_connections "
                            f"WHERE id = '{connection_id}'"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        if not r.stdout.strip():
            return None
        secret, headers = r.stdout.rstrip("\n").split("\t")
        return secret, headers or None
    db = sqlite3.connect(f"file:{admin_server.data_dir / 'meta.db'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT secret_key, extra_headers FROM llm_connections WHERE id = ?",
                          (connection_id,)).fetchone()
    finally:
        db.close()


def test_create_then_update_by_provider(api, admin_server):
    secret = "sk-proj-supersecret-9876"
    r = put(api, 201, provider="openai-main", secretKey=secret, baseURL="https://proxy.example.com/v1",
            customModels=["my-ft-model"], withDefaultModels=False,
            extraHeaders={"OpenAI-Organization": "org-123"}, config={"useResponsesApi": True})
    c = r.json()
    assert set(c) == KEYS
    assert c["provider"] == "openai-main" and c["adapter"] == "openai"
    assert c["displaySecretKey"] == "...9876"
    assert c["baseURL"] == "https://proxy.example.com/v1"
    assert c["customModels"] == ["my-ft-model"] and c["withDefaultModels"] is False
    assert c["extraHeaderKeys"] == ["OpenAI-Organization"]
    assert c["config"] == {"useResponsesApi": True}
    assert secret not in r.text and "org-123" not in r.text

    # Encrypted at rest: hex(iv12):hex(ciphertext):hex(tag16), no clear text.
    secret_col, headers_col = stored_row(admin_server, c["id"])
    assert re.fullmatch(r"[0-9a-f]{24}:[0-9a-f]+:[0-9a-f]{32}", secret_col)
    assert len(secret_col.split(":")[1]) == 2 * len(secret)
    assert secret not in secret_col
    assert re.fullmatch(r"[0-9a-f]{24}:[0-9a-f]+:[0-9a-f]{32}", headers_col)

    r = put(api, 200, provider="openai-main", adapter="azure", secretKey="new-key-abcd")
    updated = r.json()
    assert updated["id"] == c["id"] and updated["createdAt"] == c["createdAt"]
    assert updated["adapter"] == "azure" and updated["displaySecretKey"] == "...abcd"
    assert updated["withDefaultModels"] is True and updated["customModels"] == []
    assert updated["baseURL"] is None and updated["config"] is None

    listed = {x["id"]: x for x in api.list_all(BASE)}
    assert listed[c["id"]] == updated
    assert "new-key-abcd" not in str(listed)


def test_adapter_configs(api):
    bedrock = put(api, 201, adapter="bedrock", config={"region": "eu-central-1"}).json()
    assert bedrock["config"] == {"region": "eu-central-1"}
    vertex = put(api, 201, adapter="google-vertex-ai",
                 secretKey='{"type": "service_account", "private_key_id": "abcd1234"}').json()
    assert vertex["displaySecretKey"] == "...1234"
    assert put(api, 201, adapter="google-vertex-ai", config={"location": "us-central1"}).json()["config"] \
        == {"location": "us-central1"}


@pytest.mark.parametrize("change, fragment", [
    ({"provider": ""}, "provider"),
    ({"adapter": "cohere"}, "adapter"),
    ({"secretKey": ""}, "secretKey"),
    ({"secretKey": None}, "secretKey"),
    ({"baseURL": "not a url"}, "baseURL"),
    ({"customModels": "gpt"}, "customModels"),
    ({"customModels": [""]}, "customModels"),
    ({"withDefaultModels": "yes"}, "withDefaultModels"),
    ({"extraHeaders": {"X": 1}}, "extraHeaders"),
    ({"adapter": "bedrock"}, "Bedrock"),
    ({"adapter": "bedrock", "config": {"zone": "x"}}, "region"),
    ({"adapter": "google-vertex-ai", "config": {"region": "x"}}, "location"),
    ({"adapter": "anthropic", "config": {"region": "x"}}, "not supported"),
    ({"adapter": "openai", "config": {"useResponsesApi": "yes"}}, "useResponsesApi"),
    ({"config": "x"}, "config"),
])
def test_upsert_rejects_bad_input(api, change, fragment):
    body = {"provider": uid("p"), "adapter": "openai", "secretKey": "sk-1234"}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(api.request("PUT", BASE, json=body), 400, fragment)


def test_delete(api):
    c = put(api, 201).json()
    r = api.delete(f"{BASE}/{c['id']}")
    assert r.status_code == 200 and r.json() == {"message": "LLM connection successfully deleted"}
    assert c["id"] not in {x["id"] for x in api.list_all(BASE)}
    assert_error(api.delete(f"{BASE}/{c['id']}"), 404)


def test_connections_are_private_to_their_project(api, fresh_project):
    c = put(api, 201).json()
    _, papi = fresh_project
    assert papi.get_json(BASE)["meta"]["totalItems"] == 0
    assert_error(papi.delete(f"{BASE}/{c['id']}"), 404)
    # The same provider name is free in another project.
    assert put(papi, 201, provider=c["provider"]).json()["id"] != c["id"]


def test_pagination(fresh_project):
    _, papi = fresh_project
    ids = [put(papi, 201).json()["id"] for _ in range(3)]
    body = papi.get_json(BASE, {"limit": 2})
    assert body["meta"] == {"page": 1, "limit": 2, "totalItems": 3, "totalPages": 2}
    assert [c["id"] for c in body["data"]] == ids[::-1][:2]


def test_auth(api, org_api):
    assert_error(org_api.get(BASE), 403)
    assert_error(org_api.request("PUT", BASE, json={}), 403)
    assert_error(api.get(BASE, auth=False), 401)


def test_without_encryption_key_upserts_are_refused_with_a_clear_message(server_factory):
    srv = server_factory()  # no ENCRYPTION_KEY
    api = Api(srv.url)
    r = put(api, provider="p", adapter="openai", secretKey="sk-1234")
    assert 400 <= r.status_code < 500, r.text
    assert "ENCRYPTION_KEY" in r.json()["message"]
    assert api.get_json(BASE)["data"] == []


def test_malformed_encryption_key_stops_the_server(server_factory):
    srv = server_factory(extra_env={"ENCRYPTION_KEY": "too-short"}, start=False)
    with pytest.raises(RuntimeError) as e:
        srv.start(timeout=10)
    assert "ENCRYPTION_KEY" in str(e.value)


def test_display_key_keeps_multibyte_characters_whole(api):
    # The display key is the last four characters, not bytes: a cut inside a
    # character would be invalid UTF-8 (PostgreSQL refuses it outright).
    r = put(api, 201, secretKey="sk-\u00e9\u00e9\u00e9\u00e9\U0001F600\u00fc")
    assert r.json()["displaySecretKey"] == "...\u00e9\u00e9\U0001F600\u00fc"

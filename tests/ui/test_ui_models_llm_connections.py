"""Settings → Models and Settings → LLM connections: the /api/ui endpoints
behind them (the public API's validation and JSON, role checks, project
isolation, the secret key never returned) and a browser run
(tests/ui/e2e_models_llm_connections.mjs) that creates a project model and an
LLM connection and sees them listed. Screenshots land in
build/ui-screenshots/ (40-... to 41-...)."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from integration.harness import PROJECT_ID, Api, basic_auth, event, uid
from ui.test_ui_browser import CHROMIUM, SHOT_DIR, UI_DIR
from ui.test_ui_prompts_datasets_scores import add_member
from ui.ui_helpers import USER_EMAIL, USER_PASSWORD, UiClient, start_ui_server

P = f"/api/ui/projects/{PROJECT_ID}"
ENCRYPTION_KEY = "ab" * 32


@pytest.fixture(scope="module")
def ui_server(tmp_root):
    srv = start_ui_server(tmp_root, "ui-models", {"ENCRYPTION_KEY": ENCRYPTION_KEY})
    yield srv
    assert srv.stop() == 0, srv.log_tail()


def owner(ui_server) -> UiClient:
    c = UiClient(ui_server.url)
    c.sign_in()
    return c


def user_with_role(ui_server, role: str) -> UiClient:
    c = UiClient(ui_server.url)
    user = c.sign_up()["user"]
    add_member(ui_server.url, user["id"], role)
    return c


def model_body(**kw) -> dict:
    name = uid("my-model")
    body = {"modelName": name, "matchPattern": f"(?i)^({name})$", "unit": "TOKENS",
            "inputPrice": 0.000002, "outputPrice": 0.000008}
    body.update(kw)
    return body


# --------------------------------------------------------------------------- models


def test_models_list_defaults_and_project_models_as_the_public_api(ui_server):
    c = owner(ui_server)
    listed = c.get(f"{P}/models").json()
    assert listed["data"] and all(m["isLangfuseManaged"] for m in listed["data"])
    assert listed["meta"]["totalItems"] == len(listed["data"])

    body = model_body(tokenizerId="openai")
    r = c.post(f"{P}/models", body)
    assert r.status_code == 200, r.text
    created = r.json()
    assert created["modelName"] == body["modelName"] and not created["isLangfuseManaged"]
    assert created["inputPrice"] == 0.000002 and created["outputPrice"] == 0.000008
    assert created["tokenizerId"] == "openai"
    # The same model, in the same shape, through the public API.
    public = Api(ui_server.url).get(f"/api/public/models/{created['id']}", auth=basic_auth())
    assert public.status_code == 200 and public.json() == created
    rows = c.get(f"{P}/models").json()["data"]
    assert [m for m in rows if m["id"] == created["id"]] == [created]

    # The public API's validation and messages.
    for bad, words in (
        (model_body(matchPattern="(unclosed"), "matchPattern is not a valid regex"),
        (model_body(totalPrice=1), "total price must be null"),
        ({"modelName": "x", "matchPattern": "x"}, "Must provide either flat prices"),
        (model_body(unit="LITRES"), "unit"),
        (model_body(inputPrice=-1), "greater than or equal to 0"),
        (dict(body), "already exists"),
    ):
        r = c.post(f"{P}/models", bad)
        assert r.status_code == 400, (bad, r.text)
        assert words.lower() in r.json()["message"].lower(), (words, r.text)

    r = c.delete(f"{P}/models/{created['id']}")
    assert r.status_code == 204, r.text
    assert c.delete(f"{P}/models/{created['id']}").status_code == 404
    assert all(m["id"] != created["id"] for m in c.get(f"{P}/models").json()["data"])
    # Defaults cannot be deleted.
    default_id = listed["data"][0]["id"]
    assert c.delete(f"{P}/models/{default_id}").status_code == 404


def test_project_models_price_new_generations(ui_server):
    c = owner(ui_server)
    name = uid("priced")
    created = c.post(f"{P}/models", model_body(modelName=name, matchPattern=f"^{name}$",
                                               inputPrice=1, outputPrice=2)).json()
    tid, oid = uid("t"), uid("o")
    r = Api(ui_server.url).post("/api/public/ingestion", auth=basic_auth(), json={"batch": [
        event("trace-create", {"id": tid}),
        event("generation-create", {"id": oid, "traceId": tid, "model": name,
                                    "usageDetails": {"input": 3, "output": 4}}),
    ]})
    assert r.status_code in (200, 207), r.text
    deadline = time.time() + 15
    obs = {}
    while time.time() < deadline:
        r = c.get(f"{P}/observations/{oid}")
        if r.status_code == 200:
            obs = r.json()
            break
        time.sleep(0.1)
    assert obs.get("calculatedTotalCost") == pytest.approx(3 * 1 + 4 * 2), obs
    assert c.delete(f"{P}/models/{created['id']}").status_code == 204


def test_model_roles_and_project_isolation(ui_server):
    viewer = user_with_role(ui_server, "VIEWER")
    assert viewer.get(f"{P}/models").status_code == 200
    assert viewer.post(f"{P}/models", model_body()).status_code == 403
    assert viewer.delete(f"{P}/models/whatever").status_code == 403

    member = user_with_role(ui_server, "MEMBER")
    r = member.post(f"{P}/models", model_body())
    assert r.status_code == 200, r.text
    assert member.delete(f"{P}/models/{r.json()['id']}").status_code == 204

    # A member of another organization's project: 404 for everything.
    stranger = UiClient(ui_server.url)
    stranger.sign_up()
    for method, body in (("GET", None), ("POST", model_body())):
        r = stranger.req(method, f"{P}/models", json=body)
        assert r.status_code == 404, (method, r.text)
    assert stranger.delete(f"{P}/models/whatever").status_code == 404


# --------------------------------------------------------------------------- LLM connections


def test_llm_connections_create_update_list_delete_without_the_secret(ui_server):
    c = owner(ui_server)
    provider = uid("openai")
    secret = "sk-proj-" + uid("secret") + "WXYZ"
    r = c.post(f"{P}/llm-connections", {"provider": provider, "adapter": "openai", "secretKey": secret,
                                        "baseURL": "https://llm.example.com/v1", "customModels": ["m-1"]})
    assert r.status_code == 201, r.text
    created = r.json()
    assert secret not in r.text and "secretKey" not in created
    assert created["displaySecretKey"] == "...WXYZ"
    assert created["baseURL"] == "https://llm.example.com/v1" and created["customModels"] == ["m-1"]

    listed = c.get(f"{P}/llm-connections")
    assert listed.status_code == 200 and secret not in listed.text
    assert [x for x in listed.json()["data"] if x["id"] == created["id"]][0]["provider"] == provider
    # The public API sees the same connection.
    public = Api(ui_server.url).get("/api/public/llm-connections", auth=basic_auth()).json()["data"]
    assert any(x["id"] == created["id"] for x in public)

    # Updated by provider name: the same id, a new secret.
    r = c.post(f"{P}/llm-connections", {"provider": provider, "adapter": "anthropic", "secretKey": "sk-ant-1234"})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == created["id"] and r.json()["adapter"] == "anthropic"
    assert r.json()["displaySecretKey"] == "...1234"

    for bad, words in (
        ({"provider": "x", "adapter": "nope", "secretKey": "k"}, "adapter"),
        ({"provider": "x", "adapter": "openai"}, "secretKey"),
        ({"provider": "x", "adapter": "bedrock", "secretKey": "k"}, "region"),
        ({"provider": "x", "adapter": "openai", "secretKey": "k", "baseURL": "ftp://x"}, "Invalid url"),
    ):
        r = c.post(f"{P}/llm-connections", bad)
        assert r.status_code == 400, (bad, r.text)
        assert words.lower() in r.json()["message"].lower(), (words, r.text)

    assert c.delete(f"{P}/llm-connections/{created['id']}").status_code == 200
    assert c.delete(f"{P}/llm-connections/{created['id']}").status_code == 404


def test_llm_connection_writes_are_for_admins_and_owners(ui_server):
    c = owner(ui_server)
    conn = c.post(f"{P}/llm-connections", {"provider": uid("p"), "adapter": "openai", "secretKey": "sk-1"}).json()
    for role in ("VIEWER", "MEMBER"):
        u = user_with_role(ui_server, role)
        r = u.get(f"{P}/llm-connections")
        assert r.status_code == 200 and "sk-1" not in r.text.replace(conn["displaySecretKey"], "")
        assert u.post(f"{P}/llm-connections",
                      {"provider": uid("p"), "adapter": "openai", "secretKey": "k"}).status_code == 403
        assert u.delete(f"{P}/llm-connections/{conn['id']}").status_code == 403
    admin = user_with_role(ui_server, "ADMIN")
    r = admin.post(f"{P}/llm-connections", {"provider": uid("p"), "adapter": "openai", "secretKey": "k-admin"})
    assert r.status_code == 201, r.text
    assert admin.delete(f"{P}/llm-connections/{r.json()['id']}").status_code == 200

    stranger = UiClient(ui_server.url)
    stranger.sign_up()
    assert stranger.get(f"{P}/llm-connections").status_code == 404
    assert stranger.delete(f"{P}/llm-connections/{conn['id']}").status_code == 404
    assert c.delete(f"{P}/llm-connections/{conn['id']}").status_code == 200


def test_llm_connections_without_encryption_key_say_how_to_set_it(tmp_root):
    srv = start_ui_server(tmp_root, "ui-models-nokey")
    try:
        c = UiClient(srv.url)
        c.sign_in()
        r = c.post(f"{P}/llm-connections", {"provider": "p", "adapter": "openai", "secretKey": "k"})
        assert r.status_code >= 400 and "ENCRYPTION_KEY" in r.json()["message"], r.text
    finally:
        assert srv.stop() == 0


# --------------------------------------------------------------------------- browser


def test_models_and_llm_connections_in_a_browser(ui_server):
    from ui.test_ui_browser import _missing

    missing = _missing()
    if missing:
        pytest.skip(missing)
    env = dict(os.environ, BASE_URL=ui_server.url, EMAIL=USER_EMAIL, PASSWORD=USER_PASSWORD,
               PROJECT_ID=PROJECT_ID, SHOT_DIR=str(SHOT_DIR), CHROMIUM=CHROMIUM, TAG=uid("e2e"))
    proc = subprocess.run(["node", str(UI_DIR / "e2e_models_llm_connections.mjs")], env=env,
                          capture_output=True, text=True, timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    report = "\n".join(lines) + "\n" + proc.stderr[-3000:]
    final = json.loads(lines[-1]) if lines else {}
    assert proc.returncode == 0 and not final.get("problems"), report
    steps = {json.loads(ln).get("step") for ln in lines[:-1]}
    for step in ("model-created", "llm-connection-created"):
        assert step in steps, report
    for name in ("40-settings-models", "41-settings-llm-connections"):
        assert (SHOT_DIR / f"{name}.png").stat().st_size > 10000, name

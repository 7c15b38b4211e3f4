"""Models and prices (/api/public/models): custom project models listed with
the Langfuse-managed defaults, and their precedence when generations are
priced at ingestion."""

from __future__ import annotations

import datetime as dt

import pytest

from api_admin.helpers import assert_error
from integration.harness import at, event, uid

GPT4O_ID = "b9854a5c92dc496b997d99d20"  # Langfuse-managed gpt-4o: input 2.5e-6, output 1e-5
BASE = dt.datetime(2025, 6, 1, 8, 0, 0, tzinfo=dt.timezone.utc)

MODEL_KEYS = {"id", "modelName", "matchPattern", "startDate", "unit", "inputPrice", "outputPrice",
              "totalPrice", "tokenizerId", "tokenizerConfig", "isLangfuseManaged", "createdAt", "prices",
              "pricingTiers"}


def create(api, **body):
    name = body.setdefault("modelName", uid("model"))
    body.setdefault("matchPattern", f"(?i)^{name}$")
    r = api.post("/api/public/models", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_create_flat_prices(api):
    m = create(api, inputPrice=1e-6, outputPrice=2e-6, unit="TOKENS", tokenizerId="openai",
               tokenizerConfig={"tokenizerModel": "gpt-4o", "tokensPerMessage": 3},
               startDate="2025-01-01T00:00:00.000Z")
    assert set(m) == MODEL_KEYS
    assert m["isLangfuseManaged"] is False
    assert (m["inputPrice"], m["outputPrice"], m["totalPrice"]) == (1e-6, 2e-6, None)
    assert m["prices"] == {"input": {"price": 1e-6}, "output": {"price": 2e-6}}
    assert m["unit"] == "TOKENS" and m["tokenizerId"] == "openai"
    assert m["tokenizerConfig"] == {"tokenizerModel": "gpt-4o", "tokensPerMessage": 3}
    assert m["startDate"] == "2025-01-01T00:00:00.000Z"
    [tier] = m["pricingTiers"]
    assert tier == {"id": m["id"] + "_tier_default", "name": "Standard", "isDefault": True,
                    "priority": 0, "conditions": [], "prices": {"input": 1e-6, "output": 2e-6}}
    assert api.get_json(f"/api/public/models/{m['id']}") == m


def test_create_pricing_tiers(api):
    tiers = [
        {"name": "Large context", "isDefault": False, "priority": 1,
         "conditions": [{"usageDetailPattern": "^input", "operator": "gt", "value": 200000,
                         "caseSensitive": False}],
         "prices": {"input": 2e-6, "output": 4e-6}},
        {"name": "Standard", "isDefault": True, "priority": 0, "conditions": [],
         "prices": {"input": 1e-6, "output": 2e-6}},
    ]
    m = create(api, pricingTiers=tiers)
    assert [t["name"] for t in m["pricingTiers"]] == ["Standard", "Large context"]
    assert m["inputPrice"] == 1e-6 and m["prices"]["output"] == {"price": 2e-6}
    large = m["pricingTiers"][1]
    assert large["conditions"] == tiers[0]["conditions"] and large["priority"] == 1


def test_list_has_defaults_and_custom_models(fresh_project):
    _, papi = fresh_project
    custom = create(papi, modelName="aaa-" + uid("m"), totalPrice=0.5)
    models = papi.list_all("/api/public/models")
    by_id = {m["id"]: m for m in models}
    assert by_id[custom["id"]]["isLangfuseManaged"] is False
    gpt4o = by_id[GPT4O_ID]
    assert gpt4o["isLangfuseManaged"] is True and gpt4o["modelName"] == "gpt-4o"
    assert gpt4o["inputPrice"] == 2.5e-6 and gpt4o["prices"]["output"] == {"price": 1e-5}
    assert all(set(m) == MODEL_KEYS for m in models)
    names = [m["modelName"] for m in models]
    assert names == sorted(names)
    body = papi.get_json("/api/public/models", {"limit": 10})
    assert body["meta"]["totalItems"] == len(models) and len(body["data"]) == 10
    assert papi.get_json(f"/api/public/models/{GPT4O_ID}")["id"] == GPT4O_ID


@pytest.mark.parametrize("body, fragment", [
    ({"matchPattern": "x", "inputPrice": 1}, "modelName"),
    ({"modelName": "x", "inputPrice": 1}, "matchPattern"),
    ({"modelName": "x", "matchPattern": "(unclosed", "inputPrice": 1}, "matchPattern"),
    ({"modelName": "x", "matchPattern": "x"}, "flat prices"),
    ({"modelName": "x", "matchPattern": "x", "inputPrice": -1}, "inputPrice"),
    ({"modelName": "x", "matchPattern": "x", "inputPrice": "1"}, "inputPrice"),
    ({"modelName": "x", "matchPattern": "x", "inputPrice": 1, "totalPrice": 2}, "total price"),
    ({"modelName": "x", "matchPattern": "x", "inputPrice": 1, "unit": "LITERS"}, "unit"),
    ({"modelName": "x", "matchPattern": "x", "inputPrice": 1, "tokenizerId": "llama"}, "tokenizerId"),
    ({"modelName": "x", "matchPattern": "x", "inputPrice": 1, "startDate": "yesterday"}, "startDate"),
    ({"modelName": "x", "matchPattern": "x", "inputPrice": 1,
      "pricingTiers": [{"name": "S", "isDefault": True, "priority": 0, "conditions": [],
                        "prices": {"input": 1}}]}, "not both"),
    ({"modelName": "x", "matchPattern": "x",
      "pricingTiers": [{"name": "S", "isDefault": False, "priority": 0, "conditions": [],
                        "prices": {"input": 1}}]}, "isDefault"),
    ({"modelName": "x", "matchPattern": "x",
      "pricingTiers": [{"name": "S", "isDefault": True, "priority": 1, "conditions": [],
                        "prices": {"input": 1}}]}, "priority"),
    ({"modelName": "x", "matchPattern": "x",
      "pricingTiers": [{"name": "S", "isDefault": True, "priority": 0, "conditions": [],
                        "prices": {}}]}, "at least one price"),
    ({"modelName": "x", "matchPattern": "x",
      "pricingTiers": [{"name": "S", "isDefault": True, "priority": 0, "conditions": [],
                        "prices": {"input": 1}},
                       {"name": "L", "isDefault": False, "priority": 1, "conditions": [],
                        "prices": {"input": 2}}]}, "at least one condition"),
    ({"modelName": "x", "matchPattern": "x",
      "pricingTiers": [{"name": "S", "isDefault": True, "priority": 0, "conditions": [],
                        "prices": {"input": 1}},
                       {"name": "L", "isDefault": False, "priority": 1,
                        "conditions": [{"usageDetailPattern": "(", "operator": "gt", "value": 1}],
                        "prices": {"input": 2}}]}, "regex"),
    ({"modelName": "x", "matchPattern": "x",
      "pricingTiers": [{"name": "S", "isDefault": True, "priority": 0, "conditions": [],
                        "prices": {"input": 1}},
                       {"name": "L", "isDefault": False, "priority": 1,
                        "conditions": [{"usageDetailPattern": "^in", "operator": "bigger", "value": 1}],
                        "prices": {"input": 2}}]}, "operator"),
    ({"modelName": "x", "matchPattern": "x",
      "pricingTiers": [{"name": "S", "isDefault": True, "priority": 0, "conditions": [],
                        "prices": {"input": 1}},
                       {"name": "L", "isDefault": False, "priority": 1,
                        "conditions": [{"usageDetailPattern": "^in", "operator": "gt", "value": 1}],
                        "prices": {"output": 2}}]}, "same usage keys"),
    ({"modelName": "x", "matchPattern": "x", "pricingTiers": "cheap"}, "pricingTiers"),
])
def test_create_rejects_bad_input(api, body, fragment):
    assert_error(api.post("/api/public/models", json=body), 400, fragment)


def test_duplicate_name_in_project_is_rejected(api):
    m = create(api, inputPrice=1)
    r = api.post("/api/public/models", json={"modelName": m["modelName"], "matchPattern": "x",
                                             "inputPrice": 1})
    assert_error(r, 400, "already exists")


def test_delete(api):
    m = create(api, inputPrice=1)
    r = api.delete(f"/api/public/models/{m['id']}")
    assert r.status_code == 204 and r.text == ""
    assert_error(api.get(f"/api/public/models/{m['id']}"), 404)
    assert_error(api.delete(f"/api/public/models/{m['id']}"), 404)
    assert_error(api.delete(f"/api/public/models/{GPT4O_ID}"), 404, "built-in")
    assert api.get_json(f"/api/public/models/{GPT4O_ID}")["id"] == GPT4O_ID


def test_models_are_private_to_their_project(api, fresh_project):
    m = create(api, inputPrice=1)
    _, papi = fresh_project
    assert_error(papi.get(f"/api/public/models/{m['id']}"), 404)
    assert_error(papi.delete(f"/api/public/models/{m['id']}"), 404)
    assert m["id"] not in {x["id"] for x in papi.list_all("/api/public/models")}


def test_auth(api, org_api):
    assert_error(api.get("/api/public/models", auth=False), 401)
    assert_error(org_api.get("/api/public/models"), 403)
    assert_error(org_api.post("/api/public/models", json={}), 403)


# --------------------------------------------------------------------------- cost at ingestion


def generation_cost(api, model: str, usage: dict) -> dict:
    trace_id, gen_id = uid("t"), uid("g")
    api.ingest_ok([
        event("trace-create", {"id": trace_id}, timestamp=at(BASE, 0)),
        event("generation-create", {"id": gen_id, "traceId": trace_id, "model": model,
                                    "startTime": at(BASE, 0), "usageDetails": usage},
              timestamp=at(BASE, 0)),
    ])
    return api.observation(gen_id)


def test_custom_model_takes_precedence_at_cost_time_until_deleted(fresh_project):
    _, papi = fresh_project
    usage = {"input": 1000, "output": 100}

    before = generation_cost(papi, "gpt-4o", usage)
    assert before["modelId"] == GPT4O_ID
    assert before["calculatedTotalCost"] == pytest.approx(1000 * 2.5e-6 + 100 * 1e-5)

    custom = create(papi, modelName="gpt-4o", matchPattern="(?i)^(openai/)?(gpt-4o)$",
                    inputPrice=0.001, outputPrice=0.002)
    during = generation_cost(papi, "gpt-4o", usage)
    assert during["modelId"] == custom["id"]
    assert during["costDetails"] == pytest.approx({"input": 1.0, "output": 0.2, "total": 1.2})
    assert during["calculatedTotalCost"] == pytest.approx(1.2)
    # Already stored generations keep the cost they were written with.
    assert papi.observation(before["id"])["calculatedTotalCost"] == pytest.approx(0.0035)

    assert papi.delete(f"/api/public/models/{custom['id']}").status_code == 204
    after = generation_cost(papi, "gpt-4o", usage)
    assert after["modelId"] == GPT4O_ID
    assert after["calculatedTotalCost"] == pytest.approx(0.0035)


def test_custom_tiered_model_prices_by_tier(fresh_project):
    _, papi = fresh_project
    name = uid("tiered")
    create(papi, modelName=name, pricingTiers=[
        {"name": "Standard", "isDefault": True, "priority": 0, "conditions": [],
         "prices": {"input": 1, "output": 1}},
        {"name": "Large", "isDefault": False, "priority": 1,
         "conditions": [{"usageDetailPattern": "^input", "operator": "gte", "value": 100,
                         "caseSensitive": False}],
         "prices": {"input": 10, "output": 10}},
    ])
    assert generation_cost(papi, name, {"input": 5, "output": 1})["calculatedTotalCost"] == 6
    assert generation_cost(papi, name, {"input": 100, "output": 1})["calculatedTotalCost"] == 1010


def test_custom_models_survive_a_restart(server_factory):
    from api_admin.helpers import ADMIN_ENV
    from integration.harness import Api

    srv = server_factory(extra_env=ADMIN_ENV)
    papi = Api(srv.url)
    name = uid("persisted")
    create(papi, modelName=name, totalPrice=0.5)
    srv.restart()
    papi = Api(srv.url)
    assert generation_cost(papi, name, {"total": 4})["calculatedTotalCost"] == 2.0

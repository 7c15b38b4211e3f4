"""Usage normalization and cost calculation at ingest (contract §2.1 usage /
usageDetails / costDetails, §3 "Usage and cost at write time", data model §4).

Prices come from Langfuse's default price table (gpt-4o: input 2.5e-6,
output 1e-5, input_cached_tokens 1.25e-6 USD per token; model id
b9854a5c92dc496b997d99d20). Models named loupe-test-* match no price."""

from __future__ import annotations

import datetime as dt

import pytest

from integration.harness import at, event, uid

BASE = dt.datetime(2025, 5, 5, 5, 5, 5, tzinfo=dt.timezone.utc)
GPT4O_ID = "b9854a5c92dc496b997d99d20"
UNPRICED = "loupe-test-unpriced-model"


def _gen(api, env, model=UNPRICED, **fields):
    trace_id, gen_id = uid("t"), uid("g")
    body = {"id": gen_id, "traceId": trace_id, "name": "g", "model": model, "startTime": at(BASE, 0),
            "endTime": at(BASE, 1500), "environment": env, "input": "hello", "output": "world"}
    body.update(fields)
    api.ingest_ok([event("trace-create", {"id": trace_id, "environment": env}, timestamp=at(BASE, 0)),
                   event("generation-create", body, timestamp=at(BASE, 0))])
    return trace_id, gen_id


def _assert_costs(actual: dict, expected: dict):
    assert set(actual) == set(expected), f"cost keys {sorted(actual)} != {sorted(expected)}"
    for k, v in expected.items():
        assert actual[k] == pytest.approx(v, rel=1e-9, abs=1e-15), (k, actual[k], v)


# ----------------------------------------------------------------------------- usage shapes


def test_legacy_usage_object(api, env):
    _, gid = _gen(api, env, usage={"input": 30, "output": 12, "total": 42, "unit": "TOKENS"})
    g = api.observation(gid)
    assert g["usageDetails"] == {"input": 30, "output": 12, "total": 42}
    assert (g["promptTokens"], g["completionTokens"], g["totalTokens"]) == (30, 12, 42)
    assert (g["usage"]["input"], g["usage"]["output"], g["usage"]["total"]) == (30, 12, 42)
    assert g["costDetails"] == {}
    assert g["calculatedTotalCost"] in (None, 0)


def test_legacy_usage_total_defaults_to_input_plus_output(api, env):
    _, gid = _gen(api, env, usage={"input": 3, "output": 4})
    assert api.observation(gid)["usageDetails"] == {"input": 3, "output": 4, "total": 7}


def test_openai_style_usage_object(api, env):
    _, gid = _gen(api, env, usage={"promptTokens": 10, "completionTokens": 5, "totalTokens": 15})
    g = api.observation(gid)
    assert g["usageDetails"] == {"input": 10, "output": 5, "total": 15}
    assert (g["promptTokens"], g["completionTokens"], g["totalTokens"]) == (10, 5, 15)


def test_openai_chat_usage_details_are_normalized(api, env):
    _, gid = _gen(api, env, usageDetails={
        "prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150,
        "prompt_tokens_details": {"cached_tokens": 20, "audio_tokens": 5},
        "completion_tokens_details": {"reasoning_tokens": 10}})
    g = api.observation(gid)
    assert g["usageDetails"] == {"input": 75, "output": 40, "total": 150, "input_cached_tokens": 20,
                                 "input_audio_tokens": 5, "output_reasoning_tokens": 10}
    # legacy aggregates: sums of the keys starting with input / output
    assert (g["promptTokens"], g["completionTokens"], g["totalTokens"]) == (100, 50, 150)


def test_openai_responses_usage_details_are_normalized(api, env):
    _, gid = _gen(api, env, usageDetails={
        "input_tokens": 100, "output_tokens": 50, "total_tokens": 150,
        "input_tokens_details": {"cached_tokens": 30}, "output_tokens_details": {"reasoning_tokens": 5}})
    assert api.observation(gid)["usageDetails"] == {"input": 70, "output": 45, "total": 150,
                                                    "input_cached_tokens": 30, "output_reasoning_tokens": 5}


def test_openai_details_subtraction_floors_at_zero(api, env):
    _, gid = _gen(api, env, usageDetails={"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11,
                                          "prompt_tokens_details": {"cached_tokens": 25}})
    u = api.observation(gid)["usageDetails"]
    assert u["input"] == 0 and u["input_cached_tokens"] == 25 and u["output"] == 1 and u["total"] == 11


def test_free_usage_map_drops_invalid_values(api, env):
    _, gid = _gen(api, env, usageDetails={"input": 10, "output": "7", "bad_negative": -1, "bad_text": "abc",
                                          "bad_float": 1.5, "bad_null": None, "custom_units": 3})
    assert api.observation(gid)["usageDetails"] == {"input": 10, "output": 7, "custom_units": 3, "total": 20}


def test_usage_details_override_legacy_usage_per_key(api, env):
    _, gid = _gen(api, env, usage={"input": 1, "output": 2, "total": 3}, usageDetails={"input": 5, "cached": 1})
    assert api.observation(gid)["usageDetails"] == {"input": 5, "output": 2, "total": 3, "cached": 1}


def test_empty_usage_object_means_no_usage(api, env):
    _, gid = _gen(api, env, usage={}, usageDetails={})
    g = api.observation(gid)
    assert g["usageDetails"] == {}
    assert g["costDetails"] == {}


# ----------------------------------------------------------------------------- cost


def test_cost_from_default_price_table_gpt_4o(api, env):
    trace_id, gid = _gen(api, env, model="gpt-4o", usageDetails={"input": 1000, "output": 500})
    g = api.observation(gid)
    assert g["usageDetails"] == {"input": 1000, "output": 500, "total": 1500}
    _assert_costs(g["costDetails"], {"input": 0.0025, "output": 0.005, "total": 0.0075})
    assert g["calculatedInputCost"] == pytest.approx(0.0025)
    assert g["calculatedOutputCost"] == pytest.approx(0.005)
    assert g["calculatedTotalCost"] == pytest.approx(0.0075)
    assert g["modelId"] == GPT4O_ID
    assert g["inputPrice"] == pytest.approx(2.5e-6)
    assert g["outputPrice"] == pytest.approx(1e-5)
    assert g["model"] == "gpt-4o"
    t = api.trace(trace_id)
    assert t["totalCost"] == pytest.approx(0.0075)
    listed = api.get_json("/api/public/traces", {"environment": env})["data"]
    assert [x["totalCost"] for x in listed if x["id"] == trace_id] == [pytest.approx(0.0075)]


def test_cost_match_is_case_insensitive_and_allows_openai_prefix(api, env):
    _, gid = _gen(api, env, model="OpenAI/GPT-4o", usage={"input": 2000, "output": 0})
    g = api.observation(gid)
    assert g["modelId"] == GPT4O_ID
    _assert_costs(g["costDetails"], {"input": 0.005, "output": 0.0, "total": 0.005})


def test_cost_with_cached_tokens(api, env):
    _, gid = _gen(api, env, model="gpt-4o", usageDetails={"input": 800, "input_cached_tokens": 200, "output": 500})
    g = api.observation(gid)
    assert g["usageDetails"] == {"input": 800, "input_cached_tokens": 200, "output": 500, "total": 1500}
    _assert_costs(g["costDetails"], {"input": 0.002, "input_cached_tokens": 0.00025, "output": 0.005,
                                     "total": 0.00725})
    assert g["calculatedInputCost"] == pytest.approx(0.00225)
    assert g["calculatedTotalCost"] == pytest.approx(0.00725)


def test_openai_usage_shape_priced(api, env):
    _, gid = _gen(api, env, model="gpt-4o", usageDetails={
        "prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100,
        "prompt_tokens_details": {"cached_tokens": 400}})
    g = api.observation(gid)
    _assert_costs(g["costDetails"], {"input": 600 * 2.5e-6, "input_cached_tokens": 400 * 1.25e-6,
                                     "output": 100 * 1e-5, "total": 600 * 2.5e-6 + 400 * 1.25e-6 + 100 * 1e-5})


def test_user_provided_total_cost_wins(api, env):
    _, gid = _gen(api, env, model="gpt-4o", usageDetails={"input": 1000, "output": 500}, costDetails={"total": 0.5})
    g = api.observation(gid)
    _assert_costs(g["costDetails"], {"total": 0.5})
    assert g["calculatedTotalCost"] == pytest.approx(0.5)


def test_user_provided_input_output_cost_gets_a_total(api, env):
    trace_id, gid = _gen(api, env, model="gpt-4o", usageDetails={"input": 1000, "output": 500},
                         costDetails={"input": 0.1, "output": 0.2})
    g = api.observation(gid)
    _assert_costs(g["costDetails"], {"input": 0.1, "output": 0.2, "total": 0.3})
    assert g["calculatedInputCost"] == pytest.approx(0.1)
    assert g["calculatedOutputCost"] == pytest.approx(0.2)
    assert g["calculatedTotalCost"] == pytest.approx(0.3)
    assert api.trace(trace_id)["totalCost"] == pytest.approx(0.3)


def test_legacy_usage_costs_are_user_provided(api, env):
    _, gid = _gen(api, env, model="gpt-4o",
                  usage={"input": 10, "output": 20, "unit": "TOKENS", "totalCost": 0.000225})
    g = api.observation(gid)
    _assert_costs(g["costDetails"], {"total": 0.000225})
    assert g["calculatedTotalCost"] == pytest.approx(0.000225)


def test_negative_provided_costs_are_dropped(api, env):
    _, gid = _gen(api, env, usageDetails={"input": 1}, costDetails={"input": -1, "output": 0.25})
    _assert_costs(api.observation(gid)["costDetails"], {"output": 0.25, "total": 0.25})


def test_unknown_model_has_no_cost(api, env):
    trace_id, gid = _gen(api, env, usageDetails={"input": 1000, "output": 1000})
    g = api.observation(gid)
    assert g["costDetails"] == {}
    assert g["modelId"] is None
    assert g["calculatedTotalCost"] in (None, 0)
    assert api.trace(trace_id)["totalCost"] in (None, 0)


def test_trace_total_cost_sums_observations(api, env):
    trace_id = uid("t")
    batch = [event("trace-create", {"id": trace_id, "environment": env}, timestamp=at(BASE, 0))]
    for i, cost in enumerate((0.1, 0.02, 0.003)):
        batch.append(event("generation-create", {"id": f"{trace_id}-g{i}", "traceId": trace_id,
                                                 "model": UNPRICED, "startTime": at(BASE, i * 100),
                                                 "endTime": at(BASE, i * 100 + 50),
                                                 "costDetails": {"total": cost}, "environment": env},
                           timestamp=at(BASE, i)))
    batch.append(event("span-create", {"id": f"{trace_id}-span", "traceId": trace_id,
                                       "startTime": at(BASE, 0), "endTime": at(BASE, 2500), "environment": env}))
    api.ingest_ok(batch)
    t = api.trace(trace_id)
    assert t["totalCost"] == pytest.approx(0.123)
    assert t["latency"] == pytest.approx(2.5)


def test_cost_recomputed_when_usage_arrives_in_update(api, env):
    trace_id, gid = uid("t"), uid("g")
    api.ingest_ok([event("generation-create", {"id": gid, "traceId": trace_id, "model": "gpt-4o",
                                               "startTime": at(BASE, 0), "environment": env,
                                               "usageDetails": {"input": 100, "output": 0}},
                         timestamp=at(BASE, 0))])
    api.ingest_ok([event("generation-update", {"id": gid, "traceId": trace_id, "endTime": at(BASE, 100),
                                               "usageDetails": {"input": 100, "output": 100}},
                         timestamp=at(BASE, 100))])
    g = api.observation(gid)
    assert g["usageDetails"] == {"input": 100, "output": 100, "total": 200}
    _assert_costs(g["costDetails"], {"input": 100 * 2.5e-6, "output": 100 * 1e-5, "total": 100 * 2.5e-6 + 1e-3})

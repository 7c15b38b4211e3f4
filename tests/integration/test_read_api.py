"""Read API shapes, filters, ordering, field groups and pagination
(contract §1.4, §4.1–§4.4; spec schemas TraceWithDetails, TraceWithFullDetails,
ObservationsView, ScoreV1, Score/GetScoresResponseData, Session, utilsMetaResponse)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from integration.harness import PROJECT_ID, Api, at, by_id, env_name, event, ms_iso, uid

BASE = dt.datetime(2025, 2, 10, 9, 0, 0, tzinfo=dt.timezone.utc)
HOUR = 3_600_000
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

TRACE_KEYS = {"id", "timestamp", "name", "input", "output", "sessionId", "release", "version", "userId",
              "metadata", "tags", "public", "environment"}
TRACE_WITH_DETAILS_KEYS = TRACE_KEYS | {"htmlPath", "latency", "totalCost", "observations", "scores",
                                        "projectId", "bookmarked", "createdAt", "updatedAt"}
OBSERVATION_VIEW_KEYS = {
    "id", "traceId", "type", "name", "startTime", "endTime", "completionStartTime", "model", "modelParameters",
    "input", "version", "metadata", "output", "usage", "level", "statusMessage", "parentObservationId",
    "promptId", "usageDetails", "costDetails", "environment", "promptName", "promptVersion", "modelId",
    "inputPrice", "outputPrice", "totalPrice", "calculatedInputCost", "calculatedOutputCost",
    "calculatedTotalCost", "latency", "timeToFirstToken", "projectId", "createdAt", "updatedAt",
    "unit", "promptTokens", "completionTokens", "totalTokens"}
SCORE_V1_KEYS = {"id", "traceId", "name", "source", "observationId", "timestamp", "createdAt", "updatedAt",
                 "authorUserId", "comment", "metadata", "configId", "queueId", "environment", "dataType", "value"}
SCORE_KEYS = {"id", "traceId", "sessionId", "observationId", "datasetRunId", "name", "source", "timestamp",
              "createdAt", "updatedAt", "authorUserId", "comment", "metadata", "configId", "queueId",
              "environment", "dataType", "value"}
META_KEYS = {"page", "limit", "totalItems", "totalPages"}


class DS:
    """A small, fully known data set in its own environment."""

    def __init__(self, api: Api):
        self.env = env_name()
        self.other_env = env_name()
        u = uid("rd")
        self.t = {i: f"{u}-t{i}" for i in range(1, 6)}
        self.s1, self.s2 = f"{u}-sess1", f"{u}-sess2"
        self.span, self.gen, self.ev = f"{u}-span", f"{u}-gen", f"{u}-ev"
        self.sc = {k: f"{u}-{k}" for k in ("num", "cat", "bool", "sess")}
        self.user_a, self.user_b, self.user_c = f"{u}-ua", f"{u}-ub", f"{u}-uc"
        self.tag_x, self.tag_y, self.tag_z = f"{u}-x", f"{u}-y", f"{u}-z"
        e = self.env
        T = self.t
        batch = [
            event("trace-create", {"id": T[1], "timestamp": at(BASE, 0), "name": "alpha", "userId": self.user_a,
                                   "sessionId": self.s1, "tags": [self.tag_y, self.tag_x], "release": "r1",
                                   "version": "v1", "metadata": {"k": "v", "n": {"deep": True}},
                                   "input": {"q": 1}, "output": "o1", "public": True, "environment": e},
                  timestamp=at(BASE, 0)),
            event("trace-create", {"id": T[2], "timestamp": at(BASE, HOUR), "name": "beta", "userId": self.user_b,
                                   "sessionId": self.s1, "tags": [self.tag_x], "release": "r2", "version": "v2",
                                   "environment": e}, timestamp=at(BASE, HOUR)),
            event("trace-create", {"id": T[3], "timestamp": at(BASE, 2 * HOUR), "name": "alpha",
                                   "userId": self.user_a, "sessionId": self.s2, "tags": [self.tag_z],
                                   "release": "r1", "version": "v1", "environment": e},
                  timestamp=at(BASE, 2 * HOUR)),
            event("trace-create", {"id": T[4], "timestamp": at(BASE, 3 * HOUR), "name": "gamma", "environment": e},
                  timestamp=at(BASE, 3 * HOUR)),
            event("trace-create", {"id": T[5], "timestamp": at(BASE, 4 * HOUR), "name": "beta", "userId": self.user_c,
                                   "tags": [self.tag_x, self.tag_y, self.tag_z], "environment": e},
                  timestamp=at(BASE, 4 * HOUR)),
            event("span-create", {"id": self.span, "traceId": T[1], "name": "retrieve", "startTime": at(BASE, 0),
                                  "endTime": at(BASE, 1000), "version": "ov1", "input": {"query": "q"},
                                  "output": ["doc1", "doc2"], "metadata": {"k": 3}, "environment": e},
                  timestamp=at(BASE, 0)),
            event("generation-create", {"id": self.gen, "traceId": T[1], "parentObservationId": self.span,
                                        "name": "llm", "startTime": at(BASE, 100), "endTime": at(BASE, 900),
                                        "completionStartTime": at(BASE, 300), "model": "gpt-4o",
                                        "modelParameters": {"temperature": 0.2, "stream": False, "stop": ["x"]},
                                        "input": [{"role": "user", "content": "hi"}],
                                        "output": {"role": "assistant", "content": "hello"},
                                        "usageDetails": {"input": 100, "output": 50}, "level": "WARNING",
                                        "statusMessage": "slowish", "environment": e},
                  timestamp=at(BASE, 100)),
            event("event-create", {"id": self.ev, "traceId": T[1], "parentObservationId": self.gen, "name": "oops",
                                   "startTime": at(BASE, 500), "level": "ERROR", "statusMessage": "bad",
                                   "environment": e}, timestamp=at(BASE, 500)),
            event("score-create", {"id": self.sc["num"], "traceId": T[1], "name": "quality", "value": 0.9,
                                   "environment": e}, timestamp=at(BASE, 2000)),
            event("score-create", {"id": self.sc["cat"], "traceId": T[1], "observationId": self.gen,
                                   "name": "label", "value": "good", "dataType": "CATEGORICAL", "environment": e},
                  timestamp=at(BASE, 2001)),
            event("score-create", {"id": self.sc["bool"], "traceId": T[1], "name": "flag", "value": 0,
                                   "dataType": "BOOLEAN", "comment": "c", "metadata": {"a": "b"},
                                   "environment": e}, timestamp=at(BASE, 2002)),
            event("score-create", {"id": self.sc["sess"], "sessionId": self.s1, "name": "sess-score", "value": 2,
                                   "source": "EVAL", "environment": e}, timestamp=at(BASE, 2003)),
        ]
        api.ingest_ok(batch)


@pytest.fixture(scope="module")
def ds(loupe):
    return DS(Api(loupe.url))


def ids(items):
    return sorted(i["id"] for i in items)


def assert_meta(meta, page, limit, total):
    assert set(meta) >= META_KEYS, meta
    assert meta == {**meta, "page": page, "limit": limit, "totalItems": total,
                    "totalPages": -(-total // limit)}, meta


# ----------------------------------------------------------------------------- traces: shape


def _check_t1_core(t, ds):
    assert t["id"] == ds.t[1]
    assert t["timestamp"] == ms_iso(at(BASE, 0))
    assert t["name"] == "alpha"
    assert t["userId"] == ds.user_a
    assert t["sessionId"] == ds.s1
    assert t["release"] == "r1" and t["version"] == "v1"
    assert t["tags"] == sorted([ds.tag_x, ds.tag_y])
    assert t["public"] is True
    assert t["environment"] == ds.env
    assert t.get("externalId") is None
    assert t["projectId"] == PROJECT_ID
    assert t["bookmarked"] is False
    assert t["htmlPath"] == f"/project/{PROJECT_ID}/traces/{ds.t[1]}"
    assert ISO_MS.match(t["createdAt"]) and ISO_MS.match(t["updatedAt"]), (t["createdAt"], t["updatedAt"])


def test_trace_list_item_shape(api, ds):
    body = api.get_json("/api/public/traces", {"environment": ds.env})
    assert set(body) == {"data", "meta"}
    assert_meta(body["meta"], 1, 50, 5)
    t = by_id(body["data"])[ds.t[1]]
    assert set(t) >= TRACE_WITH_DETAILS_KEYS, TRACE_WITH_DETAILS_KEYS - set(t)
    _check_t1_core(t, ds)
    assert t["input"] == {"q": 1} and t["output"] == "o1"
    assert t["metadata"] == {"k": "v", "n": {"deep": True}}
    assert sorted(t["observations"]) == sorted([ds.span, ds.gen, ds.ev])
    assert sorted(t["scores"]) == sorted([ds.sc["num"], ds.sc["cat"], ds.sc["bool"]])
    assert t["latency"] == pytest.approx(1.0)
    assert t["totalCost"] == pytest.approx(100 * 2.5e-6 + 50 * 1e-5)
    t4 = by_id(body["data"])[ds.t[4]]
    assert t4["observations"] == [] and t4["scores"] == []
    assert t4["userId"] is None and t4["sessionId"] is None and t4["tags"] == []


def test_trace_detail_shape(api, ds):
    t = api.trace(ds.t[1])
    assert set(t) >= TRACE_WITH_DETAILS_KEYS
    _check_t1_core(t, ds)
    assert t["input"] == {"q": 1} and t["output"] == "o1"
    assert t["latency"] == pytest.approx(1.0)
    assert t["totalCost"] == pytest.approx(0.00075)
    obs = by_id(t["observations"])
    assert set(obs) == {ds.span, ds.gen, ds.ev}
    for o in obs.values():
        assert set(o) >= OBSERVATION_VIEW_KEYS, OBSERVATION_VIEW_KEYS - set(o)
    _check_generation_view(obs[ds.gen], ds)
    sc = by_id(t["scores"])
    assert set(sc) == {ds.sc["num"], ds.sc["cat"], ds.sc["bool"]}
    for s in sc.values():
        assert set(s) >= SCORE_V1_KEYS, SCORE_V1_KEYS - set(s)
        assert s["traceId"] == ds.t[1]
    assert sc[ds.sc["num"]]["value"] == 0.9 and sc[ds.sc["num"]]["dataType"] == "NUMERIC"
    assert sc[ds.sc["cat"]]["stringValue"] == "good" and sc[ds.sc["cat"]]["observationId"] == ds.gen
    assert sc[ds.sc["bool"]]["stringValue"] == "False" and sc[ds.sc["bool"]]["value"] == 0


def _check_generation_view(g, ds):
    expected = {
        "id": ds.gen, "traceId": ds.t[1], "projectId": PROJECT_ID, "type": "GENERATION", "name": "llm",
        "parentObservationId": ds.span, "environment": ds.env,
        "startTime": ms_iso(at(BASE, 100)), "endTime": ms_iso(at(BASE, 900)),
        "completionStartTime": ms_iso(at(BASE, 300)),
        "model": "gpt-4o", "modelParameters": {"temperature": 0.2, "stream": False, "stop": ["x"]},
        "input": [{"role": "user", "content": "hi"}], "output": {"role": "assistant", "content": "hello"},
        "version": None, "metadata": {}, "level": "WARNING", "statusMessage": "slowish",
        "usageDetails": {"input": 100, "output": 50, "total": 150},
        "promptTokens": 100, "completionTokens": 50, "totalTokens": 150,
        "modelId": "b9854a5c92dc496b997d99d20", "promptId": None,
    }
    for k, v in expected.items():
        assert g[k] == v, f"{k}: {g[k]!r} != {v!r}"
    assert (g["usage"]["input"], g["usage"]["output"], g["usage"]["total"]) == (100, 50, 150)
    assert g["costDetails"] == {"input": pytest.approx(2.5e-4), "output": pytest.approx(5e-4),
                                "total": pytest.approx(7.5e-4)}
    assert g["calculatedInputCost"] == pytest.approx(2.5e-4)
    assert g["calculatedOutputCost"] == pytest.approx(5e-4)
    assert g["calculatedTotalCost"] == pytest.approx(7.5e-4)
    assert g["inputPrice"] == pytest.approx(2.5e-6) and g["outputPrice"] == pytest.approx(1e-5)
    assert g["latency"] == pytest.approx(0.8)
    assert g["timeToFirstToken"] == pytest.approx(0.2)
    assert ISO_MS.match(g["createdAt"]) and ISO_MS.match(g["updatedAt"])


def test_observation_by_id_matches_trace_detail(api, ds):
    g = api.observation(ds.gen)
    assert set(g) >= OBSERVATION_VIEW_KEYS
    _check_generation_view(g, ds)
    s = api.observation(ds.span)
    assert (s["type"], s["name"], s["version"], s["input"], s["output"], s["metadata"]) == \
        ("SPAN", "retrieve", "ov1", {"query": "q"}, ["doc1", "doc2"], {"k": 3})
    assert s["parentObservationId"] is None and s["latency"] == pytest.approx(1.0)
    assert s["model"] is None and s["usageDetails"] == {} and s["costDetails"] == {}
    e = api.observation(ds.ev)
    assert (e["type"], e["level"], e["statusMessage"], e["parentObservationId"]) == \
        ("EVENT", "ERROR", "bad", ds.gen)
    assert e["endTime"] is None


def test_trace_not_found(api):
    r = api.get(f"/api/public/traces/{uid('missing')}")
    assert r.status_code == 404
    assert "message" in r.json()


def test_observation_not_found(api):
    r = api.get(f"/api/public/observations/{uid('missing')}")
    assert r.status_code == 404
    assert "message" in r.json()


# ----------------------------------------------------------------------------- traces: fields


def test_fields_core_excludes_groups(api, ds):
    body = api.get_json("/api/public/traces", {"environment": ds.env, "fields": "core"})
    t = by_id(body["data"])[ds.t[1]]
    _check_t1_core(t, ds)
    assert t["observations"] == [] and t["scores"] == []
    assert t["latency"] == -1 and t["totalCost"] == -1
    assert t.get("input") is None and t.get("output") is None


def test_fields_core_io_scores(api, ds):
    body = api.get_json("/api/public/traces", {"environment": ds.env, "fields": "core,io,scores"})
    t = by_id(body["data"])[ds.t[1]]
    assert t["input"] == {"q": 1} and t["output"] == "o1" and t["metadata"] == {"k": "v", "n": {"deep": True}}
    assert sorted(t["scores"]) == sorted([ds.sc["num"], ds.sc["cat"], ds.sc["bool"]])
    assert t["observations"] == []
    assert t["latency"] == -1 and t["totalCost"] == -1


def test_fields_observations_metrics(api, ds):
    body = api.get_json("/api/public/traces", {"environment": ds.env, "fields": "core,observations,metrics,bogus"})
    t = by_id(body["data"])[ds.t[1]]
    assert sorted(t["observations"]) == sorted([ds.span, ds.gen, ds.ev])
    assert t["scores"] == []
    assert t["latency"] == pytest.approx(1.0)
    assert t["totalCost"] == pytest.approx(0.00075)


def test_trace_detail_fields_core(api, ds):
    t = api.trace(ds.t[1], fields="core")
    _check_t1_core(t, ds)
    assert t["observations"] == [] and t["scores"] == []


# ----------------------------------------------------------------------------- traces: filters


@pytest.mark.parametrize("params,expected", [
    (lambda d: {"userId": d.user_a}, [1, 3]),
    (lambda d: {"name": "beta"}, [2, 5]),
    (lambda d: {"sessionId": d.s1}, [1, 2]),
    (lambda d: {"tags": d.tag_x}, [1, 2, 5]),
    (lambda d: {"tags": [d.tag_x, d.tag_y]}, [1, 5]),
    (lambda d: {"release": "r1"}, [1, 3]),
    (lambda d: {"version": "v2"}, [2]),
    (lambda d: {"fromTimestamp": ms_iso(at(BASE, HOUR))}, [2, 3, 4, 5]),
    (lambda d: {"toTimestamp": ms_iso(at(BASE, 2 * HOUR))}, [1, 2]),
    (lambda d: {"fromTimestamp": "2025-02-10T10:00:00+01:00", "toTimestamp": "2025-02-10T11:00:00.001Z"},
     [1, 2, 3]),
    (lambda d: {"userId": d.user_a, "name": "alpha", "sessionId": d.s2}, [3]),
    (lambda d: {"name": "nobody-has-this-name"}, []),
])
def test_trace_list_filters(api, ds, params, expected):
    p = {"environment": ds.env, "limit": 100, **params(ds)}
    body = api.get_json("/api/public/traces", p)
    assert ids(body["data"]) == sorted(ds.t[i] for i in expected), p
    assert body["meta"]["totalItems"] == len(expected)


def test_trace_list_environment_takes_many_values(api, ds):
    body = api.get_json("/api/public/traces", {"environment": [ds.env, ds.other_env], "limit": 100})
    assert ids(body["data"]) == sorted(ds.t.values())
    body = api.get_json("/api/public/traces", {"environment": ds.other_env})
    assert body["data"] == [] and body["meta"]["totalItems"] == 0


def test_trace_list_bad_timestamp_is_400(api):
    assert api.get("/api/public/traces", params={"fromTimestamp": "last tuesday"}).status_code == 400


# ----------------------------------------------------------------------------- traces: order + pagination


def test_trace_order_by(api, ds):
    def order(ob):
        return [d["id"] for d in api.get_json("/api/public/traces", {"environment": ds.env, "orderBy": ob})["data"]]

    asc = [ds.t[i] for i in range(1, 6)]
    assert order("timestamp.asc") == asc
    assert order("timestamp.desc") == asc[::-1]
    names = [d["name"] for d in api.get_json("/api/public/traces", {"environment": ds.env,
                                                                    "orderBy": "name.asc"})["data"]]
    assert names == ["alpha", "alpha", "beta", "beta", "gamma"]
    names = [d["name"] for d in api.get_json("/api/public/traces", {"environment": ds.env,
                                                                    "orderBy": "name.desc"})["data"]]
    assert names == ["gamma", "beta", "beta", "alpha", "alpha"]


@pytest.mark.parametrize("bad", ["timestamp.sideways", "nosuchcolumn.asc", "timestamp", "input.asc"])
def test_trace_order_by_invalid_is_400(api, bad):
    r = api.get("/api/public/traces", params={"orderBy": bad})
    assert r.status_code == 400, f"{bad}: {r.status_code} {r.text[:200]}"


def test_trace_pagination(api, ds):
    seen = []
    for page in (1, 2, 3):
        body = api.get_json("/api/public/traces", {"environment": ds.env, "limit": 2, "page": page,
                                                   "orderBy": "timestamp.asc"})
        assert_meta(body["meta"], page, 2, 5)
        seen += [d["id"] for d in body["data"]]
        assert len(body["data"]) == (2 if page < 3 else 1)
    assert seen == [ds.t[i] for i in range(1, 6)]
    body = api.get_json("/api/public/traces", {"environment": ds.env, "limit": 2, "page": 4})
    assert body["data"] == []
    assert_meta(body["meta"], 4, 2, 5)


def test_pagination_defaults_and_empty_strings(api, ds):
    body = api.get_json("/api/public/traces", {"environment": ds.env, "limit": "", "page": ""})
    assert_meta(body["meta"], 1, 50, 5)


@pytest.mark.parametrize("path", ["/api/public/traces", "/api/public/observations", "/api/public/sessions",
                                  "/api/public/v2/scores"])
@pytest.mark.parametrize("params", [{"limit": 101}, {"limit": 0}, {"page": 0}, {"limit": "ten"}, {"page": -1}])
def test_pagination_bounds_are_400(api, path, params):
    r = api.get(path, params=params)
    assert r.status_code == 400, f"{path} {params}: {r.status_code} {r.text[:200]}"


def test_limit_100_is_allowed(api, ds):
    body = api.get_json("/api/public/traces", {"environment": ds.env, "limit": 100})
    assert_meta(body["meta"], 1, 100, 5)


# ----------------------------------------------------------------------------- observations list


@pytest.mark.parametrize("params,expected", [
    (lambda d: {"traceId": d.t[1]}, ["span", "gen", "ev"]),
    (lambda d: {"traceId": d.t[1], "type": "GENERATION"}, ["gen"]),
    (lambda d: {"name": "retrieve"}, ["span"]),
    (lambda d: {"level": "ERROR"}, ["ev"]),
    (lambda d: {"level": "WARNING"}, ["gen"]),
    (lambda d: {"parentObservationId": d.span}, ["gen"]),
    (lambda d: {"userId": d.user_a}, ["span", "gen", "ev"]),
    (lambda d: {"userId": d.user_b}, []),
    (lambda d: {"version": "ov1"}, ["span"]),
    (lambda d: {"fromStartTime": ms_iso(at(BASE, 200))}, ["ev"]),
    (lambda d: {"toStartTime": ms_iso(at(BASE, 500))}, ["span", "gen"]),
    (lambda d: {"fromStartTime": ms_iso(at(BASE, 100)), "toStartTime": ms_iso(at(BASE, 101))}, ["gen"]),
    (lambda d: {}, ["span", "gen", "ev"]),
])
def test_observation_list_filters(api, ds, params, expected):
    p = {"environment": ds.env, "limit": 100, **params(ds)}
    body = api.get_json("/api/public/observations", p)
    assert ids(body["data"]) == sorted(getattr(ds, k) for k in expected), p
    assert_meta(body["meta"], 1, 100, len(expected))


def test_observation_list_items_are_full_views(api, ds):
    body = api.get_json("/api/public/observations", {"traceId": ds.t[1], "type": "GENERATION"})
    assert set(body) == {"data", "meta"}
    assert len(body["data"]) == 1
    assert set(body["data"][0]) >= OBSERVATION_VIEW_KEYS
    _check_generation_view(body["data"][0], ds)


def test_observation_list_pagination(api, ds):
    got = []
    for page in (1, 2):
        body = api.get_json("/api/public/observations", {"environment": ds.env, "limit": 2, "page": page})
        assert_meta(body["meta"], page, 2, 3)
        got += [o["id"] for o in body["data"]]
    assert sorted(got) == sorted([ds.span, ds.gen, ds.ev])


def test_observation_list_bad_type_or_level_is_400(api):
    assert api.get("/api/public/observations", params={"level": "LOUD"}).status_code == 400


# ----------------------------------------------------------------------------- sessions


def test_session_list(api, ds):
    body = api.get_json("/api/public/sessions", {"environment": ds.env})
    assert set(body) == {"data", "meta"}
    assert_meta(body["meta"], 1, 50, 2)
    sessions = by_id(body["data"])
    assert set(sessions) == {ds.s1, ds.s2}
    for s in sessions.values():
        assert set(s) >= {"id", "createdAt", "projectId", "environment"}
        assert s["projectId"] == PROJECT_ID
        assert s["environment"] == ds.env
        assert ISO_MS.match(s["createdAt"])


def test_session_list_pagination_and_time_filter(api, ds):
    body = api.get_json("/api/public/sessions", {"environment": ds.env, "limit": 1, "page": 2})
    assert_meta(body["meta"], 2, 1, 2)
    assert len(body["data"]) == 1
    # createdAt is the server's clock: a window in the far past holds none of them
    body = api.get_json("/api/public/sessions", {"environment": ds.env, "toTimestamp": "2001-01-01T00:00:00Z"})
    assert body["data"] == []
    body = api.get_json("/api/public/sessions", {"environment": ds.env, "fromTimestamp": "2001-01-01T00:00:00Z"})
    assert len(body["data"]) == 2


def test_session_detail(api, ds):
    s = api.get_json(f"/api/public/sessions/{ds.s1}")
    assert s["id"] == ds.s1 and s["projectId"] == PROJECT_ID and s["environment"] == ds.env
    assert ISO_MS.match(s["createdAt"])
    traces = by_id(s["traces"])
    assert set(traces) == {ds.t[1], ds.t[2]}
    t1 = traces[ds.t[1]]
    assert set(t1) >= TRACE_KEYS
    assert (t1["name"], t1["userId"], t1["sessionId"], t1["timestamp"]) == \
        ("alpha", ds.user_a, ds.s1, ms_iso(at(BASE, 0)))
    assert t1["input"] == {"q": 1} and t1["output"] == "o1"
    assert traces[ds.t[2]]["name"] == "beta"


def test_session_not_found(api):
    assert api.get(f"/api/public/sessions/{uid('nosess')}").status_code == 404


# ----------------------------------------------------------------------------- scores v2


def test_score_list_shape(api, ds):
    body = api.get_json("/api/public/v2/scores", {"traceId": ds.t[1]})
    assert set(body) == {"data", "meta"}
    assert_meta(body["meta"], 1, 50, 3)
    sc = by_id(body["data"])
    assert set(sc) == {ds.sc["num"], ds.sc["cat"], ds.sc["bool"]}
    for s in sc.values():
        assert set(s) >= SCORE_KEYS, SCORE_KEYS - set(s)
        assert s["trace"] == {"userId": ds.user_a, "tags": sorted([ds.tag_x, ds.tag_y]), "environment": ds.env,
                              "sessionId": ds.s1}
    num = sc[ds.sc["num"]]
    expected = {"id": ds.sc["num"], "traceId": ds.t[1], "sessionId": None, "observationId": None,
                "datasetRunId": None, "name": "quality", "source": "API", "timestamp": ms_iso(at(BASE, 2000)),
                "authorUserId": None, "comment": None, "configId": None, "queueId": None, "environment": ds.env,
                "dataType": "NUMERIC", "value": 0.9}
    for k, v in expected.items():
        assert num[k] == v, f"{k}: {num[k]!r} != {v!r}"
    assert num.get("stringValue") is None
    assert num["metadata"] in ({}, None)
    assert ISO_MS.match(num["createdAt"]) and ISO_MS.match(num["updatedAt"])
    cat = sc[ds.sc["cat"]]
    assert (cat["dataType"], cat["stringValue"], cat["value"], cat["observationId"]) == \
        ("CATEGORICAL", "good", 0, ds.gen)
    b = sc[ds.sc["bool"]]
    assert (b["dataType"], b["value"], b["stringValue"], b["comment"], b["metadata"]) == \
        ("BOOLEAN", 0, "False", "c", {"a": "b"})


def test_score_by_id(api, ds):
    s = api.score(ds.sc["sess"])
    assert set(s) >= SCORE_KEYS
    assert (s["traceId"], s["sessionId"], s["name"], s["value"], s["source"], s["dataType"]) == \
        (None, ds.s1, "sess-score", 2, "EVAL", "NUMERIC")
    assert api.get(f"/api/public/v2/scores/{uid('nosuchscore')}").status_code == 404


@pytest.mark.parametrize("params,expected", [
    (lambda d: {"name": "quality"}, ["num"]),
    (lambda d: {"dataType": "BOOLEAN"}, ["bool"]),
    (lambda d: {"observationId": d.gen}, ["cat"]),
    (lambda d: {"sessionId": d.s1}, ["sess"]),
    (lambda d: {"traceId": d.t[1]}, ["num", "cat", "bool"]),
    (lambda d: {"scoreIds": f"{d.sc['num']},{d.sc['bool']}"}, ["num", "bool"]),
    (lambda d: {"source": "EVAL"}, ["sess"]),
    (lambda d: {"source": "API"}, ["num", "cat", "bool"]),
    (lambda d: {"operator": ">=", "value": 1}, ["sess"]),
    (lambda d: {"operator": "<", "value": 0.95, "dataType": "NUMERIC"}, ["num"]),
    (lambda d: {"userId": d.user_a}, ["num", "cat", "bool"]),
    (lambda d: {"traceTags": d.tag_y}, ["num", "cat", "bool"]),
    (lambda d: {"traceTags": d.tag_z}, []),
    (lambda d: {"fromTimestamp": ms_iso(at(BASE, 2002))}, ["bool", "sess"]),
    (lambda d: {"toTimestamp": ms_iso(at(BASE, 2001))}, ["num"]),
    (lambda d: {}, ["num", "cat", "bool", "sess"]),
])
def test_score_list_filters(api, ds, params, expected):
    p = {"environment": ds.env, "limit": 100, **params(ds)}
    body = api.get_json("/api/public/v2/scores", p)
    assert ids(body["data"]) == sorted(ds.sc[k] for k in expected), p
    assert body["meta"]["totalItems"] == len(expected)


def test_score_list_fields_score_only(api, ds):
    body = api.get_json("/api/public/v2/scores", {"traceId": ds.t[1], "fields": "score"})
    assert len(body["data"]) == 3
    for s in body["data"]:
        assert s.get("trace") is None


def test_score_list_pagination(api, ds):
    got = []
    for page in (1, 2, 3):
        body = api.get_json("/api/public/v2/scores", {"environment": ds.env, "limit": 2, "page": page})
        assert_meta(body["meta"], page, 2, 4)
        got += [s["id"] for s in body["data"]]
    assert sorted(got) == sorted(ds.sc.values())

"""Datasets and experiments over HTTP against the real binary: datasets (v2 and the v1
routes), dataset items (upsert by id, versions, filters, delete, the dataset's JSON
schemas enforced on them), dataset runs and run items (linking traces and observations),
run deletion, authentication and bad input. Shapes and status codes follow the Langfuse
API contract §2.4."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from integration.harness import basic_auth, event, iso, now_utc, quote, uid

DATASET_KEYS = ["id", "name", "description", "metadata", "inputSchema", "expectedOutputSchema", "projectId",
                "createdAt", "updatedAt"]
ITEM_KEYS = ["id", "status", "input", "expectedOutput", "metadata", "sourceTraceId", "sourceObservationId",
             "datasetId", "datasetName", "createdAt", "updatedAt", "mediaReferences"]
RUN_KEYS = ["id", "name", "description", "metadata", "datasetId", "datasetName", "createdAt", "updatedAt"]
RUN_ITEM_KEYS = ["id", "datasetRunId", "datasetRunName", "datasetItemId", "traceId", "observationId",
                 "createdAt", "updatedAt"]


def create_dataset(api, name, expect=200, **fields):
    r = api.post("/api/public/v2/datasets", json={"name": name, **fields})
    assert r.status_code == expect, r.text
    return r.json()


def create_item(api, dataset, expect=200, **fields):
    r = api.post("/api/public/dataset-items", json={"datasetName": dataset, **fields})
    assert r.status_code == expect, r.text
    return r.json()


def link(api, expect=200, **fields):
    r = api.post("/api/public/dataset-run-items", json=fields)
    assert r.status_code == expect, r.text
    return r.json()


def assert_error(r, status, *fragments):
    assert r.status_code == status, r.text
    body = r.json()
    for f in fragments:
        assert f in body["message"], body
    return body


# --------------------------------------------------------------------------- datasets


def test_create_dataset_upserts_by_name(api, loupe):
    name = uid("ds")
    d = create_dataset(api, name, description="first", metadata={"k": "v"})
    assert list(d) == DATASET_KEYS
    assert (d["name"], d["description"], d["metadata"], d["inputSchema"], d["expectedOutputSchema"]) == \
        (name, "first", {"k": "v"}, None, None)
    assert d["projectId"] == "proj-loupe-test" and d["createdAt"].endswith("Z")

    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    again = create_dataset(api, name, inputSchema=schema)
    assert again["id"] == d["id"]
    assert (again["description"], again["metadata"], again["inputSchema"]) == ("first", {"k": "v"}, schema)
    assert api.get_json(f"/api/public/v2/datasets/{name}") == again

    plain = create_dataset(api, uid("ds"))
    assert (plain["description"], plain["metadata"]) == (None, None)


def test_get_missing_dataset_is_404(api):
    r = api.get(f"/api/public/v2/datasets/{uid('nope')}")
    assert r.status_code == 404
    assert r.json() == {"message": "Dataset not found", "error": "LangfuseNotFoundError"}
    assert api.get(f"/api/public/datasets/{uid('nope')}").status_code == 404


def test_list_datasets_newest_first(api, server_factory):
    from integration.harness import Api
    own = Api(server_factory().url)  # a fresh project keeps the totals exact
    for n in ("a", "b", "c"):
        create_dataset(own, n)
        time.sleep(0.005)
    body = own.get_json("/api/public/v2/datasets", {"limit": 2})
    assert body["meta"] == {"page": 1, "limit": 2, "totalItems": 3, "totalPages": 2}
    assert [d["name"] for d in body["data"]] == ["c", "b"]
    assert [d["name"] for d in own.get_json("/api/public/v2/datasets", {"page": 2, "limit": 2})["data"]] == ["a"]
    assert own.get_json("/api/public/v2/datasets")["meta"]["limit"] == 50


@pytest.mark.parametrize("body, fragment", [
    ({}, "name"), ({"name": 3}, "name"), ({"name": ""}, "name"),
    ({"name": "x", "description": 5}, "description"),
    ({"name": "x", "inputSchema": "not a schema"}, "inputSchema"),
    ({"name": "x", "expectedOutputSchema": [1]}, "expectedOutputSchema"),
])
def test_create_dataset_validation(api, body, fragment):
    assert_error(api.post("/api/public/v2/datasets", json=body), 400, fragment)


def test_v1_dataset_routes(api):
    name = uid("v1")
    r = api.post("/api/public/datasets", json={"name": name, "description": "legacy"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert list(d) == DATASET_KEYS + ["items", "runs"] and (d["items"], d["runs"]) == ([], [])

    a = create_item(api, name, id=uid("a"), input="a")
    archived = create_item(api, name, id=uid("arch"), input="x", status="ARCHIVED")
    link(api, runName="run-1", datasetItemId=a["id"], traceId=uid("t"))

    got = api.get_json(f"/api/public/datasets/{name}")
    assert [i["id"] for i in got["items"]] == [a["id"]]  # active items only
    assert list(got["items"][0]) == ITEM_KEYS
    assert got["runs"] == ["run-1"]

    listed = api.get_json("/api/public/datasets", {"limit": 100})
    mine = next(x for x in listed["data"] if x["name"] == name)
    assert sorted(mine["items"]) == sorted([a["id"], archived["id"]]) and mine["runs"] == ["run-1"]
    assert api.get("/api/public/datasets", params={"page": 0}).status_code == 200


# --------------------------------------------------------------------------- items


def test_items_upsert_by_id(api):
    ds = uid("items")
    d = create_dataset(api, ds)
    generated = create_item(api, ds, input={"q": "2+2"}, expectedOutput={"a": "4"}, metadata={"src": "t"})
    assert list(generated) == ITEM_KEYS
    assert len(generated["id"]) == 36
    assert (generated["status"], generated["datasetId"], generated["datasetName"]) == ("ACTIVE", d["id"], ds)
    assert (generated["sourceTraceId"], generated["sourceObservationId"], generated["mediaReferences"]) == \
        (None, None, [])

    item_id = uid("item")
    first = create_item(api, ds, id=item_id, input={"q": "3+3"})
    assert (first["expectedOutput"], first["metadata"]) == (None, None)
    time.sleep(0.005)
    second = create_item(api, ds, id=item_id, expectedOutput={"a": "6"}, status="ARCHIVED", input=None)
    assert second["input"] == {"q": "3+3"}  # null keeps the stored value
    assert (second["expectedOutput"], second["status"]) == ({"a": "6"}, "ARCHIVED")
    assert second["createdAt"] == first["createdAt"] and second["updatedAt"] > first["updatedAt"]
    assert api.get_json(f"/api/public/dataset-items/{item_id}") == second


def test_item_errors(api):
    ds, other = uid("ds"), uid("other")
    create_dataset(api, ds)
    create_dataset(api, other)
    item_id = uid("taken")
    create_item(api, ds, id=item_id)
    assert_error(api.post("/api/public/dataset-items", json={"datasetName": other, "id": item_id}), 404,
                 f"already exists in a dataset other than {other}")
    assert_error(api.post("/api/public/dataset-items", json={"datasetName": uid("nope")}), 404, "Dataset not found")
    assert_error(api.get(f"/api/public/dataset-items/{uid('nope')}"), 404, "Dataset item not found")


@pytest.mark.parametrize("body, fragment", [
    ({}, "datasetName"), ({"datasetName": 1}, "datasetName"),
    ({"datasetName": "d", "status": "DONE"}, "status"), ({"datasetName": "d", "id": ""}, "id"),
    ({"datasetName": "d", "id": "x" * 256}, "id"), ({"datasetName": "d", "sourceTraceId": 5}, "sourceTraceId"),
])
def test_item_validation(api, body, fragment):
    assert_error(api.post("/api/public/dataset-items", json=body), 400, fragment)


def test_list_items_filters_paging_and_versions(api):
    ds = uid("list")
    create_dataset(api, ds)
    trace = uid("src")
    a = create_item(api, ds, id=uid("a"), input="a-v1", sourceTraceId=trace, sourceObservationId="obs-1")
    time.sleep(0.005)
    b = create_item(api, ds, id=uid("b"), input="b")
    time.sleep(0.005)
    between = iso(now_utc())
    time.sleep(0.005)
    create_item(api, ds, id=a["id"], input="a-v2")

    body = api.get_json("/api/public/dataset-items", {"datasetName": ds})
    assert body["meta"] == {"page": 1, "limit": 50, "totalItems": 2, "totalPages": 1}
    assert [i["id"] for i in body["data"]] == [b["id"], a["id"]]  # newest first
    assert body["data"][1]["input"] == "a-v2"

    old = api.get_json("/api/public/dataset-items", {"datasetName": ds, "version": between})
    assert {i["id"]: i["input"] for i in old["data"]} == {a["id"]: "a-v1", b["id"]: "b"}

    assert [i["id"] for i in api.get_json("/api/public/dataset-items", {"sourceTraceId": trace})["data"]] == [a["id"]]
    assert api.get_json("/api/public/dataset-items", {"sourceObservationId": "obs-1",
                                                      "datasetName": ds})["meta"]["totalItems"] == 1
    page2 = api.get_json("/api/public/dataset-items", {"datasetName": ds, "limit": 1, "page": 2})
    assert [i["id"] for i in page2["data"]] == [a["id"]] and page2["meta"]["totalPages"] == 2

    assert_error(api.get("/api/public/dataset-items", params={"version": between}), 400, "datasetName")
    assert_error(api.get("/api/public/dataset-items", params={"datasetName": ds, "version": "yesterday"}), 400,
                 "version")
    assert_error(api.get("/api/public/dataset-items", params={"limit": 500}), 400, "limit")
    assert_error(api.get("/api/public/dataset-items", params={"datasetName": uid("nope")}), 404, "Dataset not found")


def test_delete_item(api):
    ds = uid("del")
    create_dataset(api, ds)
    item = create_item(api, ds, id=uid("gone"))
    r = api.delete(f"/api/public/dataset-items/{item['id']}")
    assert r.status_code == 200 and r.json() == {"message": "Dataset item successfully deleted"}
    assert api.get(f"/api/public/dataset-items/{item['id']}").status_code == 404
    assert api.get_json("/api/public/dataset-items", {"datasetName": ds})["data"] == []
    assert_error(api.delete(f"/api/public/dataset-items/{item['id']}"), 404, "Dataset item not found")


def test_encoded_dataset_names(api):
    name = f"{uid('folder')}/with space"
    create_dataset(api, name)
    assert api.get_json(f"/api/public/v2/datasets/{quote(name)}")["name"] == name
    create_item(api, name, id=uid("i"))
    assert api.get_json("/api/public/dataset-items", {"datasetName": name})["meta"]["totalItems"] == 1


# --------------------------------------------------------------------------- item schemas

QUESTION_SCHEMA = {"type": "object", "required": ["question"],
                   "properties": {"question": {"type": "string", "minLength": 3},
                                  "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
                   "additionalProperties": False}
ANSWER_SCHEMA = {"type": "string", "pattern": "^[A-Z]"}


def test_items_must_match_the_dataset_schemas(api):
    ds = uid("schema")
    create_dataset(api, ds, inputSchema=QUESTION_SCHEMA, expectedOutputSchema=ANSWER_SCHEMA)
    ok = create_item(api, ds, id=uid("ok"), input={"question": "Capital of France?", "tags": ["geo"]},
                     expectedOutput="Paris")
    assert ok["input"]["question"] == "Capital of France?"
    for body, fragments in [
        ({"input": {"tags": []}, "expectedOutput": "Paris"},
         ["input does not match the inputSchema of dataset '" + ds + "'", "/: Missing required property 'question'"]),
        ({"input": {"question": 42}, "expectedOutput": "Paris"},
         ["input does not match", "/question: Value type not permitted by 'type' constraint"]),
        ({"input": {"question": "Why?", "tags": ["a", "a"]}, "expectedOutput": "Paris"},
         ["/tags: Array items are not unique"]),
        ({"input": {"question": "Why?", "extra": 1}, "expectedOutput": "Paris"}, ["input does not match"]),
        ({"input": {"question": "Why?"}, "expectedOutput": "paris"},
         ["expectedOutput does not match the expectedOutputSchema", "/: String does not match the pattern '^[A-Z]'"]),
        # An absent expected output is null, which the schema does not allow.
        ({"input": {"question": "Why?"}}, ["expectedOutput does not match", "/: Value type not permitted"]),
    ]:
        r = api.post("/api/public/dataset-items", json={"datasetName": ds, **body})
        assert_error(r, 400, *fragments)
    assert len(api.get_json("/api/public/dataset-items", {"datasetName": ds})["data"]) == 1


def test_upserts_are_checked_as_the_item_would_be_stored(api):
    ds = uid("schema-upsert")
    create_dataset(api, ds, inputSchema=QUESTION_SCHEMA, expectedOutputSchema=ANSWER_SCHEMA)
    item_id = uid("item")
    create_item(api, ds, id=item_id, input={"question": "Capital of Peru?"}, expectedOutput="Lima")
    # Fields left out keep their valid stored values.
    archived = create_item(api, ds, id=item_id, status="ARCHIVED")
    assert (archived["status"], archived["expectedOutput"]) == ("ARCHIVED", "Lima")
    assert_error(api.post("/api/public/dataset-items", json={"datasetName": ds, "id": item_id, "input": "?"}),
                 400, "input does not match")
    stored = api.get_json(f"/api/public/dataset-items/{item_id}")
    assert (stored["input"], stored["status"]) == ({"question": "Capital of Peru?"}, "ARCHIVED")


def test_schema_changes_must_fit_the_existing_items(api):
    ds = uid("schema-change")
    create_dataset(api, ds)
    item_id = uid("free")
    create_item(api, ds, id=item_id, input={"q": "free form"}, expectedOutput=7)
    body = assert_error(api.post("/api/public/v2/datasets", json={"name": ds, "expectedOutputSchema": ANSWER_SCHEMA}),
                        400, "expectedOutputSchema: dataset item " + item_id + " does not match it",
                        "Value type not permitted")
    assert body["error"] == "InvalidRequestError"
    assert api.get_json(f"/api/public/v2/datasets/{ds}")["expectedOutputSchema"] is None
    # A schema the items satisfy is stored, and enforced from then on.
    create_dataset(api, ds, expectedOutputSchema={"type": "integer"})
    assert_error(api.post("/api/public/dataset-items", json={"datasetName": ds, "expectedOutput": "seven"}),
                 400, "expectedOutput does not match")
    assert create_item(api, ds, expectedOutput=8)["expectedOutput"] == 8


@pytest.mark.parametrize("schema, fragment", [
    ({"type": "bogus"}, "bogus"),
    ({"minLength": -1}, "minLength"),
    ({"prefixItems": [{"type": "string"}]}, "unknown keyword 'prefixItems'"),
    ({"patternProperties": {"^a": {"type": "string"}}}, "patternProperties is not supported"),
    ({"pattern": "(?<=a)b"}, "lookaround"),
    ({"$ref": "https://example.com/schema.json"}, "$ref must point into this document"),
    ({"$ref": "#"}, "$ref cycle"),
    ({"$schema": "https://json-schema.org/draft/2020-12/schema"}, "draft-07"),
    ({"description": "x" * 10001}, "longer than 10000 characters"),
])
def test_invalid_schemas_are_refused(api, schema, fragment):
    for key in ("inputSchema", "expectedOutputSchema"):
        r = api.post("/api/public/v2/datasets", json={"name": uid("bad-schema"), key: schema})
        assert_error(r, 400, f"{key}: Must be a valid JSON Schema", fragment)


def test_schemas_are_safe_on_large_values(api):
    ds = uid("schema-large")
    create_dataset(api, ds, inputSchema={"type": "string", "pattern": "^(a|aa)*$"},
                   expectedOutputSchema={"type": "array", "uniqueItems": True})
    long_text = "a" * 200_000  # std::regex would overflow the stack on this, or backtrack for ever
    item = create_item(api, ds, input=long_text, expectedOutput=list(range(100_000)))
    assert len(item["input"]) == 200_000
    assert_error(api.post("/api/public/dataset-items", json={"datasetName": ds, "input": long_text + "b",
                                                             "expectedOutput": [1]}), 400, "pattern")


# --------------------------------------------------------------------------- runs


def test_run_items_link_traces_and_create_the_run(api):
    ds = uid("exp")
    d = create_dataset(api, ds)
    i1 = create_item(api, ds, id=uid("i1"), input=1)
    i2 = create_item(api, ds, id=uid("i2"), input=2)
    t1 = uid("trace")
    ri = link(api, runName="run-a", runDescription="first run", metadata={"model": "gpt-4o"},
              datasetItemId=i1["id"], traceId=t1)
    assert list(ri) == RUN_ITEM_KEYS
    assert (ri["datasetRunName"], ri["datasetItemId"], ri["traceId"], ri["observationId"]) == \
        ("run-a", i1["id"], t1, None)
    ri2 = link(api, runName="run-a", runDescription="ignored", datasetItemId=i2["id"], traceId=uid("t"),
               observationId="obs-x")
    assert ri2["datasetRunId"] == ri["datasetRunId"] and ri2["observationId"] == "obs-x"

    run = api.get_json(f"/api/public/datasets/{ds}/runs/run-a")
    assert list(run) == RUN_KEYS + ["datasetRunItems"]
    assert (run["id"], run["description"], run["metadata"], run["datasetId"], run["datasetName"]) == \
        (ri["datasetRunId"], "first run", {"model": "gpt-4o"}, d["id"], ds)
    assert [x["id"] for x in run["datasetRunItems"]] == [ri["id"], ri2["id"]]

    runs = api.get_json(f"/api/public/datasets/{ds}/runs")
    assert runs["meta"]["totalItems"] == 1 and list(runs["data"][0]) == RUN_KEYS

    items = api.get_json("/api/public/dataset-run-items", {"datasetId": d["id"], "runName": "run-a", "limit": 1})
    assert items["meta"] == {"page": 1, "limit": 1, "totalItems": 2, "totalPages": 2}
    assert list(items["data"][0]) == RUN_ITEM_KEYS


def test_run_item_with_only_an_observation_takes_its_trace(api):
    ds = uid("obs")
    create_dataset(api, ds)
    item = create_item(api, ds, id=uid("i"))
    trace_id, obs_id = uid("trace"), uid("span")
    api.ingest_ok([event("trace-create", {"id": trace_id, "name": "exp"}),
                   event("span-create", {"id": obs_id, "traceId": trace_id, "name": "step",
                                         "startTime": iso(now_utc())})])
    ri = link(api, runName="r", datasetItemId=item["id"], observationId=obs_id)
    assert (ri["traceId"], ri["observationId"]) == (trace_id, obs_id)
    assert_error(api.post("/api/public/dataset-run-items",
                          json={"runName": "r", "datasetItemId": item["id"], "observationId": uid("nope")}),
                 404, "Observation not found")


def test_run_item_errors(api):
    ds = uid("rerr")
    create_dataset(api, ds)
    active = create_item(api, ds, id=uid("ok"))
    archived = create_item(api, ds, id=uid("arch"), status="ARCHIVED")
    post = lambda body: api.post("/api/public/dataset-run-items", json=body)  # noqa: E731
    assert_error(post({"runName": "r", "datasetItemId": archived["id"], "traceId": "t"}), 404,
                 "Dataset item not found")
    assert_error(post({"runName": "r", "datasetItemId": uid("nope"), "traceId": "t"}), 404, "Dataset item not found")
    assert_error(post({"runName": "r", "datasetItemId": active["id"]}), 400, "observationId or traceId")
    assert_error(post({"runName": "r", "datasetItemId": active["id"], "traceId": "t", "extra": 1}), 400,
                 "Unrecognized key")
    assert_error(post({"datasetItemId": active["id"], "traceId": "t"}), 400, "runName")
    assert_error(post({"runName": "r", "traceId": "t"}), 400, "datasetItemId")
    assert_error(post({"runName": "r", "datasetItemId": active["id"], "traceId": 5}), 400, "traceId")
    assert_error(post({"runName": "r", "datasetItemId": active["id"], "traceId": "t", "datasetVersion": "x"}),
                 400, "datasetVersion")
    # Nothing was created by the failures.
    assert api.get(f"/api/public/datasets/{ds}/runs/r").status_code == 404


def test_run_item_dataset_version_and_created_at(api):
    ds = uid("ver")
    create_dataset(api, ds)
    item = create_item(api, ds, id=uid("i"), status="ARCHIVED")
    time.sleep(0.005)
    archived_then = iso(now_utc())
    time.sleep(0.005)
    create_item(api, ds, id=item["id"], status="ACTIVE")
    assert_error(api.post("/api/public/dataset-run-items",
                          json={"runName": "r", "datasetItemId": item["id"], "traceId": "t",
                                "datasetVersion": archived_then}), 404, "Dataset item not found")
    version = iso(now_utc())
    created = "2025-01-02T03:04:05.678Z"
    ri = link(api, runName="r", datasetItemId=item["id"], traceId="t", datasetVersion=version,
              metadata={"k": 1}, createdAt=created)
    assert ri["createdAt"] == created
    run = api.get_json(f"/api/public/datasets/{ds}/runs/r")
    assert run["createdAt"] == created
    assert run["metadata"]["k"] == 1
    assert dt.datetime.fromisoformat(run["metadata"]["dataset_version"].replace("Z", "+00:00"))


def test_run_lookup_errors(api):
    ds = uid("runs")
    d = create_dataset(api, ds)
    assert_error(api.get(f"/api/public/datasets/{ds}/runs/nope"), 404, "Dataset run not found")
    assert_error(api.get(f"/api/public/datasets/{uid('nods')}/runs"), 404, "Dataset not found")
    assert_error(api.get("/api/public/dataset-run-items", params={"datasetId": d["id"], "runName": "nope"}), 404,
                 "Dataset run not found")
    assert_error(api.get("/api/public/dataset-run-items", params={"runName": "nope"}), 400, "datasetId")
    assert_error(api.get("/api/public/dataset-run-items", params={"datasetId": d["id"]}), 400, "runName")
    assert_error(api.get(f"/api/public/datasets/{ds}/runs", params={"page": -1}), 400, "page")


def test_delete_run(api):
    ds = uid("drun")
    d = create_dataset(api, ds)
    item = create_item(api, ds, id=uid("i"))
    link(api, runName="keep", datasetItemId=item["id"], traceId="t1")
    link(api, runName="drop me", datasetItemId=item["id"], traceId="t2")
    r = api.delete(f"/api/public/datasets/{ds}/runs/{quote('drop me')}")
    assert r.status_code == 200 and r.json() == {"message": "Dataset run successfully deleted"}
    assert api.get(f"/api/public/datasets/{ds}/runs/{quote('drop me')}").status_code == 404
    assert api.get("/api/public/dataset-run-items",
                   params={"datasetId": d["id"], "runName": "drop me"}).status_code == 404
    assert [x["name"] for x in api.get_json(f"/api/public/datasets/{ds}/runs")["data"]] == ["keep"]
    assert_error(api.delete(f"/api/public/datasets/{ds}/runs/{quote('drop me')}"), 404, "Dataset run not found")
    # Deleting an item removes its run items from the runs.
    api.delete(f"/api/public/dataset-items/{item['id']}")
    assert api.get_json(f"/api/public/datasets/{ds}/runs/keep")["datasetRunItems"] == []


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize("method, path", [
    ("POST", "/api/public/v2/datasets"), ("GET", "/api/public/v2/datasets"), ("GET", "/api/public/v2/datasets/x"),
    ("POST", "/api/public/datasets"), ("GET", "/api/public/datasets"), ("GET", "/api/public/datasets/x"),
    ("POST", "/api/public/dataset-items"), ("GET", "/api/public/dataset-items"),
    ("GET", "/api/public/dataset-items/x"), ("DELETE", "/api/public/dataset-items/x"),
    ("POST", "/api/public/dataset-run-items"), ("GET", "/api/public/dataset-run-items"),
    ("GET", "/api/public/datasets/x/runs"), ("GET", "/api/public/datasets/x/runs/y"),
    ("DELETE", "/api/public/datasets/x/runs/y"),
])
def test_dataset_routes_need_a_project_key(api, method, path):
    assert api.request(method, path, auth=False, json={}).status_code == 401
    assert api.request(method, path, auth=basic_auth("pk-lf-test", "sk-lf-nope"), json={}).status_code == 401
    assert api.request(method, path, auth="Bearer pk-lf-test", json={}).status_code == 403


def test_bad_json_bodies(api):
    for path in ("/api/public/v2/datasets", "/api/public/dataset-items", "/api/public/dataset-run-items",
                 "/api/public/datasets"):
        assert_error(api.post(path, data="{oops", headers={"content-type": "application/json"}), 400, "Invalid JSON")
        assert_error(api.post(path, json=["not", "an", "object"]), 400, "JSON object")

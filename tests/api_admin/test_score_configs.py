"""Score configs (/api/public/score-configs) and the check of ingested scores
against them."""

from __future__ import annotations

import pytest

from api_admin.helpers import assert_error
from integration.harness import event, iso, now_utc, uid


def create(api, **body):
    body.setdefault("name", uid("cfg")[:30])
    r = api.post("/api/public/score-configs", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_create_numeric_and_read_back(api):
    cfg = create(api, name="accuracy-1", dataType="NUMERIC", minValue=0, maxValue=1,
                 description="share of correct answers")
    assert cfg["name"] == "accuracy-1"
    assert cfg["dataType"] == "NUMERIC"
    assert cfg["minValue"] == 0 and cfg["maxValue"] == 1
    assert cfg["isArchived"] is False
    assert cfg["description"] == "share of correct answers"
    assert cfg["categories"] is None
    assert cfg["projectId"] == "proj-loupe-test"
    assert cfg["createdAt"].endswith("Z") and cfg["updatedAt"].endswith("Z")

    got = api.get_json(f"/api/public/score-configs/{cfg['id']}")
    assert got == cfg
    listed = api.list_all("/api/public/score-configs")
    assert cfg["id"] in {c["id"] for c in listed}


def test_boolean_configs_get_true_false_categories(api):
    cfg = create(api, dataType="BOOLEAN")
    assert cfg["categories"] == [{"value": 1, "label": "True"}, {"value": 0, "label": "False"}]
    r = api.post("/api/public/score-configs",
                 json={"name": "b", "dataType": "BOOLEAN", "categories": [{"label": "x", "value": 1}]})
    assert_error(r, 400, "categories")


def test_categorical_and_text(api):
    cfg = create(api, dataType="CATEGORICAL",
                 categories=[{"label": "bad", "value": 0}, {"label": "good", "value": 1}])
    assert cfg["categories"] == [{"value": 0, "label": "bad"}, {"value": 1, "label": "good"}]
    text = create(api, dataType="TEXT")
    assert text["categories"] is None and text["minValue"] is None


@pytest.mark.parametrize("body, fragment", [
    ({"dataType": "NUMERIC"}, "name"),
    ({"name": "x"}, "dataType"),
    ({"name": "x", "dataType": "PERCENT"}, "dataType"),
    ({"name": "a" * 36, "dataType": "NUMERIC"}, "name"),
    ({"name": "bad/name", "dataType": "NUMERIC"}, "name"),
    ({"name": 5, "dataType": "NUMERIC"}, "name"),
    ({"name": "x", "dataType": "NUMERIC", "minValue": 5, "maxValue": 5}, "Maximum value"),
    ({"name": "x", "dataType": "NUMERIC", "minValue": "low"}, "minValue"),
    ({"name": "x", "dataType": "NUMERIC", "categories": [{"label": "a", "value": 1}]}, "categories"),
    ({"name": "x", "dataType": "CATEGORICAL"}, "categories"),
    ({"name": "x", "dataType": "CATEGORICAL", "categories": [{"label": "a"}]}, "categories"),
    ({"name": "x", "dataType": "CATEGORICAL",
      "categories": [{"label": "a", "value": 1}, {"label": "a", "value": 2}]}, "Duplicate category label"),
    ({"name": "x", "dataType": "CATEGORICAL",
      "categories": [{"label": "a", "value": 1}, {"label": "b", "value": 1}]}, "Duplicate category value"),
    ({"name": "x", "dataType": "CATEGORICAL", "minValue": 1,
      "categories": [{"label": "a", "value": 1}]}, "NUMERIC"),
    ({"name": "x", "dataType": "TEXT", "maxValue": 3}, "NUMERIC"),
])
def test_create_rejects_bad_input(api, body, fragment):
    assert_error(api.post("/api/public/score-configs", json=body), 400, fragment)


def test_create_rejects_non_json(api):
    r = api.post("/api/public/score-configs", data="{not json",
                 headers={"Content-Type": "application/json"})
    assert_error(r, 400, "JSON")
    assert_error(api.post("/api/public/score-configs", json=[1, 2]), 400, "object")


def test_patch_updates_and_validates_the_merged_config(api):
    cfg = create(api, dataType="NUMERIC", minValue=0, maxValue=10)
    path = f"/api/public/score-configs/{cfg['id']}"
    r = api.patch(path, json={"isArchived": True, "name": "renamed", "maxValue": 5,
                              "description": "d"})
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["isArchived"] is True and updated["name"] == "renamed"
    assert updated["maxValue"] == 5 and updated["minValue"] == 0 and updated["description"] == "d"
    assert updated["createdAt"] == cfg["createdAt"]
    assert api.get_json(path) == updated

    assert_error(api.patch(path, json={}), 400, "cannot be empty")
    assert_error(api.patch(path, json={"maxValue": -1}), 400, "Maximum value")
    assert_error(api.patch(path, json={"categories": [{"label": "a", "value": 1}]}), 400, "categories")
    assert_error(api.patch(path, json={"isArchived": "yes"}), 400, "isArchived")
    assert_error(api.patch(path, json={"name": ""}), 400, "name")
    assert_error(api.patch("/api/public/score-configs/does-not-exist", json={"name": "x"}), 404)

    boolean = create(api, dataType="BOOLEAN")
    assert_error(api.patch(f"/api/public/score-configs/{boolean['id']}",
                           json={"categories": [{"label": "yes", "value": 1}]}), 400, "categories")


def test_get_unknown_is_404(api):
    assert_error(api.get("/api/public/score-configs/nope"), 404, "not found")


def test_pagination_in_a_fresh_project(fresh_project):
    _, papi = fresh_project
    ids = [create(papi, dataType="NUMERIC")["id"] for _ in range(3)]
    body = papi.get_json("/api/public/score-configs", {"page": 1, "limit": 2})
    assert body["meta"] == {"page": 1, "limit": 2, "totalItems": 3, "totalPages": 2}
    assert [c["id"] for c in body["data"]] == ids[::-1][:2]  # newest first
    body = papi.get_json("/api/public/score-configs", {"page": 2, "limit": 2})
    assert [c["id"] for c in body["data"]] == ids[:1]
    assert_error(papi.get("/api/public/score-configs", params={"limit": 101}), 400, "limit")
    assert_error(papi.get("/api/public/score-configs", params={"page": 0}), 400, "page")
    assert_error(papi.get("/api/public/score-configs", params={"page": "x"}), 400, "page")


def test_auth(api, org_api):
    assert_error(api.get("/api/public/score-configs", auth=False), 401)
    assert_error(api.get("/api/public/score-configs", auth="Bearer pk-lf-test"), 403)
    assert_error(org_api.get("/api/public/score-configs"), 403, "organization key")
    assert_error(org_api.post("/api/public/score-configs", json={"name": "x", "dataType": "NUMERIC"}),
                 403)


# --------------------------------------------------------------------------- ingestion


def score_event(config_id, value, name="client-side-name", **extra):
    body = {"id": uid("score"), "traceId": uid("trace"), "name": name, "value": value,
            "configId": config_id}
    body.update(extra)
    return event("score-create", body, timestamp=iso(now_utc()))


def ingest(api, events):
    r = api.ingest(events)
    assert r.status_code == 207, r.text
    body = r.json()
    errors = {e["id"]: e for e in body["errors"]}
    ok = {s["id"] for s in body["successes"]}
    return ok, errors


def test_ingested_scores_are_checked_against_their_config(api):
    numeric = create(api, name="quality", dataType="NUMERIC", minValue=0, maxValue=10)
    cat = create(api, name="tone", dataType="CATEGORICAL",
                 categories=[{"label": "rude", "value": 0}, {"label": "polite", "value": 1}])
    boolean = create(api, name="correct", dataType="BOOLEAN")

    good_num = score_event(numeric["id"], 7)
    high_num = score_event(numeric["id"], 11)
    good_cat = score_event(cat["id"], "polite")
    bad_cat = score_event(cat["id"], "neutral")
    good_bool = score_event(boolean["id"], 1)
    bad_bool = score_event(boolean["id"], 3)
    missing = score_event("no-such-config", 1)
    mismatch = score_event(numeric["id"], 1, dataType="BOOLEAN")
    ok, errors = ingest(api, [good_num, high_num, good_cat, bad_cat, good_bool, bad_bool, missing,
                              mismatch])

    assert ok == {good_num["id"], good_cat["id"], good_bool["id"]}
    assert set(errors) == {high_num["id"], bad_cat["id"], bad_bool["id"], missing["id"], mismatch["id"]}
    assert all(e["status"] == 400 for e in errors.values())
    assert "maximum value of 10" in errors[high_num["id"]]["error"]
    assert "does not map to a valid category" in errors[bad_cat["id"]]["error"]
    assert "either 0 or 1" in errors[bad_bool["id"]]["error"]
    assert "does not match a valid config" in errors[missing["id"]]["error"]
    assert "Data type mismatch" in errors[mismatch["id"]]["error"]

    s = api.score(good_num["body"]["id"])
    assert s["name"] == "quality"  # the config's name wins
    assert s["value"] == 7 and s["dataType"] == "NUMERIC" and s["configId"] == numeric["id"]
    s = api.score(good_cat["body"]["id"])
    assert s["name"] == "tone" and s["stringValue"] == "polite" and s["value"] == 1
    assert s["dataType"] == "CATEGORICAL"
    s = api.score(good_bool["body"]["id"])
    assert s["dataType"] == "BOOLEAN" and s["value"] == 1 and s["stringValue"] == "True"
    r = api.get(f"/api/public/v2/scores/{high_num['body']['id']}")
    assert r.status_code == 404


def test_archived_config_rejects_new_scores(api):
    cfg = create(api, dataType="NUMERIC")
    r = api.patch(f"/api/public/score-configs/{cfg['id']}", json={"isArchived": True})
    assert r.status_code == 200
    ev = score_event(cfg["id"], 1)
    ok, errors = ingest(api, [ev])
    assert "archived" in errors[ev["id"]]["error"]


def test_post_scores_route_checks_config(api):
    cfg = create(api, name="helpful", dataType="NUMERIC", maxValue=1)
    r = api.post("/api/public/scores",
                 json={"traceId": uid("t"), "name": "x", "value": 0.5, "configId": cfg["id"]})
    assert r.status_code == 200, r.text
    assert api.score(r.json()["id"])["name"] == "helpful"
    r = api.post("/api/public/scores",
                 json={"traceId": uid("t"), "name": "x", "value": 2, "configId": cfg["id"]})
    assert_error(r, 400, "maximum value")

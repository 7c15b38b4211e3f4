"""Prompt management over HTTP against the real binary: the v2 routes (create, get by
label / version, list, PATCH labels, delete), prompt references, the legacy v1 routes,
authentication and bad input. Expected shapes and status codes come from the Langfuse
API contract (§2.3, §6): POST → 201, DELETE → 204, missing prompts → 404
{message, error}."""

from __future__ import annotations

import datetime as dt

import pytest

from integration.harness import basic_auth, quote, uid

V2 = "/api/public/v2/prompts"

PROMPT_KEYS = ["id", "createdAt", "updatedAt", "projectId", "createdBy", "name", "version", "type",
               "prompt", "config", "labels", "tags", "commitMessage", "isActive", "resolutionGraph"]


def create(api, name, prompt="Hello {{name}}", status=201, **fields):
    body = {"name": name, "prompt": prompt, **fields}
    r = api.post(V2, json=body)
    assert r.status_code == status, r.text
    return r.json()


def get(api, name, status=200, **params):
    r = api.get(f"{V2}/{quote(name)}", params=params or None)
    assert r.status_code == status, r.text
    return r.json()


def patch_labels(api, name, version, labels, status=200):
    r = api.patch(f"{V2}/{quote(name)}/versions/{version}", json={"newLabels": labels})
    assert r.status_code == status, r.text
    return r.json()


def assert_bad_request(r, *fragments):
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "InvalidRequestError", body
    for f in fragments:
        assert f in body["message"], body["message"]


# --------------------------------------------------------------------------- create / get


def test_create_text_prompt_returns_201_with_the_langfuse_shape(api, loupe):
    name = uid("text")
    p = create(api, name, labels=["production"], tags=["t1"], config={"model": "gpt-4o", "temperature": 0.1},
               commitMessage="init", type="text")
    assert list(p) == PROMPT_KEYS
    assert (p["name"], p["version"], p["type"], p["prompt"]) == (name, 1, "text", "Hello {{name}}")
    assert p["config"] == {"model": "gpt-4o", "temperature": 0.1}
    assert p["labels"] == ["production", "latest"]
    assert p["tags"] == ["t1"]
    assert (p["commitMessage"], p["isActive"], p["resolutionGraph"]) == ("init", None, None)
    assert p["createdBy"] == "API" and p["projectId"] == "proj-loupe-test"
    assert p["createdAt"] == p["updatedAt"] and p["createdAt"].endswith("Z")

    got = get(api, name)  # no selector → production
    assert got == p
    assert get(api, name, label="latest") == p
    assert get(api, name, version=1) == p


def test_defaults_config_empty_tags_empty_and_type_text(api):
    p = create(api, uid("plain"), config=None, tags=None, labels=None, commitMessage=None)
    assert (p["type"], p["config"], p["tags"], p["labels"], p["commitMessage"]) == \
        ("text", {}, [], ["latest"], None)


def test_missing_prompts_answer_404_saying_what_was_asked(api):
    name = uid("missing")
    for params, suffix in [({}, " with label 'production'"), ({"label": "staging"}, " with label 'staging'"),
                           ({"version": 3}, " with version 3")]:
        r = api.get(f"{V2}/{name}", params=params)
        assert r.status_code == 404
        assert r.json() == {"message": f"Prompt not found: '{name}'{suffix}", "error": "LangfuseNotFoundError"}
    create(api, name)  # only `latest`: the default production label is still missing
    assert api.get(f"{V2}/{name}").status_code == 404
    assert get(api, name, label="latest")["version"] == 1


def test_versions_count_up_and_labels_move(api):
    name = uid("versions")
    v1 = create(api, name, prompt="one", labels=["production", "staging"])
    v2 = create(api, name, prompt="two", labels=["production"])
    v3 = create(api, name, prompt="three")
    assert [v1["version"], v2["version"], v3["version"]] == [1, 2, 3]
    assert get(api, name, version=1)["labels"] == ["staging"]
    assert get(api, name, version=2)["labels"] == ["production"]
    assert get(api, name, version=3)["labels"] == ["latest"]
    assert get(api, name)["prompt"] == "two"
    assert get(api, name, label="latest")["prompt"] == "three"
    assert get(api, name, label="staging")["version"] == 1


def test_tags_are_shared_by_all_versions(api):
    name = uid("tags")
    create(api, name, prompt="one", tags=["a", "b"])
    assert create(api, name, prompt="two")["tags"] == ["a", "b"]  # inherited
    create(api, name, prompt="three", tags=["c"])
    assert [get(api, name, version=v)["tags"] for v in (1, 2, 3)] == [["c"]] * 3


def test_chat_prompt_with_placeholders(api):
    name = uid("chat")
    messages = [{"role": "system", "content": "You are {{role}}", "type": "chatmessage"},
                {"type": "placeholder", "name": "history"},
                {"role": "user", "content": "{{q}}", "extra": "dropped"}]
    p = create(api, name, prompt=messages, type="chat", labels=["production"])
    assert p["type"] == "chat"
    assert p["prompt"] == [{"role": "system", "content": "You are {{role}}", "type": "chatmessage"},
                           {"type": "placeholder", "name": "history"},
                           {"role": "user", "content": "{{q}}"}]
    assert get(api, name, label="production") == p


def test_chat_validation(api):
    name = uid("chatbad")
    cases = [
        ([{"role": "user"}], "content"),
        ([{"role": "user", "content": ["multi", "part"]}], "content"),
        ([{"content": "x"}], "role"),
        (["just text"], "Expected object"),
        ([{"type": "placeholder", "name": "1bad"}], "Placeholder name"),
        ([{"type": "placeholder", "name": "q"}, {"role": "user", "content": "{{q}}"}],
         "variables and placeholders must be unique, the following are not: q"),
        ("a string", "Expected an array"),
    ]
    for prompt, fragment in cases:
        assert_bad_request(api.post(V2, json={"name": name, "type": "chat", "prompt": prompt}), fragment)
    assert api.get(f"{V2}/{name}", params={"label": "latest"}).status_code == 404


def test_type_is_fixed_per_name(api):
    name = uid("typed")
    create(api, name, prompt="text")
    r = api.post(V2, json={"name": name, "type": "chat", "prompt": [{"role": "user", "content": "x"}]})
    assert_bad_request(r, "different prompt type")


@pytest.mark.parametrize("body, fragment", [
    ({"prompt": "x"}, "name"),
    ({"name": "", "prompt": "x"}, "name"),
    ({"name": 5, "prompt": "x"}, "name"),
    ({"name": "a|b", "prompt": "x"}, "'|'"),
    ({"name": "new", "prompt": "x"}, "'new'"),
    ({"name": "/lead", "prompt": "x"}, "slash"),
    ({"name": "trail/", "prompt": "x"}, "slash"),
    ({"name": "a//b", "prompt": "x"}, "consecutive slashes"),
    ({"name": "<b>x</b>", "prompt": "x"}, "HTML"),
    ({"name": "x" * 256, "prompt": "x"}, "255"),
    ({"name": "ok"}, "prompt"),
    ({"name": "ok", "prompt": ["a"]}, "Expected string"),
    ({"name": "ok", "prompt": "x", "type": "image"}, "type"),
    ({"name": "ok", "prompt": "x", "labels": ["Production"]}, "lowercase"),
    ({"name": "ok", "prompt": "x", "labels": ["a" * 37]}, "36"),
    ({"name": "ok", "prompt": "x", "labels": [""]}, "1 to 36"),
    ({"name": "ok", "prompt": "x", "labels": "production"}, "labels"),
    ({"name": "ok", "prompt": "x", "tags": [1]}, "tags"),
    ({"name": "ok", "prompt": "x", "commitMessage": "m" * 501}, "500"),
    ({"name": "ok", "prompt": "x", "commitMessage": 3}, "commitMessage"),
])
def test_create_rejects_bad_bodies_with_400(api, body, fragment):
    assert_bad_request(api.post(V2, json=body), fragment)


def test_create_rejects_non_json_and_non_object_bodies(api):
    assert_bad_request(api.post(V2, data="{not json", headers={"content-type": "application/json"}),
                       "Invalid JSON")
    assert_bad_request(api.post(V2, json=[1, 2]), "JSON object")


def test_get_rejects_bad_query_and_ignores_unknown_params(api):
    name = uid("q")
    create(api, name, labels=["production"])
    assert_bad_request(api.get(f"{V2}/{name}", params={"version": 1, "label": "production"}),
                       "Cannot specify both version and label")
    assert_bad_request(api.get(f"{V2}/{name}", params={"version": "abc"}), "version")
    assert_bad_request(api.get(f"{V2}/{name}", params={"version": "1.5"}), "version")
    assert_bad_request(api.get(f"{V2}/{name}", params={"resolve": "maybe"}), "resolve")
    assert get(api, name, whatever="x", label="")["version"] == 1  # "" counts as absent
    assert get(api, name, version="")["version"] == 1


# --------------------------------------------------------------------------- labels


def test_patch_adds_labels_and_takes_them_from_other_versions(api):
    name = uid("patch")
    create(api, name, prompt="one", labels=["production"])
    create(api, name, prompt="two", labels=["staging"])
    p = patch_labels(api, name, 2, ["production", "canary"])
    assert list(p) == PROMPT_KEYS
    assert p["version"] == 2
    assert p["labels"] == ["production", "canary", "staging", "latest"]
    assert p["updatedAt"] >= p["createdAt"]
    assert get(api, name, version=1)["labels"] == []
    assert get(api, name)["version"] == 2
    # Labels are only ever added here.
    assert patch_labels(api, name, 2, [])["labels"] == ["production", "canary", "staging", "latest"]


def test_patch_validation_and_missing_versions(api):
    name = uid("patchbad")
    create(api, name)
    assert_bad_request(api.patch(f"{V2}/{name}/versions/1", json={"newLabels": ["latest"]}), "latest")
    assert_bad_request(api.patch(f"{V2}/{name}/versions/1", json={"newLabels": ["UPPER"]}), "lowercase")
    assert_bad_request(api.patch(f"{V2}/{name}/versions/1", json={}), "newLabels")
    assert_bad_request(api.patch(f"{V2}/{name}/versions/1", json={"newLabels": "x"}), "newLabels")
    assert_bad_request(api.patch(f"{V2}/{name}/versions/one", json={"newLabels": []}), "version")
    r = api.patch(f"{V2}/{name}/versions/9", json={"newLabels": ["x"]})
    assert r.status_code == 404 and r.json()["error"] == "LangfuseNotFoundError"
    r = api.patch(f"{V2}/{uid('nope')}/versions/1", json={"newLabels": ["x"]})
    assert r.status_code == 404


# --------------------------------------------------------------------------- list


def test_list_groups_versions_by_name_with_filters_and_paging(api):
    tag = uid("tag")
    prefix = uid("list")
    names = [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    create(api, names[1], prompt="b1", labels=["production"], tags=[tag], config={"v": 1})
    create(api, names[1], prompt="b2", labels=["staging"], config={"v": 2})
    create(api, names[0], prompt="a1", tags=[tag])
    create(api, names[2], prompt=[{"role": "user", "content": "c"}], type="chat", tags=[tag])

    body = api.get_json(V2, {"tag": tag})
    assert body["meta"] == {"page": 1, "limit": 10, "totalItems": 3, "totalPages": 1}
    assert body["pagination"] == body["meta"]
    assert [d["name"] for d in body["data"]] == names
    b = body["data"][1]
    assert list(b) == ["name", "type", "versions", "labels", "tags", "lastUpdatedAt", "lastConfig"]
    assert (b["type"], b["versions"], b["labels"], b["tags"], b["lastConfig"]) == \
        ("text", [1, 2], ["latest", "production", "staging"], [tag], {"v": 2})
    assert body["data"][2]["type"] == "chat"

    only_prod = api.get_json(V2, {"tag": tag, "label": "production"})
    assert [(d["name"], d["versions"], d["lastConfig"]) for d in only_prod["data"]] == [(names[1], [1], {"v": 1})]
    assert api.get_json(V2, {"name": names[0]})["data"][0]["versions"] == [1]
    assert [d["versions"] for d in api.get_json(V2, {"tag": tag, "version": 2})["data"]] == [[2]]

    page2 = api.get_json(V2, {"tag": tag, "limit": 2, "page": 2})
    assert page2["meta"] == {"page": 2, "limit": 2, "totalItems": 3, "totalPages": 2}
    assert [d["name"] for d in page2["data"]] == [names[2]]
    assert api.get_json(V2, {"tag": tag, "page": 5})["data"] == []


def test_list_updated_at_window(api):
    tag = uid("window")
    create(api, uid("w"), tags=[tag])
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat()
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    assert api.get_json(V2, {"tag": tag, "fromUpdatedAt": future})["data"] == []
    assert len(api.get_json(V2, {"tag": tag, "fromUpdatedAt": past, "toUpdatedAt": future})["data"]) == 1
    assert api.get_json(V2, {"tag": tag, "toUpdatedAt": past})["data"] == []


@pytest.mark.parametrize("params, fragment", [
    ({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"page": 0}, "page"), ({"page": "x"}, "page"),
    ({"version": "v1"}, "version"), ({"fromUpdatedAt": "yesterday"}, "fromUpdatedAt"),
])
def test_list_rejects_bad_query(api, params, fragment):
    assert_bad_request(api.get(V2, params=params), fragment)


# --------------------------------------------------------------------------- delete


def test_delete_by_version_label_or_all(api):
    name = uid("del")
    create(api, name, prompt="one", labels=["production"])
    create(api, name, prompt="two")
    create(api, name, prompt="three")
    r = api.delete(f"{V2}/{name}", params={"version": 3})
    assert r.status_code == 204 and r.content == b""
    assert get(api, name, label="latest")["version"] == 2  # `latest` moved down
    assert api.delete(f"{V2}/{name}", params={"label": "production"}).status_code == 204
    assert api.get(f"{V2}/{name}", params={"version": 1}).status_code == 404
    assert create(api, name, prompt="again")["version"] == 3
    assert api.delete(f"{V2}/{name}").status_code == 204
    r = api.delete(f"{V2}/{name}")
    assert r.status_code == 404 and r.json()["error"] == "LangfuseNotFoundError"
    assert api.get_json(V2, {"name": name})["data"] == []


def test_delete_validation(api):
    name = uid("delbad")
    create(api, name)
    assert_bad_request(api.delete(f"{V2}/{name}", params={"version": 1, "label": "latest"}), "both")
    assert_bad_request(api.delete(f"{V2}/{name}", params={"version": "x"}), "version")
    assert api.delete(f"{V2}/{name}", params={"label": "nope"}).status_code == 404
    assert api.delete(f"{V2}/{name}", params={"version": 2}).status_code == 404
    assert get(api, name, version=1)["version"] == 1


# --------------------------------------------------------------------------- folders


def test_folder_names_encoded_or_as_path_segments(api):
    name = f"{uid('folder')}/sub/prompt"
    create(api, name, labels=["production"])
    assert get(api, name)["name"] == name  # %2F-encoded
    raw = api.get(f"{V2}/{name}")           # plain segments, as the Python SDK v2 sends them
    assert raw.status_code == 200 and raw.json()["name"] == name
    r = api.patch(f"{V2}/{name}/versions/1", json={"newLabels": ["staging"]})
    assert r.status_code == 200 and r.json()["labels"][0] == "staging"
    assert api.get_json(V2, {"name": name})["data"][0]["name"] == name
    assert api.delete(f"{V2}/{name}").status_code == 204
    assert api.get(f"{V2}/{quote(name)}", params={"label": "latest"}).status_code == 404


# --------------------------------------------------------------------------- references


def test_references_resolve_in_text_and_chat_prompts(api):
    base, footer = uid("base"), uid("footer")
    b = create(api, base, prompt='Be "kind" to {{user}}', labels=["production"])
    f = create(api, footer, prompt="Bye")
    composite = uid("composite")
    c = create(api, composite, labels=["production"],
               prompt=f"@@@langfusePrompt:name={base}|label=production@@@ / @@@langfusePrompt:name={footer}|version=1@@@")
    assert c["resolutionGraph"] is None and "@@@" in c["prompt"]  # stored raw

    got = get(api, composite)
    assert got["prompt"] == 'Be "kind" to {{user}} / Bye'
    assert got["resolutionGraph"] == {
        "root": {"name": composite, "version": 1, "id": c["id"]},
        "dependencies": {c["id"]: [{"id": b["id"], "name": base, "version": 1},
                                   {"id": f["id"], "name": footer, "version": 1}]}}
    raw = get(api, composite, resolve="false")
    assert raw["prompt"] == c["prompt"] and raw["resolutionGraph"] is None

    chat = uid("chatref")
    create(api, chat, type="chat", labels=["production"],
           prompt=[{"role": "system", "content": f"@@@langfusePrompt:name={base}|label=production@@@ (sys)"},
                   {"type": "placeholder", "name": "history"}])
    assert get(api, chat)["prompt"] == [{"role": "system", "content": 'Be "kind" to {{user}} (sys)'},
                                        {"type": "placeholder", "name": "history"}]

    # The reference follows the label.
    create(api, base, prompt="Be brief", labels=["production"])
    assert get(api, composite)["prompt"] == "Be brief / Bye"


def test_reference_errors_on_create_are_400(api):
    missing = uid("nope")
    assert_bad_request(api.post(V2, json={"name": uid("r"), "prompt": f"@@@langfusePrompt:name={missing}|label=x@@@"}),
                       "Prompt dependency not found")
    chat = uid("chatdep")
    create(api, chat, type="chat", prompt=[{"role": "user", "content": "x"}])
    assert_bad_request(api.post(V2, json={"name": uid("r"), "prompt": f"@@@langfusePrompt:name={chat}|version=1@@@"}),
                       "not a text prompt")
    own = uid("own")
    create(api, own, prompt="v1")
    assert_bad_request(api.post(V2, json={"name": own, "prompt": f"@@@langfusePrompt:name={own}|version=1@@@"}),
                       "Circular dependency")


def test_reference_nesting_depth_is_limited_to_five(api):
    p = [uid(f"d{i}") for i in range(6)]
    create(api, p[5], prompt="end")
    for i in range(4, 0, -1):
        create(api, p[i], prompt=f"<@@@langfusePrompt:name={p[i + 1]}|version=1@@@>")
    assert get(api, p[1], version=1)["prompt"] == "<<<<end>>>>"
    assert_bad_request(api.post(V2, json={"name": p[0], "prompt": f"@@@langfusePrompt:name={p[1]}|version=1@@@"}),
                       "Maximum nesting depth exceeded (5)")


def test_cycle_closed_by_label_moves_answers_409_on_get(api):
    x, y, z = uid("x"), uid("y"), uid("z")
    create(api, y, prompt="plain y", labels=["l1"])
    create(api, x, prompt=f"X[@@@langfusePrompt:name={y}|label=l1@@@]")
    create(api, z, prompt="plain z", labels=["a"])
    create(api, y, prompt=f"Y[@@@langfusePrompt:name={z}|label=a@@@]")
    create(api, z, prompt=f"Z[@@@langfusePrompt:name={x}|version=1@@@]")
    patch_labels(api, y, 2, ["l1"])
    assert get(api, x, version=1)["prompt"] == "X[Y[plain z]]"
    patch_labels(api, z, 2, ["a"])
    r = api.get(f"{V2}/{x}", params={"version": 1})
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "LangfuseConflictError" and "Circular dependency" in r.json()["message"]
    assert get(api, x, version=1, resolve="false")["version"] == 1


def test_delete_refuses_to_break_dependents_with_409(api):
    base, user = uid("base"), uid("user")
    create(api, base, prompt="b", labels=["production"])
    create(api, user, prompt=f"@@@langfusePrompt:name={base}|label=production@@@")
    r = api.delete(f"{V2}/{base}")
    assert r.status_code == 409, r.text
    assert f"{user} v1 depends on {base} production" in r.json()["message"]
    assert api.delete(f"{V2}/{user}").status_code == 204
    assert api.delete(f"{V2}/{base}").status_code == 204


# --------------------------------------------------------------------------- legacy v1


def test_legacy_v1_create_and_get(api):
    name = uid("legacy")
    r = api.post("/api/public/prompts", json={"name": name, "prompt": "Hi {{x}}", "isActive": True,
                                              "config": {"k": 1}})
    assert r.status_code == 201, r.text
    p = r.json()
    assert (p["labels"], p["isActive"], p["config"]) == (["production", "latest"], True, {"k": 1})
    got = api.get_json("/api/public/prompts", {"name": name})
    assert (got["version"], got["isActive"], got["prompt"]) == (1, True, "Hi {{x}}")

    r = api.post("/api/public/prompts", json={"name": name, "prompt": "v2", "isActive": False})
    assert r.status_code == 201 and r.json()["isActive"] is False
    v2 = api.get_json("/api/public/prompts", {"name": name, "version": 2})
    assert (v2["version"], v2["isActive"], v2["labels"]) == (2, False, ["latest"])
    assert api.get_json("/api/public/prompts", {"name": name})["version"] == 1  # production


def test_legacy_v1_errors(api):
    r = api.get("/api/public/prompts", params={"name": uid("nope")})
    assert r.status_code == 404
    assert list(r.json().items()) == [("error", "LangfuseNotFoundError"), ("message", "Prompt not found")]
    assert_bad_request(api.get("/api/public/prompts"), "name")
    r = api.post("/api/public/prompts", json={"name": uid("l"), "prompt": "x"})
    assert r.status_code == 400 and "isActive" in r.json()["message"]


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize("method, path", [
    ("GET", V2), ("POST", V2), ("GET", f"{V2}/x"), ("DELETE", f"{V2}/x"), ("PATCH", f"{V2}/x/versions/1"),
    ("GET", "/api/public/prompts?name=x"), ("POST", "/api/public/prompts"),
])
def test_prompt_routes_need_a_project_key(api, method, path):
    r = api.request(method, path, auth=False, json={})
    assert r.status_code == 401, r.text
    r = api.request(method, path, auth=basic_auth("pk-lf-test", "sk-lf-wrong"), json={})
    assert r.status_code == 401
    r = api.request(method, path, auth="Bearer pk-lf-test", json={})
    assert r.status_code == 403, r.text


def test_unsupported_method_is_405(api):
    r = api.request("PUT", V2, json={})
    assert r.status_code == 405

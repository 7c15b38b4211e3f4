"""Prompts, datasets and scores in the web UI: the /api/ui endpoints behind
the pages (role checks, validation, what the public API reads back), and a
browser run (tests/ui/e2e_content.mjs) that creates and promotes a prompt
version, opens a dataset run and filters scores. Screenshots land in
build/ui-screenshots/ (20-... to 29-...)."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse

import pytest

from integration.harness import PROJECT_ID, Api, basic_auth, event, uid
from ui.test_ui_browser import CHROMIUM, SHOT_DIR, UI_DIR
from ui.ui_helpers import USER_EMAIL, USER_PASSWORD, UiClient, add_member

P = f"/api/ui/projects/{PROJECT_ID}"
q = urllib.parse.quote


def public(url: str) -> Api:
    return Api(url)




@pytest.fixture(scope="module")
def seeded(ui_server) -> dict:
    """A text prompt (2 versions), a chat prompt, a dataset with 3 items, two
    runs whose traces carry scores, and a score config."""
    api = public(ui_server.url)
    tag = uid("c")
    text_name = f"{tag}/greeting"
    for body in (
        {"name": text_name, "type": "text", "prompt": "Hello {{name}}!", "labels": ["production"],
         "config": {"temperature": 0.2}, "tags": ["ui-test"]},
        {"name": text_name, "type": "text", "prompt": "Hello {{name}}!\nHow can I help with {{topic}}?",
         "config": {"temperature": 0.4}, "commitMessage": "ask about the topic"},
    ):
        r = api.post("/api/public/v2/prompts", json=body)
        assert r.status_code in (200, 201), r.text
    chat_name = f"{tag}-chat"
    r = api.post("/api/public/v2/prompts", json={
        "name": chat_name, "type": "chat",
        "prompt": [{"role": "system", "content": "You are {{persona}}."},
                   {"type": "placeholder", "name": "history"},
                   {"role": "user", "content": "{{question}}"}]})
    assert r.status_code in (200, 201), r.text

    dataset = f"{tag}-qa"
    r = api.post("/api/public/v2/datasets", json={"name": dataset, "description": "Questions and answers"})
    assert r.status_code in (200, 201), r.text
    items = []
    for i in range(3):
        r = api.post("/api/public/dataset-items", json={
            "datasetName": dataset, "id": f"{tag}-item-{i}",
            "input": {"question": f"What is {i} + {i}?"}, "expectedOutput": str(2 * i)})
        assert r.status_code in (200, 201), r.text
        items.append(r.json()["id"])
    batch = []
    runs = {"run-a": [1.0, 0.0, 1.0], "run-b": [1.0, 1.0, 1.0]}
    for run, values in runs.items():
        for i, v in enumerate(values):
            tid = f"{tag}-{run}-{i}"
            batch.append(event("trace-create", {"id": tid, "name": "qa-eval", "input": f"What is {i} + {i}?",
                                                "output": str(2 * i if v else 7)}))
            batch.append(event("score-create", {"id": f"{tid}-s", "traceId": tid, "name": "exact_match",
                                                "value": v, "comment": "checked"}))
            batch.append(event("score-create", {"id": f"{tid}-q", "traceId": tid, "name": "quality",
                                                "value": "good" if v else "bad", "dataType": "CATEGORICAL"}))
    # A generation made with version 2 of the text prompt, for the trace view's prompt link.
    batch.append(event("trace-create", {"id": f"{tag}-prompted", "name": "greet"}))
    batch.append(event("generation-create", {"id": f"{tag}-gen", "traceId": f"{tag}-prompted",
                                             "name": "greet-llm", "model": "gpt-4o",
                                             "promptName": text_name, "promptVersion": 2}))
    r = api.post("/api/public/ingestion", json={"batch": batch})
    assert r.status_code in (200, 207) and not r.json().get("errors"), r.text
    for run in runs:
        for i, item in enumerate(items):
            r = api.post("/api/public/dataset-run-items", json={
                "runName": run, "runDescription": f"{run} of the QA set", "datasetItemId": item,
                "traceId": f"{tag}-{run}-{i}"})
            assert r.status_code in (200, 201), r.text
    r = api.post("/api/public/score-configs", json={"name": f"{tag}-accuracy", "dataType": "NUMERIC",
                                                    "minValue": 0, "maxValue": 1,
                                                    "description": "share of right answers"})
    assert r.status_code in (200, 201), r.text
    return {"tag": tag, "text": text_name, "chat": chat_name, "dataset": dataset, "items": items}


@pytest.fixture
def owner(ui_server) -> UiClient:
    c = UiClient(ui_server.url)
    c.sign_in()
    return c


# --------------------------------------------------------------------------- prompts


def test_prompt_list_and_versions(owner, seeded):
    rows = owner.get(f"{P}/prompts?name={q(seeded['tag'])}").json()
    by_name = {r["name"]: r for r in rows["data"]}
    assert set(by_name) == {seeded["text"], seeded["chat"]}
    t = by_name[seeded["text"]]
    assert t["type"] == "text" and t["versionCount"] == 2 and t["latestVersion"] == 2
    assert t["labels"] == ["latest", "production"] and t["tags"] == ["ui-test"]
    assert rows["meta"]["totalItems"] == 2
    d = owner.get(f"{P}/prompts/{q(seeded['text'], safe='')}").json()
    assert [v["version"] for v in d["versions"]] == [2, 1]
    assert d["versions"][0]["labels"] == ["latest"] and d["versions"][1]["labels"] == ["production"]
    assert d["versions"][0]["commitMessage"] == "ask about the topic"
    assert d["versions"][1]["config"] == {"temperature": 0.2}
    chat = owner.get(f"{P}/prompts/{q(seeded['chat'], safe='')}").json()["versions"][0]
    assert chat["prompt"][1] == {"type": "placeholder", "name": "history"}
    assert owner.get(f"{P}/prompts/{q('no-such-prompt')}").status_code == 404


def test_create_version_and_promote_reads_back_through_the_public_api(owner, seeded, ui_server):
    name = seeded["chat"]
    r = owner.post(f"{P}/prompts", {
        "name": name, "type": "chat",
        "prompt": [{"role": "system", "content": "You are {{persona}}, brief."},
                   {"type": "placeholder", "name": "history"},
                   {"role": "user", "content": "{{question}}"}],
        "config": {"model": "gpt-4o"}, "labels": ["staging"], "commitMessage": "shorter"})
    assert r.status_code == 201, r.text
    v = r.json()
    assert v["version"] == 2 and sorted(v["labels"]) == ["latest", "staging"]
    assert v["createdBy"] == USER_EMAIL
    api = public(ui_server.url)
    assert api.get(f"/api/public/v2/prompts/{q(name, safe='')}?label=production").status_code == 404
    r = owner.post(f"{P}/prompts/{q(name, safe='')}/versions/2/labels", {"labels": ["production"]})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["labels"]) == ["latest", "production", "staging"]
    got = api.get(f"/api/public/v2/prompts/{q(name, safe='')}?label=production").json()
    assert got["version"] == 2 and got["config"] == {"model": "gpt-4o"}
    assert got["prompt"][0]["content"] == "You are {{persona}}, brief."
    # Moving production back to v1 takes it from v2.
    assert owner.post(f"{P}/prompts/{q(name, safe='')}/versions/1/labels",
                      {"labels": ["production"]}).status_code == 200
    assert api.get(f"/api/public/v2/prompts/{q(name, safe='')}?label=production").json()["version"] == 1
    # `latest` is the store's; asking for it is a no-op rather than a move.
    assert owner.post(f"{P}/prompts/{q(name, safe='')}/versions/1/labels",
                      {"labels": ["latest"]}).status_code == 400
    assert owner.post(f"{P}/prompts/{q(name, safe='')}/versions/9/labels",
                      {"labels": ["x"]}).status_code == 404


@pytest.mark.parametrize("body,message", [
    ({"name": "", "type": "text", "prompt": "x"}, "Name"),
    ({"name": "new", "type": "text", "prompt": "x"}, "cannot be 'new'"),
    ({"name": "ok-name", "type": "text", "prompt": ""}, "prompt text"),
    ({"name": "ok-name", "type": "text", "prompt": "x", "config": [1]}, "JSON object"),
    ({"name": "ok-name", "type": "text", "prompt": "x", "labels": ["Bad Label"]}, "lowercase"),
    ({"name": "ok-name", "type": "chat", "prompt": [{"role": "user", "content": "{{h}}"},
                                                     {"type": "placeholder", "name": "h"}]}, "different names"),
    ({"name": "ok-name", "type": "chat", "prompt": [{"type": "placeholder", "name": "1x"}]}, "placeholder name"),
    ({"name": "ok-name", "type": "chat", "prompt": []}, "at least one message"),
    ({"name": "ok-name", "type": "other", "prompt": "x"}, "'text' or 'chat'"),
])
def test_create_version_validation(owner, body, message):
    r = owner.post(f"{P}/prompts", body)
    assert r.status_code == 400, r.text
    assert message in r.json()["message"], r.text


def test_a_name_keeps_its_type(owner, seeded):
    r = owner.post(f"{P}/prompts", {"name": seeded["text"], "type": "chat",
                                   "prompt": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 400, r.text


def test_viewer_reads_prompts_datasets_scores_but_cannot_change_prompts(ui_server, seeded):
    viewer = UiClient(ui_server.url)
    user = viewer.sign_up()["user"]
    assert viewer.get(f"{P}/prompts").status_code == 404  # not a member
    add_member(ui_server.url, user["id"], "VIEWER")
    for path in ("/prompts", f"/prompts/{q(seeded['text'], safe='')}", "/datasets", "/scores",
                 "/score-configs"):
        assert viewer.get(P + path).status_code == 200, path
    name = q(seeded["text"], safe="")
    assert viewer.post(f"{P}/prompts", {"name": seeded["text"], "type": "text",
                                       "prompt": "x"}).status_code == 403
    assert viewer.post(f"{P}/prompts/{name}/versions/1/labels",
                       {"labels": ["production"]}).status_code == 403
    add_member(ui_server.url, user["id"], "MEMBER")
    assert viewer.post(f"{P}/prompts/{name}/versions/1/labels",
                       {"labels": ["member-label"]}).status_code == 200


def test_prompt_writes_refuse_other_origins(owner, seeded):
    r = owner.post(f"{P}/prompts", {"name": "x-site", "type": "text", "prompt": "x"},
                   headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


# --------------------------------------------------------------------------- datasets


def test_dataset_list_detail_and_run(owner, seeded):
    rows = owner.get(f"{P}/datasets").json()["data"]
    ds = next(d for d in rows if d["name"] == seeded["dataset"])
    assert ds["itemCount"] == 3 and ds["runCount"] == 2 and ds["description"] == "Questions and answers"
    d = owner.get(f"{P}/datasets/{ds['id']}").json()
    assert d["dataset"]["name"] == seeded["dataset"]
    assert {i["id"] for i in d["items"]} == set(seeded["items"])
    assert d["scoreNames"] == ["exact_match", "quality"]
    runs = {r["name"]: r for r in d["runs"]}
    assert runs["run-a"]["itemCount"] == 3
    assert runs["run-a"]["scores"]["exact_match"]["average"] == pytest.approx(2 / 3)
    assert runs["run-b"]["scores"]["exact_match"]["average"] == 1
    assert runs["run-a"]["scores"]["quality"] == {"count": 3, "average": None, "values": ["bad", "good"]}
    # By name as well as by id.
    assert owner.get(f"{P}/datasets/{q(seeded['dataset'], safe='')}").status_code == 200
    run = owner.get(f"{P}/datasets/{ds['id']}/runs/run-a").json()
    assert run["run"]["description"] == "run-a of the QA set"
    assert len(run["items"]) == 3
    first = next(i for i in run["items"] if i["datasetItemId"] == seeded["items"][1])
    assert first["traceId"] == f"{seeded['tag']}-run-a-1" and first["output"] == "7"
    assert sorted(s["name"] for s in first["scores"]) == ["exact_match", "quality"]
    assert owner.get(f"{P}/datasets/{ds['id']}/runs/nope").status_code == 404
    assert owner.get(f"{P}/datasets/nope").status_code == 404


# --------------------------------------------------------------------------- scores


def test_scores_list_filters_and_configs(owner, seeded):
    all_ = owner.get(f"{P}/scores?name=exact_match&limit=100").json()
    mine = [s for s in all_["data"] if s["traceId"].startswith(seeded["tag"])]
    assert len(mine) == 6
    ones = owner.get(f"{P}/scores?name=exact_match&operator=%3E%3D&value=1&limit=100").json()["data"]
    assert all(s["value"] >= 1 for s in ones) and len([s for s in ones if s["traceId"].startswith(seeded["tag"])]) == 5
    cat = owner.get(f"{P}/scores?dataType=CATEGORICAL&limit=100").json()["data"]
    assert cat and all(s["dataType"] == "CATEGORICAL" for s in cat)
    tid = f"{seeded['tag']}-run-a-0"
    by_trace = owner.get(f"{P}/scores?traceId={tid}").json()["data"]
    assert sorted(s["name"] for s in by_trace) == ["exact_match", "quality"]
    assert owner.get(f"{P}/scores?operator=~&value=1").status_code == 400
    assert owner.get(f"{P}/scores?operator=%3E&value=abc").status_code == 400
    assert owner.get(f"{P}/scores?source=BOGUS").status_code == 400
    configs = owner.get(f"{P}/score-configs").json()["data"]
    c = next(c for c in configs if c["name"] == f"{seeded['tag']}-accuracy")
    assert c["dataType"] == "NUMERIC" and c["minValue"] == 0 and c["maxValue"] == 1


# --------------------------------------------------------------------------- browser


@pytest.mark.slow
def test_prompts_datasets_scores_in_a_browser(ui_server, seeded):
    from ui.test_ui_browser import _missing

    missing = _missing()
    if missing:
        pytest.skip(missing)
    env = dict(os.environ, BASE_URL=ui_server.url, EMAIL=USER_EMAIL, PASSWORD=USER_PASSWORD,
               PROJECT_ID=PROJECT_ID, SHOT_DIR=str(SHOT_DIR), CHROMIUM=CHROMIUM,
               SEED=json.dumps(seeded), PUBLIC_AUTH=basic_auth())
    proc = subprocess.run(["node", str(UI_DIR / "e2e_content.mjs")], env=env, capture_output=True,
                          text=True, timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    report = "\n".join(lines) + "\n" + proc.stderr[-3000:]
    final = json.loads(lines[-1]) if lines else {}
    assert proc.returncode == 0 and not final.get("problems"), report
    steps = {json.loads(ln).get("step") for ln in lines[:-1]}
    for step in ("prompts-list", "prompt-version-created", "prompt-promoted", "prompt-read-back",
                 "prompt-diff", "chat-prompt-version", "dataset-runs", "dataset-run", "scores"):
        assert step in steps, report
    for name in ("20-prompts", "21-prompt-new-version", "22-prompt-promoted", "23-prompt-diff",
                 "24-chat-prompt-editor", "25-datasets", "26-dataset-runs", "27-dataset-run",
                 "28-scores", "29-score-configs"):
        assert (SHOT_DIR / f"{name}.png").stat().st_size > 10000, name


def test_a_new_prompt_name_gets_version_one_with_latest(owner, ui_server):
    name = uid("fresh") + "/support"
    r = owner.post(f"{P}/prompts", {"name": name, "type": "text", "prompt": "Hi {{user}}",
                                   "labels": ["production", "latest"], "tags": ["a", "a", " b "]})
    assert r.status_code == 201, r.text
    v = r.json()
    assert v["version"] == 1 and sorted(v["labels"]) == ["latest", "production"]
    assert v["tags"] == ["a", "b"] and v["config"] == {}
    got = public(ui_server.url).get(f"/api/public/v2/prompts/{q(name, safe='')}").json()
    assert got["version"] == 1 and got["prompt"] == "Hi {{user}}"

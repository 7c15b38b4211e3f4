"""The trace list's full-text search and score columns and filters, the
agent graph, account settings and member invitations: the /api/ui endpoints
behind them (role checks, project isolation, the search's row budget) and a
browser run (tests/ui/e2e_search_graph_accounts.mjs) that finds a trace by
text, shows and filters by scores, opens the graph view, changes an
account's name and password and invites a member who then signs up.
Screenshots land in build/ui-screenshots/ (30-... to 38-...)."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse

import pytest

from integration.harness import PROJECT_ID, Api, event, uid
from ui.test_ui_browser import CHROMIUM, SHOT_DIR, UI_DIR
from ui.test_ui_prompts_datasets_scores import add_member
from ui.ui_helpers import USER_EMAIL, USER_PASSWORD, UiClient, start_ui_server

P = f"/api/ui/projects/{PROJECT_ID}"
ROW_BUDGET = 60  # LOUPE_UI_SEARCH_ROWS of this module's server


def traces_url(**params) -> str:
    return f"{P}/traces?" + urllib.parse.urlencode(params)


def filt(*conds) -> str:
    return json.dumps(list(conds))


def tag_filter(tag: str) -> dict:
    return {"type": "arrayOptions", "column": "tags", "operator": "any of", "value": [tag]}


@pytest.fixture(scope="module")
def ui_server(tmp_root):
    # A small search budget, so that reaching it takes a few dozen traces.
    srv = start_ui_server(tmp_root, "ui-search", {"LOUPE_UI_SEARCH_ROWS": str(ROW_BUDGET)})
    yield srv
    assert srv.stop() == 0, srv.log_tail()


@pytest.fixture(scope="module")
def seeded(ui_server) -> dict:
    """Traces whose input, output, metadata or name hold a rare word, scores on
    two of them, and an agent run whose steps repeat under a few names."""
    tag = uid("s")
    word = f"zanzibar{tag[-6:]}"
    api = Api(ui_server.url)
    t = {k: f"{tag}-{k}" for k in ("chat", "caps", "meta", "name", "quote", "plain", "agent")}
    batch = [
        event("trace-create", {"id": t["chat"], "name": "support-chat", "tags": [tag], "userId": "u-1",
                               "input": {"messages": [{"role": "user", "content": f"Where is the {word} office?"}]},
                               "output": "In Stone Town."}),
        event("trace-create", {"id": t["caps"], "name": "support-chat", "tags": [tag], "userId": "u-2",
                               "input": "Which island?", "output": f"The answer is {word.upper()}."}),
        event("trace-create", {"id": t["meta"], "name": "support-chat", "tags": [tag],
                               "input": "nothing here", "output": "nor here", "metadata": {"note": word}}),
        event("trace-create", {"id": t["name"], "name": word, "tags": [tag], "input": "x", "output": "y"}),
        event("trace-create", {"id": t["quote"], "name": "quote", "tags": [tag],
                               "input": f'She said "hi {word}" twice', "output": None}),
        event("trace-create", {"id": t["plain"], "name": "plain", "tags": [tag], "input": "hello", "output": "bye"}),
        event("score-create", {"id": f"{tag}-s1", "traceId": t["chat"], "name": "accuracy", "value": 0.9}),
        event("score-create", {"id": f"{tag}-s2", "traceId": t["caps"], "name": "accuracy", "value": 0.3}),
        event("score-create", {"id": f"{tag}-s3", "traceId": t["caps"], "name": "accuracy", "value": 0.5}),
        event("score-create", {"id": f"{tag}-s4", "traceId": t["chat"], "name": "quality", "value": "good",
                               "dataType": "CATEGORICAL"}),
        event("score-create", {"id": f"{tag}-s5", "traceId": t["caps"], "name": "quality", "value": "bad",
                               "dataType": "CATEGORICAL"}),
        event("score-create", {"id": f"{tag}-s6", "traceId": t["plain"], "name": "resolved", "value": 1,
                               "dataType": "BOOLEAN"}),
    ]
    # The agent run: agent → (llm, tool) × 3, one tool runs a sub-agent.
    agent = t["agent"]
    batch.append(event("trace-create", {"id": agent, "name": "agent-run", "tags": [tag], "input": "plan a trip",
                                        "output": "done"}))
    batch.append(event("span-create", {"id": f"{agent}-root", "traceId": agent, "name": "agent"}))
    for i in range(3):
        batch.append(event("generation-create", {"id": f"{agent}-llm{i}", "traceId": agent, "name": "llm",
                                                 "parentObservationId": f"{agent}-root", "model": "gpt-4o"}))
        batch.append(event("span-create", {"id": f"{agent}-tool{i}", "traceId": agent, "name": "search-tool",
                                           "parentObservationId": f"{agent}-root"}))
    batch.append(event("span-create", {"id": f"{agent}-sub", "traceId": agent, "name": "agent",
                                       "parentObservationId": f"{agent}-tool2"}))
    # A run with hundreds of differently named steps: its graph groups by type.
    wide = f"{tag}-wide"
    batch.append(event("trace-create", {"id": wide, "name": "wide-run", "input": "many steps"}))
    for i in range(300):
        batch.append(event("generation-create" if i % 3 == 0 else "span-create",
                           {"id": f"{wide}-{i}", "traceId": wide, "name": f"step-{i}",
                            "parentObservationId": f"{wide}-{i // 10}" if i >= 10 else None}))
    r = api.post("/api/public/ingestion", json={"batch": batch})
    assert r.status_code in (200, 207) and not r.json().get("errors"), r.text
    t["wide"] = wide
    # More traces than the search budget, all holding the word in their input.
    bulk_tag = tag + "-bulk"
    bulk = [event("trace-create", {"id": f"{bulk_tag}-{i}", "name": "bulk", "tags": [bulk_tag],
                                   "input": f"bulk {word} {i}"}) for i in range(ROW_BUDGET + 15)]
    r = api.post("/api/public/ingestion", json={"batch": bulk})
    assert r.status_code in (200, 207) and not r.json().get("errors"), r.text
    return {"tag": tag, "bulkTag": bulk_tag, "word": word, "traces": t}


@pytest.fixture
def owner(ui_server) -> UiClient:
    c = UiClient(ui_server.url)
    c.sign_in()
    return c


def ids(resp) -> set[str]:
    assert resp.status_code == 200, resp.text
    return {row["id"] for row in resp.json()["data"]}


# --------------------------------------------------------------------------- full-text search


def test_text_search_matches_input_and_output_only(owner, seeded):
    t = seeded["traces"]
    r = owner.get(traces_url(search=seeded["word"], filter=filt(tag_filter(seeded["tag"]))))
    # In a chat message, in upper case in the output; not in metadata or the name.
    assert ids(r) == {t["chat"], t["caps"], t["quote"]}
    meta = r.json()["meta"]
    assert meta["totalItems"] == 3
    assert meta["search"] == {"searched": 7, "rowBudget": ROW_BUDGET, "budgetReached": False}
    # Quotes are matched as written, not as their JSON escapes.
    tf = filt(tag_filter(seeded["tag"]))
    assert ids(owner.get(traces_url(search=f'"hi {seeded["word"]}"', filter=tf))) == {t["quote"]}
    assert ids(owner.get(traces_url(search="no such text anywhere 1f9", filter=tf))) == set()


def test_text_search_pages_and_combines_with_filters(owner, seeded):
    t = seeded["traces"]
    base = {"search": seeded["word"], "filter": filt(tag_filter(seeded["tag"])), "limit": 2}
    first = owner.get(traces_url(**base, page=1)).json()
    second = owner.get(traces_url(**base, page=2)).json()
    assert first["meta"]["totalItems"] == 3 and first["meta"]["totalPages"] == 2
    assert len(first["data"]) == 2 and len(second["data"]) == 1
    assert {r["id"] for r in first["data"] + second["data"]} == {t["chat"], t["caps"], t["quote"]}
    # Newest first, as without a search.
    stamps = [r["timestamp"] for r in first["data"] + second["data"]]
    assert stamps == sorted(stamps, reverse=True)
    by_user = filt(tag_filter(seeded["tag"]), {"type": "string", "column": "userId", "operator": "=", "value": "u-2"})
    assert ids(owner.get(traces_url(search=seeded["word"], filter=by_user))) == {t["caps"]}


def test_text_search_reads_at_most_the_row_budget(owner, seeded):
    r = owner.get(traces_url(search=seeded["word"], filter=filt(tag_filter(seeded["bulkTag"]))))
    meta = r.json()["meta"]
    assert meta["search"] == {"searched": ROW_BUDGET, "rowBudget": ROW_BUDGET, "budgetReached": True}
    assert meta["totalItems"] == ROW_BUDGET
    # The first rows of the listing (newest first) were searched.
    all_rows = owner.get(traces_url(filter=filt(tag_filter(seeded["bulkTag"])), limit=100)).json()["data"]
    assert len(all_rows) == ROW_BUDGET + 15
    newest = [row["id"] for row in all_rows[:ROW_BUDGET]]
    found = owner.get(traces_url(search=seeded["word"], filter=filt(tag_filter(seeded["bulkTag"])),
                                 limit=100)).json()["data"]
    assert [row["id"] for row in found] == newest
    assert owner.get(traces_url(search="x" * 501)).status_code == 400


# --------------------------------------------------------------------------- scores


def test_rows_carry_their_scores(owner, seeded):
    t = seeded["traces"]
    rows = owner.get(traces_url(filter=filt(tag_filter(seeded["tag"])))).json()["data"]
    by_id = {r["id"]: r for r in rows}
    assert by_id[t["chat"]]["scores"] == {"accuracy": {"count": 1, "average": 0.9},
                                          "quality": {"count": 1, "average": None, "values": ["good"]}}
    caps = by_id[t["caps"]]["scores"]
    assert caps["accuracy"]["count"] == 2 and abs(caps["accuracy"]["average"] - 0.4) < 1e-9
    assert by_id[t["plain"]]["scores"] == {"resolved": {"count": 1, "average": 1.0}}
    assert by_id[t["meta"]]["scores"] == {}


def test_score_filters(owner, seeded):
    t = seeded["traces"]
    tf = tag_filter(seeded["tag"])
    num = lambda op, v: {"type": "numberObject", "column": "scores", "key": "accuracy", "operator": op, "value": v}
    assert ids(owner.get(traces_url(filter=filt(tf, num(">=", 0.8))))) == {t["chat"]}
    # Any score of the name may match: caps has 0.3 and 0.5.
    assert ids(owner.get(traces_url(filter=filt(tf, num("<", 0.4))))) == {t["caps"]}
    assert ids(owner.get(traces_url(filter=filt(tf, num(">", 0.1))))) == {t["chat"], t["caps"]}
    cat = lambda op, v: {"type": "categoryOptions", "column": "scores", "key": "quality", "operator": op, "value": v}
    assert ids(owner.get(traces_url(filter=filt(tf, cat("any of", ["bad"]))))) == {t["caps"]}
    assert ids(owner.get(traces_url(filter=filt(tf, cat("none of", ["bad"]))))) == {t["chat"]}
    # Boolean scores compare as 0/1.
    boolean = {"type": "numberObject", "column": "scores", "key": "resolved", "operator": "=", "value": 1}
    assert ids(owner.get(traces_url(filter=filt(tf, boolean)))) == {t["plain"]}
    # Two score conditions and a text search all hold.
    both = filt(tf, num(">", 0.1), cat("any of", ["good", "bad"]))
    assert ids(owner.get(traces_url(filter=both, search="stone town"))) == {t["chat"]}


@pytest.mark.parametrize("cond,message", [
    ({"type": "numberObject", "column": "scores", "operator": ">", "value": 1}, "key"),
    ({"type": "numberObject", "column": "scores", "key": "a", "operator": "; DROP", "value": 1}, "operator"),
    ({"type": "numberObject", "column": "scores", "key": "a", "operator": ">", "value": "1"}, "number"),
    ({"type": "categoryOptions", "column": "scores", "key": "a", "operator": "all of", "value": ["x"]}, "operator"),
    ({"type": "categoryOptions", "column": "scores", "key": "a", "operator": "any of", "value": "x"}, "list"),
])
def test_bad_score_filters_are_refused(owner, cond, message):
    r = owner.get(traces_url(filter=filt(cond)))
    assert r.status_code == 400, r.text
    assert message in r.json()["message"]


def test_score_names(owner, seeded, ui_server):
    api = Api(ui_server.url)
    r = api.post("/api/public/score-configs", json={"name": "helpful", "dataType": "NUMERIC", "minValue": 0,
                                                    "maxValue": 1})
    assert r.status_code in (200, 201), r.text
    names = {(n["name"], n["dataType"]): n["count"] for n in owner.get(f"{P}/score-names").json()["data"]}
    assert names[("accuracy", "NUMERIC")] >= 3
    assert names[("quality", "CATEGORICAL")] >= 2
    assert names[("resolved", "BOOLEAN")] >= 1
    assert names[("helpful", "NUMERIC")] == 0  # known from its config only


# --------------------------------------------------------------------------- isolation


def test_other_organizations_see_nothing(ui_server, seeded):
    stranger = UiClient(ui_server.url)
    stranger.sign_up()
    for path in (traces_url(search=seeded["word"]), f"{P}/score-names", f"{P}/members"):
        assert stranger.get(path).status_code == 404, path
    r = stranger.post(f"{P}/members", {"email": "someone@loupe.test", "role": "VIEWER"})
    assert r.status_code == 404
    anonymous = UiClient(ui_server.url)
    assert anonymous.get(traces_url(search="x")).status_code == 401
    assert anonymous.post("/api/ui/account", {"name": "x"}).status_code == 401


# --------------------------------------------------------------------------- account


def test_account_name_and_password(ui_server):
    email = f"acct-{uid('a')}@loupe.test"
    me = UiClient(ui_server.url)
    me.sign_up(email=email, password="first-password-1", name="First Name")
    other_device = UiClient(ui_server.url)
    other_device.sign_in(email, "first-password-1")

    assert me.post("/api/ui/account", {"name": "  "}).status_code == 400
    r = me.post("/api/ui/account", {"name": "Second Name"})
    assert r.status_code == 200 and r.json()["name"] == "Second Name"
    assert me.get("/api/ui/auth/session").json()["user"]["name"] == "Second Name"

    r = me.post("/api/ui/account/password", {"currentPassword": "wrong-password", "newPassword": "new-password-22"})
    assert r.status_code == 400 and "current password" in r.json()["message"]
    r = me.post("/api/ui/account/password", {"currentPassword": "first-password-1", "newPassword": "short"})
    assert r.status_code == 400
    r = me.post("/api/ui/account/password", {"currentPassword": "first-password-1", "newPassword": "new-password-22"})
    assert r.status_code == 200 and r.json()["otherSessionsEnded"] == 1, r.text
    # This session goes on; the other one is over; only the new password works.
    assert me.get("/api/ui/auth/session").status_code == 200
    assert other_device.get("/api/ui/auth/session").status_code == 401
    fresh = UiClient(ui_server.url)
    assert fresh.post("/api/ui/auth/sign-in", {"email": email, "password": "first-password-1"}).status_code == 401
    fresh.sign_in(email, "new-password-22")


def test_account_writes_refuse_other_origins(owner):
    r = owner.post("/api/ui/account", {"name": "x"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = owner.post("/api/ui/account/password", {"currentPassword": USER_PASSWORD, "newPassword": "whatever-123"},
                   headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


# --------------------------------------------------------------------------- invitations


def test_invitation_becomes_a_membership_on_sign_up(owner, ui_server):
    email = f"Invited-{uid('i')}@Loupe.test"
    r = owner.post(f"{P}/members", {"email": email, "role": "VIEWER"})
    assert r.status_code == 201, r.text
    inv = r.json()
    assert inv["invited"] is True and inv["email"] == email.lower() and inv["role"] == "VIEWER"
    assert inv["signUpUrl"].endswith("/auth/sign-up?email=" + urllib.parse.quote(email.lower(), safe=""))
    listed = owner.get(f"{P}/members").json()
    assert [i["email"] for i in listed["invitations"]].count(email.lower()) == 1
    # Inviting again changes the role of the same invitation.
    assert owner.post(f"{P}/members", {"email": email.lower(), "role": "MEMBER"}).status_code == 201
    pending = [i for i in owner.get(f"{P}/members").json()["invitations"] if i["email"] == email.lower()]
    assert len(pending) == 1 and pending[0]["role"] == "MEMBER"

    newcomer = UiClient(ui_server.url)
    session = newcomer.sign_up(email=email.upper())  # emails compare case-insensitively
    projects = [p for o in session["organizations"] for p in o["projects"]]
    assert any(p["id"] == PROJECT_ID and p["role"] == "MEMBER" for p in projects), projects
    assert newcomer.get(traces_url()).status_code == 200
    after = owner.get(f"{P}/members").json()
    assert all(i["email"] != email.lower() for i in after["invitations"])
    assert any(m["email"] == email.lower() and m["orgRole"] == "MEMBER" for m in after["data"])


def test_invitation_roles_are_enforced(owner, ui_server):
    member = UiClient(ui_server.url)
    member_id = member.sign_up()["user"]["id"]
    add_member(ui_server.url, member_id, "MEMBER")
    viewer = UiClient(ui_server.url)
    viewer_id = viewer.sign_up()["user"]["id"]
    add_member(ui_server.url, viewer_id, "VIEWER")
    admin = UiClient(ui_server.url)
    admin_id = admin.sign_up()["user"]["id"]
    add_member(ui_server.url, admin_id, "ADMIN")

    invite = lambda c, role, email=None: c.post(f"{P}/members", {"email": email or f"{uid('x')}@loupe.test",
                                                                  "role": role})
    assert invite(member, "VIEWER").status_code == 403
    assert invite(viewer, "VIEWER").status_code == 403
    assert invite(admin, "OWNER").status_code == 403  # above their own role
    assert invite(admin, "ADMIN", "not-an-email").status_code == 400
    by_admin = invite(admin, "ADMIN")
    assert by_admin.status_code == 201, by_admin.text
    by_owner = invite(owner, "OWNER")
    assert by_owner.status_code == 201

    # A viewer sees no member list; a member does, with the invitations.
    assert viewer.get(f"{P}/members").status_code == 403
    assert {i["id"] for i in member.get(f"{P}/members").json()["invitations"]} >= {
        by_admin.json()["id"], by_owner.json()["id"]}
    # Withdrawing: admins, not above their role; others not at all.
    owner_inv = by_owner.json()["id"]
    admin_inv = by_admin.json()["id"]
    assert viewer.delete(f"{P}/invitations/{admin_inv}").status_code == 403
    assert member.delete(f"{P}/invitations/{admin_inv}").status_code == 403
    assert admin.delete(f"{P}/invitations/{owner_inv}").status_code == 403
    assert admin.delete(f"{P}/invitations/{admin_inv}").status_code == 200
    assert admin.delete(f"{P}/invitations/{admin_inv}").status_code == 404
    assert owner.delete(f"{P}/invitations/{owner_inv}").status_code == 200
    # Another organization's member cannot see or touch them.
    stranger = UiClient(ui_server.url)
    stranger.sign_up()
    assert stranger.delete(f"{P}/invitations/{owner_inv}").status_code == 404


# --------------------------------------------------------------------------- browser


@pytest.mark.slow
def test_search_scores_graph_and_accounts_in_a_browser(ui_server, seeded):
    from ui.test_ui_browser import _missing

    missing = _missing()
    if missing:
        pytest.skip(missing)
    env = dict(os.environ, BASE_URL=ui_server.url, EMAIL=USER_EMAIL, PASSWORD=USER_PASSWORD,
               PROJECT_ID=PROJECT_ID, SHOT_DIR=str(SHOT_DIR), CHROMIUM=CHROMIUM, SEED=json.dumps(seeded))
    proc = subprocess.run(["node", str(UI_DIR / "e2e_search_graph_accounts.mjs")], env=env, capture_output=True,
                          text=True, timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    report = "\n".join(lines) + "\n" + proc.stderr[-3000:]
    final = json.loads(lines[-1]) if lines else {}
    assert proc.returncode == 0 and not final.get("problems"), report
    steps = {json.loads(ln).get("step") for ln in lines[:-1]}
    for step in ("find-by-text", "score-columns", "score-filter", "agent-graph", "account",
                 "invitation", "invited-sign-up"):
        assert step in steps, report
    for name in ("30-search-text", "31-search-budget", "32-score-columns", "33-score-filter",
                 "34-agent-graph", "35-account", "36-invitation", "37-invited-sign-up", "38-agent-graph-by-type"):
        assert (SHOT_DIR / f"{name}.png").stat().st_size > 10000, name

"""The web UI in a real browser: tests/ui/e2e.mjs drives Debian's chromium
with playwright-core through sign-in, project and key creation, traces sent
with the `langfuse` JS SDK, filters, the trace tree and timeline, a session,
users and the dashboard, then times the trace list and a 10,000-observation
trace. Screenshots land in build/ui-screenshots/."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess

import pytest

from integration.harness import PROJECT_ID, PUBLIC_KEY, ROOT, SECRET_KEY
from ui.ui_helpers import USER_EMAIL, USER_PASSWORD

UI_DIR = ROOT / "tests" / "ui"
SDK_DIR = ROOT / "tests" / "compat" / "node"
SHOT_DIR = pathlib.Path(os.environ.get("LOUPE_UI_SCREENSHOTS", ROOT / "build" / "ui-screenshots"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _missing() -> str | None:
    if os.environ.get("LOUPE_SKIP_UI_BROWSER") == "1":
        return "LOUPE_SKIP_UI_BROWSER=1"
    if not shutil.which("node"):
        return "node not found"
    if not pathlib.Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found: run scripts/setup-ui-test-env.sh"
    if not (UI_DIR / "node_modules" / "playwright-core").exists():
        return "playwright-core not installed: run scripts/setup-ui-test-env.sh"
    if not (SDK_DIR / "node_modules" / "langfuse").exists():
        return "the langfuse JS SDK is not installed: run scripts/setup-test-env.sh"
    return None


@pytest.mark.slow
def test_ui_in_a_browser(ui_server):
    missing = _missing()
    if missing:
        pytest.skip(missing)
    env = dict(os.environ, BASE_URL=ui_server.url, EMAIL=USER_EMAIL, PASSWORD=USER_PASSWORD,
               PROJECT_ID=PROJECT_ID, PUBLIC_KEY=PUBLIC_KEY, SECRET_KEY=SECRET_KEY,
               SHOT_DIR=str(SHOT_DIR), SDK_DIR=str(SDK_DIR), CHROMIUM=CHROMIUM)
    proc = subprocess.run(["node", str(UI_DIR / "e2e.mjs")], env=env, capture_output=True, text=True,
                          timeout=600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    final = json.loads(lines[-1]) if lines else {}
    report = "\n".join(lines) + "\n" + proc.stderr[-3000:]
    assert proc.returncode == 0 and not final.get("problems"), report
    steps = {json.loads(ln).get("step") for ln in lines[:-1]}
    for step in ("sign-in", "create-project-and-key", "sdk-sent", "filter-by-level", "export-filtered",
                 "trace-tree-and-timeline", "chat-rendering", "session", "users", "dashboard",
                 "timings", "sign-up-and-setup", "sign-out"):
        assert step in steps, report
    summary = final["summary"]
    print("UI timings:", json.dumps(summary))
    (SHOT_DIR / "timings.json").write_text(json.dumps(summary, indent=2))
    for name in ("01-sign-in", "03-traces", "05-trace-tree", "06-trace-timeline", "08-session",
                 "10-dashboard", "12-big-trace"):
        assert (SHOT_DIR / f"{name}.png").stat().st_size > 10000, name
    # Generous bounds (CI machines vary); bench/README has the measured figures.
    assert min(summary["traceList50RowsMs"]) < 2000, summary
    assert min(summary["bigTraceOpenMs"]) < 5000, summary


def test_web_unit_tests():
    """The UI's pure logic (tree building, URL view state) under vitest."""
    web = ROOT / "web"
    if not (web / "node_modules" / "vitest").exists():
        pytest.skip("web/node_modules missing: the UI was not built (make build)")
    proc = subprocess.run(["npx", "--no-install", "vitest", "run"], cwd=web, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

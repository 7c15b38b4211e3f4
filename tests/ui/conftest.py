"""Fixtures of the web UI tests (helpers in ui_helpers.py)."""

from __future__ import annotations

import pytest

from ui.ui_helpers import UiClient, start_ui_server


@pytest.fixture(scope="module")
def ui_server(tmp_root, request):
    srv = start_ui_server(tmp_root, "ui-" + request.module.__name__.split(".")[-1])
    yield srv
    assert srv.stop() == 0, srv.log_tail()


@pytest.fixture
def ui_client(ui_server) -> UiClient:
    return UiClient(ui_server.url)

"""Constants and assertions shared by the management API tests."""

from __future__ import annotations

ORG_PUBLIC_KEY = "pk-lf-org-test"
ORG_SECRET_KEY = "sk-lf-org-test"
ENCRYPTION_KEY = "0123456789abcdef" * 4
ADMIN_API_KEY = "loupe-admin-test-key"

USER_EMAIL = "owner@loupe.test"
USER_NAME = "Owner"

ADMIN_ENV = {
    "LOUPE_INIT_ORG_PUBLIC_KEY": ORG_PUBLIC_KEY,
    "LOUPE_INIT_ORG_SECRET_KEY": ORG_SECRET_KEY,
    "ENCRYPTION_KEY": ENCRYPTION_KEY,
    "ADMIN_API_KEY": ADMIN_API_KEY,
    "LANGFUSE_INIT_USER_EMAIL": USER_EMAIL,
    "LANGFUSE_INIT_USER_NAME": USER_NAME,
    "LANGFUSE_INIT_USER_PASSWORD": "owner-password-1",
}


def assert_error(r, status: int, *fragments: str) -> dict:
    """The response has `status`, a JSON body with a message, and each fragment in it."""
    assert r.status_code == status, f"{r.status_code} != {status}: {r.text[:500]}"
    body = r.json()
    text = (str(body.get("message", "")) + " " + str(body.get("error", ""))).lower()
    assert body.get("message") or body.get("error"), body
    for f in fragments:
        assert f.lower() in text, f"{f!r} not in {body}"
    return body

"""The real Langfuse Python SDK v2 (PyPI `langfuse>=2,<3`) against Loupe's prompt routes:
create_prompt (text and chat), get_prompt by the default label, by label and by version,
compile(), update_prompt (labels), folder names (sent with unencoded '/'), and a missing
prompt with and without a fallback. Client caching is disabled (cache_ttl_seconds=0) so
every get goes to the server."""

from __future__ import annotations

import pytest

from integration.harness import PUBLIC_KEY, SECRET_KEY, uid

langfuse = pytest.importorskip("langfuse")


@pytest.fixture(scope="module")
def lf(loupe):
    client = langfuse.Langfuse(public_key=PUBLIC_KEY, secret_key=SECRET_KEY, host=loupe.url,
                               enabled=True, debug=False)
    yield client
    client.shutdown()


def test_text_prompt_lifecycle(lf, api):
    name = uid("py-text")
    created = lf.create_prompt(name=name, prompt="Hello {{name}}, {{greeting}}!", labels=["production"],
                               config={"model": "gpt-4o", "temperature": 0.2}, tags=["sdk"],
                               commit_message="first")
    assert (created.name, created.version, created.labels) == (name, 1, ["production", "latest"])

    p = lf.get_prompt(name, cache_ttl_seconds=0)
    assert p.version == 1 and not p.is_fallback
    assert p.compile(name="Ada", greeting="hi") == "Hello Ada, hi!"
    assert p.config == {"model": "gpt-4o", "temperature": 0.2}
    assert p.tags == ["sdk"] and p.commit_message == "first"

    lf.create_prompt(name=name, prompt="Bye {{name}}")
    assert lf.get_prompt(name, version=2, cache_ttl_seconds=0).compile(name="Ada") == "Bye Ada"
    assert lf.get_prompt(name, label="latest", cache_ttl_seconds=0).version == 2
    assert lf.get_prompt(name, cache_ttl_seconds=0).version == 1  # production stays on v1

    lf.update_prompt(name=name, version=2, new_labels=["production"])
    p = lf.get_prompt(name, cache_ttl_seconds=0)
    assert p.version == 2 and set(p.labels) == {"production", "latest"}
    assert api.get_json(f"/api/public/v2/prompts/{name}", {"version": 1})["labels"] == []
    # tags were inherited by version 2
    assert p.tags == ["sdk"]


def test_chat_prompt_compile(lf):
    name = uid("py-chat")
    lf.create_prompt(name=name, type="chat", labels=["production"],
                     prompt=[{"role": "system", "content": "You are {{role}}"},
                             {"role": "user", "content": "{{question}}"}])
    p = lf.get_prompt(name, type="chat", cache_ttl_seconds=0)
    assert p.version == 1
    assert p.compile(role="a tutor", question="what is 2+2?") == [
        {"role": "system", "content": "You are a tutor"},
        {"role": "user", "content": "what is 2+2?"}]


def test_folder_names(lf):
    name = f"{uid('py-folder')}/nested/prompt"
    lf.create_prompt(name=name, prompt="in a folder", labels=["production"])
    p = lf.get_prompt(name, cache_ttl_seconds=0)
    assert (p.name, p.compile()) == (name, "in a folder")
    lf.update_prompt(name=name, version=1, new_labels=["staging"])
    assert lf.get_prompt(name, label="staging", cache_ttl_seconds=0).version == 1


def test_missing_prompt_raises_or_uses_the_fallback(lf):
    name = uid("py-missing")
    with pytest.raises(Exception) as err:
        lf.get_prompt(name, cache_ttl_seconds=0, max_retries=1)
    assert "not found" in str(err.value).lower()
    p = lf.get_prompt(name, cache_ttl_seconds=0, max_retries=1, fallback="fallback {{x}}")
    assert p.is_fallback and p.compile(x="y") == "fallback y"


def test_prompt_resolution_is_visible_to_the_sdk(lf):
    base, composite = uid("py-base"), uid("py-comp")
    lf.create_prompt(name=base, prompt="Be concise.", labels=["production"])
    lf.create_prompt(name=composite, labels=["production"],
                     prompt=f"@@@langfusePrompt:name={base}|label=production@@@ Answer {{{{q}}}}")
    assert lf.get_prompt(composite, cache_ttl_seconds=0).compile(q="why") == "Be concise. Answer why"

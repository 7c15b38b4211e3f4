"""Loads the Langfuse OpenAPI spec kept in tests/fixtures/openapi and validates
response bodies against the schema it declares for an operation and status.

The spec is OpenAPI 3.0.1, whose schema dialect differs from JSON Schema in two
ways that matter here, and the document is converted once, mechanically:

* `nullable: true` becomes `anyOf: [<schema>, {type: null}]`;
* `oneOf` becomes `anyOf`: the spec's unions are either discriminated by an
  enum (`dataType`, `type`), where both are equivalent, or overlap by design
  (`MapValue`: nullable string | integer | number | ...; an integer also is a
  number), where `oneOf` would reject every valid value.

`$ref`s are resolved by `referencing` against the converted document itself.
Nothing is copied out of the spec by hand.
"""

from __future__ import annotations

import copy
import functools
import pathlib
import re
from typing import Any

import jsonschema
import referencing
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "tests" / "fixtures" / "openapi" / "openapi-v3.225.4.yml"
SPEC_URI = "urn:langfuse-openapi"
METHODS = ("get", "post", "put", "patch", "delete")


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v) for k, v in node.items() if k not in ("nullable", "discriminator", "example")}
    if "oneOf" in out:
        out["anyOf"] = out.pop("oneOf")
    if "$ref" in out:
        # OpenAPI 3.0 ignores the siblings of a $ref (except `nullable`, handled below).
        out = {"$ref": SPEC_URI + out["$ref"]}
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


@functools.lru_cache(maxsize=1)
def raw_spec() -> dict:
    with open(SPEC_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


@functools.lru_cache(maxsize=1)
def _registry_and_doc() -> tuple[referencing.Registry, dict]:
    doc = _convert(copy.deepcopy(raw_spec()))
    resource = referencing.Resource.from_contents(doc, default_specification=referencing.jsonschema.DRAFT4)
    return referencing.Registry().with_resource(SPEC_URI, resource), doc


def operation(method: str, template: str) -> dict:
    paths = raw_spec()["paths"]
    assert template in paths, f"{template} is not a path of the spec"
    op = paths[template].get(method.lower())
    assert op is not None, f"{method.upper()} {template} is not an operation of the spec"
    return op


def success_status(method: str, template: str) -> int:
    """The (single) 2xx status the spec declares for the operation."""
    codes = [int(c) for c in operation(method, template)["responses"] if str(c).startswith("2")]
    assert len(codes) == 1, (method, template, codes)
    return codes[0]


def response_schema(method: str, template: str, status: int) -> dict | None:
    """The converted JSON schema of the response body, None when the spec declares no body."""
    responses = _registry_and_doc()[1]["paths"][template][method.lower()]["responses"]
    resp = responses.get(str(status), responses.get(status))
    assert resp is not None, f"the spec declares no {status} response for {method.upper()} {template}"
    content = resp.get("content") or {}
    media = content.get("application/json")
    if media is None:
        return None
    return media.get("schema")


FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: Any) -> bool:
    """RFC 3339 date-time with a zone (`Z` or an offset), as `Date.toISOString()` renders it."""
    if not isinstance(value, str):
        return True
    if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    return True


def errors(schema: dict, body: Any) -> list[str]:
    registry, _ = _registry_and_doc()
    validator = jsonschema.Draft4Validator(schema, registry=registry, format_checker=FORMATS)
    out = []
    for e in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in e.absolute_path) or "<root>"
        msg = e.message if len(e.message) < 300 else e.message[:300] + "..."
        out.append(f"{where}: {msg}")
        # anyOf failures: say which branch came closest.
        for sub in (e.context or [])[:6]:
            sw = "/".join(str(p) for p in sub.absolute_path) or "<root>"
            out.append(f"    - {sw}: {sub.message[:200]}")
    return out


def template_for(method: str, concrete_path: str) -> str | None:
    """The spec path template matching a concrete path (literal segments win)."""
    best = None
    for tpl, ops in raw_spec()["paths"].items():
        if method.lower() not in ops:
            continue
        rx = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(tpl)) + "$"
        if re.match(rx, concrete_path):
            score = tpl.count("{")
            if best is None or score < best[0]:
                best = (score, tpl)
    return best[1] if best else None

"""The contract at the API edge: types whose JSON Schema says exactly what the server does, and
the finishing of the OpenAPI document every route inherits.

Types (use them in request and response schemas instead of the bare Python types):

- :data:`UtcDateTime`: an instant. The store keeps naive UTC (``credit.clock``); on the wire
  it is timezone-aware UTC (``2026-12-05T20:50:47.068099Z``), as ``format: date-time``
  (RFC 3339) requires. Read as input, an instant must carry its offset; it reaches the route
  as naive UTC, as the store keeps it.
- :func:`day` / :data:`Day`: a calendar day, ``YYYY-MM-DD`` only (no ``0`` read as 1970-01-01),
  with its range in the schema's pattern, so a day the schema allows is a day the server takes.
- :data:`Probability`: a PD as a decimal string of at most 6 decimals (``"0.011789"``).
- :data:`Rate`: a rate of the policy (advance, fee, withholding) as an exact decimal string.
- :data:`InstantIn`: an instant a client sends (a sandbox clock, a filter): its offset required.

:func:`finish_contract` makes ``app.openapi()`` document, on every operation, the statuses and
headers the kit gives it: by what the route depends on, not by what each route remembers to
list (see :func:`_kit_statuses`). It also writes integer bounds exactly (FastAPI's document
model turns ``2**63 - 1`` into the float ``9.223372036854776e18``).
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Callable, Iterator
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

from credit.paging import MAX_ID
from credit.probability import PD_PLACES, pd_text

# --- instants -----------------------------------------------------------------------------------


def _utc_out(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


UtcDateTime = Annotated[datetime, AfterValidator(_utc_out)]
"""A response's instant: a naive value from the store is UTC; shown with its zone (``...Z``)."""


def _aware_in(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("must be an instant with its UTC offset, e.g. 2026-12-05T20:50:47Z")
    if isinstance(value, str) and not _OFFSET.search(value.strip()):
        raise ValueError("must be an RFC 3339 date-time with its UTC offset, e.g. 2026-12-05T20:50:47Z")
    return value


_OFFSET = re.compile(r"(Z|z|[+-][0-9]{2}:[0-9]{2})$")

InstantIn = Annotated[
    datetime,
    BeforeValidator(_aware_in),
    AfterValidator(lambda value: value.astimezone(timezone.utc).replace(tzinfo=None)),
    PlainSerializer(lambda value: _utc_out(value).isoformat().replace("+00:00", "Z"), return_type=str),
]
"""A request's instant: an offset is required; the route receives naive UTC, as the store keeps it."""

# --- days ---------------------------------------------------------------------------------------


def _range_pattern(low: str, high: str) -> str:
    """A regex (ASCII digits) matching the decimal numbers ``low..high``, both written with the same width."""
    width = len(low)
    if low == "0" * width and high == "9" * width:
        return f"[0-9]{{{width}}}"
    if width == 1:
        return low if low == high else f"[{low}-{high}]"
    if low[0] == high[0]:
        return low[0] + _range_pattern(low[1:], high[1:])
    parts = [low[0] + _range_pattern(low[1:], "9" * (width - 1))]
    if int(high[0]) - int(low[0]) > 1:
        parts.append(f"[{int(low[0]) + 1}-{int(high[0]) - 1}][0-9]{{{width - 1}}}")
    parts.append(high[0] + _range_pattern("0" * (width - 1), high[1:]))
    return "(" + "|".join(parts) + ")"


def _year_pattern(first: int, last: int) -> str:
    return _range_pattern(f"{first:04d}", f"{last:04d}")


_MONTH_DAY = "-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def day(first: date = date(1900, 1, 1), last: date = date(2999, 12, 31)) -> Any:
    """A calendar day ``first..last`` as ``YYYY-MM-DD``; whole years only, so the pattern holds the range.

    Anything else (``0``, ``20261205``, a day out of range) is 422 naming the parameter.
    """
    if (first.month, first.day) != (1, 1) or (last.month, last.day) != (12, 31):
        raise ValueError("day(): the range must be whole years")

    def parse(value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            text = value.isoformat()
        elif isinstance(value, str) and _ISO_DAY.fullmatch(value):
            text = value
        else:
            raise ValueError(f"must be a day as YYYY-MM-DD from {first} to {last}")
        try:
            parsed = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"must be a day as YYYY-MM-DD from {first} to {last}; {text} is no calendar day") from None
        if not first <= parsed <= last:
            raise ValueError(f"must be a day from {first} to {last}; got {text}")
        return parsed

    return Annotated[date, BeforeValidator(parse), WithJsonSchema({
        "type": "string", "format": "date", "pattern": f"^{_year_pattern(first.year, last.year)}{_MONTH_DAY}$",
        "description": f"A day as YYYY-MM-DD, from {first} to {last}."})]


Day = day()
"""A day from 1900-01-01 to 2999-12-31 (the store can hold the end of each)."""

# --- decimals -----------------------------------------------------------------------------------



Probability = Annotated[
    Decimal,
    PlainSerializer(pd_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": rf"^(0\.[0-9]{{{PD_PLACES}}}|1\.0{{{PD_PLACES}}})$",
                    "examples": ["0.011789"],
                    "description": f"A probability as a decimal string of {PD_PLACES} decimals."}),
]
"""A probability of default: shown as a decimal string rounded to 6 places (``"0.011789"``)."""

Rate = Annotated[
    Decimal,
    PlainSerializer(lambda value: str(value), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "examples": ["0.85"],
                    "description": "An exact decimal string (a share: 0.85 is 85%)."}),
]
"""A rate of the policy, exact: shown as the decimal string it is (``"0.85"``)."""

# --- the document -------------------------------------------------------------------------------

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield getattr(dependency.call, "__wrapped__", dependency.call)
            yield dependency.call
        yield from _calls(dependency)


def _dependency(annotated: Any) -> Callable[..., Any]:
    """The function behind a kit ``Annotated[..., Depends(f)]`` (as :func:`_calls` yields it, unwrapped)."""
    function = typing.get_args(annotated)[1].dependency
    return getattr(function, "__wrapped__", function)


def _kit_statuses(route: Any) -> dict[int, str]:
    """Statuses the kit answers on this route, by what it depends on, with their description."""
    from api.kit.auth import CallerDep
    from api.kit.errors import describe_status
    from api.kit.idempotency import IdempotencyDep

    calls = set(_calls(route.dependant))
    names = {getattr(call, "__name__", "") for call in calls}
    statuses: dict[int, str] = {}
    if _dependency(CallerDep) in calls:
        statuses[401] = describe_status(401)
        statuses[429] = describe_status(429)
    if any(name.startswith("requires_") for name in names):
        statuses[403] = describe_status(403)
    if _dependency(IdempotencyDep) in calls:
        statuses[400] = describe_status(400)
        statuses[409] = describe_status(409)
        statuses[422] = describe_status(422)
    if route.body_field is not None:
        statuses[400] = describe_status(400)  # a body that is not JSON at all (bad bytes)
        statuses[413] = describe_status(413)
        statuses[422] = describe_status(422)
    if route.dependant.path_params or route.dependant.query_params or route.dependant.header_params:
        statuses[422] = describe_status(422)
    return statuses


def _exact_integers(node: Any) -> Any:
    """Integer bounds back to integers; a float bound beyond 2**53 can only be the kit's MAX_ID."""
    if isinstance(node, list):
        return [_exact_integers(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _exact_integers(value) for key, value in node.items()}
    if out.get("type") == "integer":
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
            value = out.get(key)
            if isinstance(value, float) and value.is_integer():
                exact = int(value)
                if abs(exact) >= 2**53:
                    if value != float(MAX_ID):
                        raise ValueError(f"integer bound {value!r} is not exact in the OpenAPI document; "
                                         "use credit.paging.MAX_ID or a bound below 2**53")
                    exact = MAX_ID if value > 0 else -MAX_ID
                out[key] = exact
    return out


def _finish(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    from api.kit.errors import RETRY_AFTER_HEADER
    from api.kit.idempotency import IDEMPOTENCY_HEADER, MAX_KEY_LENGTH

    document = _exact_integers(document)
    _no_control_characters(document)
    paths = document.get("paths", {})
    for route in routing.iter_route_contexts(app.routes):  # included routers' routes too (FastAPI >= 0.130)
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods:
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in _kit_statuses(route).items():
                entry = responses.setdefault(str(status), {"description": description})
                content = entry.setdefault("content", {}).setdefault("application/json", {})
                content["schema"] = _ERROR_REF  # FastAPI's own 422 (HTTPValidationError) is not what the kit sends
                if status == 429:
                    entry.setdefault("headers", {}).update(
                        {name: dict(header) for name, header in RETRY_AFTER_HEADER.items()})
                if status == 401:
                    entry.setdefault("headers", {})["WWW-Authenticate"] = {
                        "description": "`Bearer`.", "required": True, "schema": {"type": "string"}}
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter.get("name") == IDEMPOTENCY_HEADER:
                    parameter["required"] = True
                    parameter["schema"] = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH,
                                           "pattern": f"^[!-~]{{1,{MAX_KEY_LENGTH}}}$",
                                           "title": IDEMPOTENCY_HEADER, "examples": ["3f1c2a9e-7b1d-4c55-9e0a-2d1f5b7c8e90"]}
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        if not _referenced(document, name):
            schemas.pop(name, None)
    return document


_TEXT = "[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F]"
FREE_TEXT_PATTERN = f"^{_TEXT}*$"
"""Text the service takes: no control character but tab, line feed and carriage return (credit/text.py)."""
NON_BLANK_TEXT_PATTERN = f"^{_TEXT}*[^\\s\\u0000-\\u001F]{_TEXT}*$"
"""The same with at least one character that is not white space (the kit's ``pattern=r"\\S"`` fields)."""


def _no_control_characters(document: dict[str, Any]) -> None:
    # The kit refuses control characters in any text a request carries (api/kit/text.py): every
    # string without a narrower rule of its own (enum, format, a pattern) says so. Not the error
    # bodies: a refusal quotes what was refused (a JSON key with a NUL in ``loc`` and ``message``).
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        if not name.startswith("Error"):
            _mark_text(schema)
    for item in document.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else ():
                _mark_text(parameter.get("schema"))
            _mark_text(operation.get("requestBody") if isinstance(operation, dict) else None)


def _mark_text(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"enum", "const", "format"} & node.keys():
            if "pattern" not in node:
                node["pattern"] = FREE_TEXT_PATTERN
            elif node["pattern"] == "\\S":
                node["pattern"] = NON_BLANK_TEXT_PATTERN
        for value in node.values():
            _mark_text(value)
    elif isinstance(node, list):
        for value in node:
            _mark_text(value)


def _referenced(document: dict[str, Any], name: str) -> bool:
    return f'"#/components/schemas/{name}"' in json.dumps(document)


def finish_contract(app: FastAPI) -> None:
    """Make ``app.openapi()`` the finished document (computed once, cached as FastAPI caches its own)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _finish(app, generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

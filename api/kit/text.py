"""Control characters in what a client sends: refused once, for every route, as a 422 naming the field.

PostgreSQL's text cannot hold NUL (``\\x00``): a NUL that reached a query was a 500 there
(and a string SQLite stored but nothing downstream could print). Other C0 control
characters have no business in names, references and reasons either. So every string of a
JSON body (object keys included, at any depth) and every query parameter the route declares
is checked before
the route runs, by :func:`reject_control_characters`, which the app declares as a
dependency of every route (``FastAPI(dependencies=...)``), not schema by schema:

* refused, in a JSON body's strings and the route's declared query parameters: U+0000 to
  U+001F, except the three that free text may hold: tab, line feed and carriage return
  (:data:`credit.text.CONTROL_CHARACTERS`, which ingest's rule ``no_control:<column>`` shares);
* the answer: 422 ``validation_failed``, ``details`` in the validation shape, ``loc`` the
  field's path (``["body", "reason"]``, ``["body", "items", 0, "name"]``, ``["query", "cursor"]``).

It runs with the body FastAPI already parsed (Starlette caches it on the request), before
the API key is read, as FastAPI itself refuses a body that is not JSON. A body without a
backslash is passed at once: JSON cannot carry a control character unescaped, so only an
escape (``\\u0000``, ``\\b``) can bring one.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from credit.text import control_character


def _refused(loc: tuple[str | int, ...], character: str) -> RequestValidationError:
    return RequestValidationError([{
        "type": "string_control_character", "loc": loc,
        "msg": f"Text must not contain control characters (found {character}); only tab, line feed and "
               "carriage return are allowed.",
    }])


def _check_json(value: Any) -> None:
    stack: list[tuple[tuple[str | int, ...], Any]] = [(("body",), value)]
    while stack:  # a loop, not recursion: a deeply nested body must not overflow the stack
        loc, item = stack.pop()
        if isinstance(item, str):
            if (character := control_character(item)) is not None:
                raise _refused(loc, character)
        elif isinstance(item, dict):
            for key, child in item.items():
                if (character := control_character(key)) is not None:
                    raise _refused(loc + (key,), character)
                stack.append((loc + (key,), child))
        elif isinstance(item, list):
            stack.extend((loc + (index,), child) for index, child in enumerate(item))


def _query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters the route declares (others are ignored, as FastAPI ignores them)."""
    names = getattr(route, "_query_names", None)  # kept on the route: it lives as long as its app
    if names is None:
        found, dependants = set(), [route.dependant]
        while dependants:
            dependant = dependants.pop()
            found.update(field.alias for field in dependant.query_params)
            dependants.extend(dependant.dependencies)
        names = route._query_names = frozenset(found)  # type: ignore[attr-defined]
    return names


async def reject_control_characters(request: Request) -> None:
    """422 when a declared query parameter or a string of the JSON body holds a refused control character."""
    route = request.scope.get("route")
    if request.scope.get("query_string") and isinstance(route, APIRoute) and (declared := _query_names(route)):
        for name, value in request.query_params.multi_items():
            if name in declared and (character := control_character(value)) is not None:
                raise _refused(("query", name), character)
    if "json" not in request.headers.get("content-type", ""):
        return  # FastAPI parses only a JSON body; a form (the console's) is its route's to read
    body = await request.body()
    if b"\\" not in body:
        return
    try:
        parsed = await request.json()  # parsed by FastAPI already for a route with a body: cached
    except (ValueError, UnicodeDecodeError):
        return  # not JSON: the route's own validation answers
    _check_json(parsed)


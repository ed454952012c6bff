"""The checkout authorization's ordinary request, answered without FastAPI's dependency solver.

``POST /v1/checkout/authorizations`` is the hottest route (issue 19: 1,000 a second on two
cores). Solving its dependencies (the control-character check, the key, the role, the
Idempotency-Key, the unit of work) cost FastAPI more CPU than the authorization's own SQL.
:class:`AuthorizeFastPath` is a plain Starlette route placed before every other one; it
answers the ordinary request with the same pieces the FastAPI route is made of, called
directly:

* the body parsed as FastAPI parses it (``Request.json``) and validated by the same model;
* the key read by the same security schemes and authenticated by the same function
  (:func:`api.kit.auth.authenticate_on`: 401, its rate limit's 429), on a connection the
  app keeps as the request arrives (SQLite) or in the unit of work's transaction (a server),
  instead of on a pooled connection of its own;
* the role and the Idempotency-Key checked, and the unit of work opened, by
  :func:`api.kit.idempotency.open_unit_of_work`, as :data:`~api.kit.idempotency.IdempotentUnitOfWorkDep` does;
* the route's own function (:func:`api.checkout.routes.authorize`) runs, in the same call as
  the claim, in a transaction it shares with the authorizations that
  arrived with it (:mod:`api.checkout.group_commit`: one COMMIT for all; one trip to the
  thread pool on a database server, none on SQLite).

What it raises (401, 403, a replay, 404 ``unknown_firm``, 409 ...) goes to the app's
exception handlers as the FastAPI route's would, so the answers are the same bytes.

Anything out of the ordinary is handed, untouched, to the app's router, which routes it to
the FastAPI route as if this one did not exist: a sandbox (test key) request, a query
string, a missing or repeated ``Content-Type`` or ``Idempotency-Key`` header, a key that is
malformed, a body that is not a JSON object the model accepts or that holds an escape (the
control-character check's business). Those checks come before the first one with an effect
(the rate limiter's token), so a request handed on has changed nothing. The route is not an
``APIRoute``: the OpenAPI document, built from those, is unchanged.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import ValidationError
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Message, Receive, Scope, Send

from api.checkout import routes
from api.checkout.group_commit import Authorization, GroupCommit
from api.checkout.schemas import AuthorizationIn
from api.kit.auth import presented_key
from api.kit.db import STORE_SCOPE_KEY
from api.kit.idempotency import valid_key

PATH = "/v1/checkout/authorizations"
_route = routes.authorize.__wrapped__  # the route's own function, without runs_sql's dispatch: batches are dispatched
_HANDED_ON = "credit.checkout_fast_path.handed_on"  # in the scope of a request handed to the router


class AuthorizeFastPath(BaseRoute):
    """Answers an ordinary ``POST /v1/checkout/authorizations``; hands anything else to the router.

    Parameters
    ----------
    route
        The FastAPI route it stands in front of: the request's ``scope["route"]``, as if that
        route had matched (the metrics' route label, the Idempotency-Key's role check).
    """

    methods = None  # what an app's route listings read (the 405's Allow header): this route adds none
    path_format = PATH  # FastAPI's telemetry names the route by it, as it names the FastAPI route

    def __init__(self, route: APIRoute) -> None:
        self.route = route
        self.group_commit = GroupCommit(_route)
        self.child_scope = {"route": route, "endpoint": route.endpoint, "path_params": {}}

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "POST"
                and not scope.get("root_path") and not scope.get("query_string")
                and STORE_SCOPE_KEY not in scope and _HANDED_ON not in scope):
            return Match.FULL, dict(self.child_scope)
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        headers = request.headers
        content_type = headers.getlist("content-type")
        key = headers.getlist("idempotency-key")
        if content_type != ["application/json"] or len(key) != 1 or not valid_key(key[0]):
            await self._hand_on(scope, receive, send, None)
            return
        raw = await request.body()
        body = None
        if b"\\" not in raw:
            try:
                body = AuthorizationIn.model_validate(await request.json())
            except (ValueError, UnicodeDecodeError, ValidationError):
                pass
        if body is None:
            await self._hand_on(scope, receive, send, raw)
            return
        # From here on as the FastAPI route: the same functions, in the order its dependencies run,
        # in a unit of work shared with the authorizations that arrived with this one (group_commit).
        authorization = Authorization(request, await presented_key(request), key[0], raw, body)
        response = await self.group_commit.submit(authorization)
        await response(scope, receive, send)

    async def _hand_on(self, scope: Scope, receive: Receive, send: Send, body: bytes | None) -> None:
        """Route the request again, past this route; the body already read is received again first."""
        scope[_HANDED_ON] = True
        if body is not None:
            receive = _replaying(body, receive)
        await scope["router"].app(scope, receive, send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # a disconnect, as the client sends it

    return replay


def install(app: FastAPI) -> None:
    """Put :class:`AuthorizeFastPath` before the app's routes (call it once they are all included)."""
    route = next(context.original_route for context in iter_route_contexts(app.routes)
                 if isinstance(context.original_route, APIRoute) and context.path_format == PATH
                 and "POST" in (context.methods or ()))
    app.router.routes.insert(0, AuthorizeFastPath(route))

"""The checkout authorization's ordinary request, answered without FastAPI's dependency solver.

``POST /v1/checkout/authorizations`` is the hottest route (issue 19: 1,000 a second on two
cores). Solving its dependencies (the control-character check, the key, the role, the
Idempotency-Key, the unit of work) cost FastAPI more CPU than the authorization's own SQL.
:class:`AuthorizeFastPath` is a plain Starlette route placed before every other one; it
answers the ordinary request with the same pieces the FastAPI route is made of, called
directly:

* the body parsed as FastAPI parses it (``Request.json``) and validated by the same model;
* the key read by the same security schemes and authenticated by the same function
  (:func:`api.kit.auth.authenticate_on`: 401, its rate limit's 429), on the unit of work's
  connection instead of a pooled connection of its own (see :func:`_authorize`);
* the role and the Idempotency-Key checked, and the unit of work opened and ended, by
  :func:`api.kit.idempotency.open_unit_of_work` / :func:`~api.kit.idempotency.end_unit_of_work`,
  as :data:`~api.kit.idempotency.IdempotentUnitOfWorkDep` does;
* the route's own function (:func:`api.checkout.routes.authorize`) runs, in the same call as
  the key's lookup and the claim (one trip to the thread pool on a database server, none on SQLite).

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
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Message, Receive, Scope, Send

from api.checkout import routes
from api.checkout.schemas import AuthorizationIn
from api.kit.auth import authenticate_on, presented_key
from api.kit.db import STORE_SCOPE_KEY, finish_sql, finish_unit_of_work, kept_unit_of_work, run_sql, take_write_lock
from api.kit.idempotency import IdempotentUnitOfWork, end_unit_of_work, open_unit_of_work, valid_key

PATH = "/v1/checkout/authorizations"
_route = routes.authorize.__wrapped__  # the route's own function, without runs_sql's dispatch: _authorize is dispatched
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
        # in one unit of work run in one go (one trip to the thread pool on a database server).
        session, engine = kept_unit_of_work(request)
        try:
            response, claim = await run_sql(engine, _authorize, request, session, engine,
                                            await presented_key(request), key[0], raw, body)
        except BaseException:
            await finish_sql(engine, finish_unit_of_work, session, False)
            raise
        await end_unit_of_work(claim, engine, True)
        await response(scope, receive, send)

    async def _hand_on(self, scope: Scope, receive: Receive, send: Send, body: bytes | None) -> None:
        """Route the request again, past this route; the body already read is received again first."""
        scope[_HANDED_ON] = True
        if body is not None:
            receive = _replaying(body, receive)
        await scope["router"].app(scope, receive, send)


def _authorize(request: Request, session: Session, engine: Engine, plaintext: str | None, key: str, raw: bytes,
               body: AuthorizationIn) -> tuple[Response, IdempotentUnitOfWork]:
    """Authenticate, check, claim and authorize in ``session``'s unit of work, begun here.

    The API key is looked up without a pooled connection of its own. On SQLite, on the
    connection the app keeps (:func:`~api.kit.db.kept_unit_of_work`) before ``BEGIN IMMEDIATE``,
    in the driver's autocommit as :data:`~api.kit.auth.CallerDep` reads it: a 401 or a 429
    never takes the write lock. On a database server, in the unit of work's own transaction,
    so the lookup, the claim and the route share one trip to the thread pool.
    """
    kept = session.bind if isinstance(session.bind, Connection) else None
    if kept is not None:
        caller = authenticate_on(kept, request, plaintext)
        take_write_lock(session)
    else:
        take_write_lock(session)
        caller = authenticate_on(session, request, plaintext)
    claim, _ = open_unit_of_work(request, caller, key, raw, (session, engine))
    return _route(body=body, request=request, idem=claim, caller=caller), claim


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

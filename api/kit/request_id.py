"""``X-Request-Id``: every response carries one, and so does every log line written while serving it.

The id is the request's own ``X-Request-Id`` when it is a sane value (1 to 128 characters of
letters, digits and ``-_.:/+=@``: a UUID, a trace id, a load balancer's id), so a client or a
proxy can follow its request through the logs; otherwise (absent, too long, other characters)
the service makes one, 32 hex digits. A client's id is not trusted to be unique: it only
labels lines.

:class:`RequestIdMiddleware` is pure ASGI (checkout authorize is benchmarked: no
``BaseHTTPMiddleware`` and its extra task per request). It puts the id in the request's
context variable, where :func:`current_request_id` and :class:`RequestIdFilter` read it (the
filter stamps each record with a ``request_id`` attribute, ``-`` outside a request;
:data:`LOG_FORMAT` prints it; :func:`log_config` is what ``credit serve`` logs with), and in ``request.state.request_id`` for the
error handler of unexpected errors, which answers outside the middleware.
"""

from __future__ import annotations

import copy
import itertools
import logging
import os
import re
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-Id"
_HEADER_KEY = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9\-_.:/+=@]{1,128}")
NO_REQUEST = "-"

_request_id: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
"""The service's log line: time, level, logger, the request id (``-`` outside a request), the message."""


def current_request_id() -> str:
    """The id of the request being served, or ``-`` outside one."""
    return _request_id.get()


# A random prefix per process and a counter: unique across processes and requests, and no
# system call per request (os.urandom costs ~2 us here, on checkout's benchmarked path). Ids
# label log lines; they are not secrets.
_PROCESS_PREFIX = os.urandom(8).hex()
_sequence = itertools.count(1)


def new_request_id() -> str:
    """32 hex digits: this process's random 16, then its request counter's 16."""
    return f"{_PROCESS_PREFIX}{next(_sequence):016x}"


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The request's sane ``X-Request-Id``, or a new one."""
    for name, value in headers:
        if name == _HEADER_KEY:
            return value.decode("ascii") if _SANE.fullmatch(value) else new_request_id()
    return new_request_id()


class RequestIdMiddleware:
    """Pure ASGI middleware: the request's id in its context and state, and in the response's headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope["headers"])
        header = (_HEADER_KEY, request_id.encode("ascii"))
        scope.setdefault("state", {})["request_id"] = request_id
        # Not reset afterwards: the handler of unexpected errors logs after this returns, in the
        # same task (each request has its own task, so the value goes no further).
        _request_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], header]
            await send(message)

        await self.app(scope, receive, send_with_id)


class RequestIdFilter(logging.Filter):
    """A logging filter that stamps each record with the id of the request it was written in (``-`` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


def log_config() -> dict:
    """uvicorn's logging configuration plus the service's: every record through :data:`LOG_FORMAT`, request id included.

    uvicorn's own loggers keep their handlers; everything else (``api.*``, ``credit.*``,
    libraries) goes to stderr through :class:`RequestIdFilter`.
    """
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"request_id": {"()": RequestIdFilter}}
    config["formatters"]["service"] = {"format": LOG_FORMAT}
    config["handlers"]["service"] = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                     "formatter": "service", "filters": ["request_id"]}
    config["root"] = {"handlers": ["service"], "level": "INFO"}
    return config


_PARAMETER = {
    "name": HEADER, "in": "header", "required": False,
    "description": "Your id for this request, to find it in the service's logs: 1-128 characters of letters, digits "
                   "and `-_.:/+=@`. Echoed in the response's `X-Request-Id`; any other value is replaced by a new id.",
    "schema": {"type": "string"},
}
_RESPONSE_HEADER = {
    "required": True,
    "description": "The request's id: the `X-Request-Id` sent when sane, else one the service made (32 hex digits). "
                   "Every log line of the request carries it.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9\\-_.:/+=@]{1,128}$"},
}


def document_request_id(openapi: dict) -> dict:
    """The OpenAPI document with ``X-Request-Id`` on every operation: an optional request header, a response header."""
    for item in openapi.get("paths", {}).values():
        for operation in item.values():
            parameters = operation.setdefault("parameters", [])
            if not any(parameter.get("name") == HEADER for parameter in parameters):
                parameters.append(dict(_PARAMETER))
            for response in operation.get("responses", {}).values():
                response["headers"] = {**response.get("headers", {}), HEADER: _RESPONSE_HEADER}
    return openapi

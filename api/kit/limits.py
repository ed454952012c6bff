"""Request body limit: a body over the limit is refused with 413 before it is read in full.

A declared ``Content-Length`` over the limit is answered at once, without calling the app;
a body without one (chunked) is counted as it arrives and refused when it crosses the limit.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.kit.errors import error_response


class _BodyTooLarge(HTTPException):
    # An HTTPException, so FastAPI's body parsing re-raises it as it is (it would turn any
    # other exception into a 400) and the error handlers answer 413 payload_too_large.
    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"The request body is larger than {limit} bytes.")


class BodySizeLimitMiddleware:
    """Pure ASGI middleware refusing request bodies larger than ``max_body_bytes``."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            if declared.isdigit():
                response = error_response(413, "payload_too_large", f"The request body is larger than {limit} bytes.")
            else:
                response = error_response(400, "bad_request", "Content-Length is not a number.")
            await response(scope, receive, send)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge as exc:
            if started:
                raise
            await error_response(413, "payload_too_large", str(exc.detail))(scope, receive, send)

"""Errors of the HTTP API: one base class, one documented body, one place that maps them.

Every error the service returns has the body ``{"error": {"code", "message", "details"?}}``
(:class:`ErrorBody`). ``code`` is a stable machine code (snake case) that clients switch on;
``message`` is for people and may change. Business outcomes get their real status (404, 409,
...); 422 is only for a payload that fails validation. Anything unexpected is a 500 with a
generic body, logged with its traceback; bad input must never reach that path.

Codes raised by the kit itself:

====  ================================  =============================================
400   ``idempotency_key_required``      POST that creates or moves money without the header
400   ``idempotency_key_invalid``       header empty, too long or not printable ASCII
400   ``bad_request``                   a request the framework could not read
401   ``unauthenticated``               no, unknown or revoked API key
403   ``forbidden``                     the key's role may not call this endpoint
404   ``not_found``                     no such route, or an object the caller may not see
405   ``method_not_allowed``            the route exists but not with this method
409   ``idempotency_request_in_progress``  the same key is being processed right now
413   ``payload_too_large``             body over ``Settings.api_max_body_bytes``
422   ``validation_failed``             the request failed validation (``details`` lists
                                        each field's ``loc``, ``msg`` and ``type``)
422   ``idempotency_key_reused``        the key was used before with another request
429   ``rate_limited``                  the key is over its rate limit (``Retry-After``)
500   ``internal_error``                a bug; the body says nothing more
503   ``database_unavailable``          the store does not answer
====  ================================  =============================================

A refusal of the exposure ledger (:class:`credit.ledger.LedgerError`) is mapped here too, by
:data:`LEDGER_STATUS`, so that every route that moves exposure answers it the same way: a
hold, line or firm that does not exist (or the caller may not see) is 404 (a firm's is
``unknown_firm``, as everywhere a firm id names no firm), an amount the
ledger cannot book is 422 ``invalid_amount``, and a request that contradicts the state of
the line or hold is 409 with the ledger's own code (``capture_exceeds_hold``, ...), as is a
business reference the caller booked already (``duplicate_reference``, its details naming the
kind, the reference and the existing object's id).
Amounts in the ledger's ``details`` leave as decimal strings (``remaining_minor: 40000``
becomes ``remaining: "400.00"``).

A refusal of the financing book (:class:`credit.financing.errors.FinancingError`) is mapped
the same generic way: :class:`~credit.financing.errors.FinancingNotFound` is 404, every other
one 409, each with its own ``code`` and message, its attributes as ``details`` (amounts as
decimal strings again).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from api.kit.money import from_minor
from credit import ledger
from credit.financing import errors as financing
from credit.servicing import errors as servicing

log = logging.getLogger("api.errors")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine code, snake case; switch on this.", examples=["not_found"])
    message: str = Field(description="What went wrong, for people; wording may change.")
    details: list[dict[str, Any]] | dict[str, Any] | None = Field(
        default=None, description="Structured context, e.g. one entry per invalid field with its `loc`."
    )


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class ServiceError(Exception):
    """An outcome the API reports as an error; subclass it or raise it with a code.

    Parameters
    ----------
    message
        Human-readable explanation.
    code
        Machine code; defaults to the class's ``code``.
    status_code
        HTTP status; defaults to the class's ``status_code``.
    details
        Optional structured context (JSON-serializable).
    headers
        Extra response headers (e.g. ``WWW-Authenticate``).
    """

    status_code: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: list[dict[str, Any]] | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details
        self.headers = headers


def invalid(location: str, name: str, message: str) -> ServiceError:
    """422 ``validation_failed`` naming ``location.name`` (``query``, ``path`` or ``body``), in the validation shape."""
    return ServiceError(f"{location}.{name}: {message}", code="validation_failed", status_code=422,
                        details=[{"loc": [location, name], "msg": message, "type": "value_error"}])


class BadRequest(ServiceError):
    status_code, code = 400, "bad_request"


class Unauthenticated(ServiceError):
    status_code, code = 401, "unauthenticated"

    def __init__(self, message: str = "A valid API key is required.", **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class Forbidden(ServiceError):
    status_code, code = 403, "forbidden"


class NotFound(ServiceError):
    """Also the answer for an object the caller may not see (never 403 for objects)."""

    status_code, code = 404, "not_found"


class Conflict(ServiceError):
    status_code, code = 409, "conflict"


class Unprocessable(ServiceError):
    status_code, code = 422, "unprocessable"


class ServiceUnavailable(ServiceError):
    status_code, code = 503, "service_unavailable"


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The JSON response for an error, in the documented :class:`ErrorBody` shape."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = jsonable_encoder(details)
    return JSONResponse({"error": error}, status_code=status_code, headers=headers)


_DESCRIPTIONS = {
    400: "Bad request: `idempotency_key_required`, `idempotency_key_invalid`, or a body that is not JSON "
         "(`bad_request`).",
    401: "Missing, unknown or revoked API key (`unauthenticated`).",
    403: "The API key's role may not call this endpoint (`forbidden`).",
    404: "Not found, or not visible to this caller (`not_found`).",
    409: "Conflict (e.g. `idempotency_request_in_progress`, `duplicate_reference`).",
    413: "Request body too large (`payload_too_large`).",
    422: "Validation failed (`validation_failed`, `idempotency_key_reused`).",
    429: "The API key is over its rate limit (`rate_limited`); retry after `Retry-After` seconds.",
    500: "Unexpected error (`internal_error`).",
    503: "The store does not answer (`database_unavailable`).",
}


RETRY_AFTER_HEADER = {"Retry-After": {"description": "Whole seconds until the key may send again.", "required": True,
                                 "schema": {"type": "integer", "minimum": 1}}}


def describe_status(status_code: int) -> str:
    """The documented description of an error status (what the kit's codes for it are)."""
    return _DESCRIPTIONS.get(status_code, "Error.")


def responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting :class:`ErrorBody` for ``status_codes``.

    A route that documents 401 takes an API key, so every key's rate limit applies to it: 429
    comes with 401 without being listed.

    Examples
    --------
    >>> @router.post("/v1/things", responses=responses(400, 401, 403, 409, 422))  # doctest: +SKIP
    """
    codes = (*status_codes, 429) if 401 in status_codes and 429 not in status_codes else status_codes
    documented: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorBody, "description": _DESCRIPTIONS.get(code, "Error.")} for code in codes}
    if 429 in documented:
        documented[429]["headers"] = {name: dict(header) for name, header in RETRY_AFTER_HEADER.items()}
    return documented


LEDGER_STATUS: dict[type[ledger.LedgerError], int] = {
    ledger.InvalidAmount: 422,  # an amount the schemas let through but the ledger cannot book
    ledger.HoldNotFound: 404,
    ledger.NoLine: 404,
    ledger.FirmNotFound: 404,
    ledger.LineExists: 409,
    ledger.LimitBelowExposure: 409,
    ledger.LineNotEmpty: 409,
    ledger.LineClosed: 409,
    ledger.LineFrozen: 409,
    ledger.PerOrderCapExceeded: 409,
    ledger.LimitExceeded: 409,
    ledger.HoldNotPending: 409,
    ledger.HoldExpired: 409,
    ledger.CaptureExceedsHold: 409,
    ledger.RefundExceedsCaptured: 409,
    ledger.ExceedsPosted: 409,
    servicing.TermsNotAllowed: 422,  # a request the policy does not offer this buyer
    servicing.RefundExceedsReceivables: 409,
    servicing.RepaymentNotFound: 404,
    servicing.RepaymentReturned: 409,
    servicing.RepaymentRefunded: 409,
    servicing.ReceivableNotOnLine: 422,
    servicing.ExceedsCreditBalance: 409,
    servicing.ReceivableNotFound: 404,
    servicing.InstallmentsNotAllowed: 422,  # a plan the policy does not offer this buyer
    servicing.ReceivableNotReschedulable: 409,
    servicing.InstallmentPlanExists: 409,
    servicing.NoInstallmentPlan: 409,
    servicing.PlanNotSettleable: 409,
    servicing.SettlementShort: 409,
    ledger.DuplicateReference: 409,
    ledger.Decline: 409,
    ledger.LedgerError: 409,  # the ledger refuses what contradicts its state
}
"""The HTTP status of every ledger refusal; a subclass not listed takes its nearest listed parent's."""

# The API names a missing object as its other 404s do (``<thing>_not_found``); ``no_line`` stays
# the checkout decline code of a buyer without a line.
_LEDGER_API_CODES = {ledger.NoLine: "line_not_found", ledger.FirmNotFound: "unknown_firm"}


def _details_out(details: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in details.items():
        if name.endswith("_minor") and isinstance(value, int):
            out[name.removesuffix("_minor")] = str(from_minor(value))
        else:
            out[name] = value
    return out


def as_service_error(exc: ServiceError | ledger.LedgerError | financing.FinancingError) -> ServiceError:
    """The API's error for a refusal: a :class:`ServiceError` as it is, a ledger's by :data:`LEDGER_STATUS`,
    a financing's 404 when the financing does not exist and 409 otherwise.

    The app's handler answers with it; the console turns the same error into a message on
    its form.
    """
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, financing.FinancingError):
        return ServiceError(str(exc), code=exc.code,
                            status_code=404 if isinstance(exc, financing.FinancingNotFound) else 409,
                            details=_details_out(vars(exc)) or None)
    kind = next(cls for cls in type(exc).__mro__ if cls in LEDGER_STATUS)
    details = _details_out(exc.details)
    return ServiceError(exc.message, code=_LEDGER_API_CODES.get(kind, exc.code), status_code=LEDGER_STATUS[kind],
                        details=details)


_STATUS_CODES = {
    400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 408: "request_timeout", 409: "conflict",
    411: "length_required", 413: "payload_too_large", 415: "unsupported_media_type",
    422: "validation_failed", 429: "too_many_requests",
}


async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def _ledger_error(request: Request, exc: ledger.LedgerError) -> JSONResponse:
    return await _service_error(request, as_service_error(exc))


async def _financing_error(request: Request, exc: financing.FinancingError) -> JSONResponse:
    return await _service_error(request, as_service_error(exc))


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    details = []
    for error in exc.errors():
        entry = {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type", "")}
        if error.get("type") == "json_invalid" and "ctx" in error:
            entry["msg"] = f"Invalid JSON: {error['ctx'].get('error', '')}"
        details.append(entry)
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"]) or "request"
    message = f"{where}: {first['msg']}" + (f" (and {len(details) - 1} more)" if len(details) > 1 else "")
    return error_response(422, "validation_failed", message, details)


def _allowed_methods(request: Request) -> str:
    """Every method some route of the app serves at the request's path (Starlette names only the first route's)."""
    from fastapi.routing import iter_route_contexts

    path = request.scope.get("path", "")
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex, route_methods = getattr(route, "path_regex", None), route.methods
        if regex is not None and route_methods and regex.match(path):
            methods |= set(route_methods)
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _STATUS_CODES.get(exc.status_code, "internal_error" if exc.status_code >= 500 else "bad_request")
    message = exc.detail if isinstance(exc.detail, str) else "Request failed."
    if exc.status_code == 404 and message == "Not Found":
        message = "No such resource."
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        headers = {**(headers or {}), "Allow": allowed} if allowed else headers
        message = f"{request.method} is not allowed here; allowed: {allowed}." if allowed else message
    if exc.status_code == 400 and message == "There was an error parsing the body":
        message = "The body is not JSON (it could not be read as UTF-8 JSON text)."
    return error_response(exc.status_code, code, message, headers=headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    # Answered outside the app's middleware (Starlette's outermost ServerErrorMiddleware): the
    # request id goes on by hand, so the client can quote the logged line.
    request_id = getattr(request.state, "request_id", None)
    return error_response(500, "internal_error", "An unexpected error occurred; it has been logged.",
                          headers={"X-Request-Id": request_id} if request_id else None)


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the app can raise to an :class:`ErrorBody` response."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(ledger.LedgerError, _ledger_error)
    app.add_exception_handler(financing.FinancingError, _financing_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

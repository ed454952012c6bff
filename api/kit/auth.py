"""API keys and roles.

A key is ``mck_`` followed by 43 characters of URL-safe base64 (32 random bytes); a test
key (``mck_test_`` and the same 43) acts on the sandbox's store instead of the operational
one (:mod:`api.kit.sandbox`): its prefix picks the store, and it is looked up there. Only the
SHA-256 of the whole key is stored: a key has 256 bits of entropy, so a fast hash is the
standard and safe choice (a slow password hash such as bcrypt protects guessable secrets and
would cost milliseconds on every request). A request is authenticated by one indexed lookup
of that hash; a constant-time comparison guards the match. Nothing is cached, so a revoked
key is refused from the next request on.

The key is read from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. A missing,
unknown or revoked key is 401 ``unauthenticated``; a valid key whose role an endpoint does
not allow is 403 ``forbidden``; a key over its rate limit is 429 ``rate_limited``
(:mod:`api.kit.rate_limits`). Objects a caller may not see are 404, decided by the
repository functions, not here.

Use in a route::

    @router.post("/v1/credit-lines/{line_id}/approve")
    def approve(line_id: int, caller: Annotated[Caller, requires("finance", "admin")]): ...

or ``dependencies=[requires("admin")]`` when the route does not need the caller.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from api.kit.db import request_engine, request_store, runs_sql
from api.kit.errors import Conflict, Forbidden, NotFound, Unauthenticated
from api.kit.tables import ROLES, ApiKey
from credit import clock
from credit.store.prepared import PreparedStatement
from credit.text import control_character

Role = Literal["checkout", "payments", "finance", "analyst", "admin"]

KEY_PREFIX = "mck_"
TEST_KEY_PREFIX = "mck_test_"
"""A test key's prefix: the request acts on the sandbox (docs/sandbox.md)."""
_SECRET_BYTES = 32
_SECRET_LENGTH = 43  # urlsafe base64 of 32 bytes, unpadded
_KEY_LENGTH = len(KEY_PREFIX) + _SECRET_LENGTH
_TEST_KEY_LENGTH = len(TEST_KEY_PREFIX) + _SECRET_LENGTH
_DISPLAY_SECRET_CHARACTERS = 8  # after the prefix: mck_ + 8 (12 characters), mck_test_ + 7 (the column's 16)
_ACTOR = re.compile(r"key:[0-9]+")


def hash_key(plaintext: str) -> str:
    """Hex SHA-256 of an API key, as stored in ``api_keys.key_hash``."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()



def _label(value: str, what: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 100:
        raise ValueError(f"`{what}` must have 1 to 100 characters; got {len(value)}.")
    if (character := control_character(value)) is not None:
        raise ValueError(f"`{what}` must not contain control characters; got {character}.")
    if _ACTOR.fullmatch(value):  # an actor of the audit trail: a client so named would see that key's decisions
        raise ValueError(f"`{what}` must not have the form key:<id> of an audit actor; got {value!r}.")
    return value


def create_api_key(session: Session, name: str, role: str, *, client: str | None = None,
                   test: bool = False) -> tuple[int, str]:
    """Issue a new API key; the plaintext is returned once and never stored.

    Parameters
    ----------
    session
        Session of the unit of work; the key is flushed, not committed.
    name
        Who or what holds the key (1-100 characters), e.g. ``"checkout-frontend"``.
    role
        One of ``checkout``, ``payments``, ``finance``, ``analyst``, ``admin``.
    test
        Issue a test key (``mck_test_...``); ``session`` must then be on the sandbox's store.
    client
        The client the key belongs to (1-100 characters): its holds, business references and
        Idempotency-Keys are the client's, shared by all its keys. Default: ``name``. A key
        named after an existing client therefore joins it; name another client to keep apart.

    Returns
    -------
    tuple[int, str]
        The key's id and its plaintext (``mck_...`` or ``mck_test_...``) to hand to the holder.

    Raises
    ------
    ValueError
        Unknown role, or an empty or too long name or client, or one holding a control character.
    """
    if role not in ROLES:
        raise ValueError(f"`role` must be one of {', '.join(ROLES)}; got {role!r}.")
    name = _label(name, "name")
    client = name if client is None else _label(client, "client")
    prefix = TEST_KEY_PREFIX if test else KEY_PREFIX
    plaintext = prefix + secrets.token_urlsafe(_SECRET_BYTES)
    shown = min(len(prefix) + _DISPLAY_SECRET_CHARACTERS, 16)
    key = ApiKey(name=name, client=client, role=role, key_hash=hash_key(plaintext), prefix=plaintext[:shown],
                 created_at=clock.now())
    session.add(key)
    session.flush()
    return key.key_id, plaintext


def rotate_api_key(session: Session, key_id: int) -> tuple[ApiKey, int, str]:
    """Issue the successor of a key: same client, name and role, a new secret.

    The old key stays valid until it is revoked (:func:`revoke_api_key`), so the holder can
    deploy the new one first. Both keys act as the same client: a request retried under the
    new key with the same Idempotency-Key replays the first response instead of running again.

    Returns
    -------
    tuple[ApiKey, int, str]
        The old key, the new key's id and its plaintext.

    Raises
    ------
    NotFound
        No key has this id.
    Conflict
        ``key_revoked``: a revoked key is not rotated (issue a new key for its client instead).
    """
    old = session.get(ApiKey, key_id)
    if old is None:
        raise NotFound(f"No API key {key_id}.")
    if old.revoked_at is not None:
        raise Conflict(f"API key {key_id} is revoked; issue a new key for its client {old.client!r} instead.",
                       code="key_revoked")
    new_id, plaintext = create_api_key(session, old.name, old.role, client=old.client)
    return old, new_id, plaintext


def revoke_api_key(session: Session, key_id: int) -> ApiKey:
    """Revoke a key (idempotent: revoking a revoked key keeps its first revocation time).

    Raises
    ------
    NotFound
        No key has this id.
    """
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key {key_id}.")
    if key.revoked_at is None:
        session.execute(
            update(ApiKey).where(ApiKey.key_id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=clock.now())
        )
        session.refresh(key)
    return key


def list_api_keys(session: Session, *, before_id: int | None = None, limit: int | None = None) -> list[ApiKey]:
    """Keys newest first (hashes included: callers must not expose them): all, or ``limit`` older than ``before_id``."""
    query = select(ApiKey).order_by(ApiKey.key_id.desc())
    if before_id is not None:
        query = query.where(ApiKey.key_id < before_id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def is_test_key(plaintext: str) -> bool:
    """Whether a presented key is a test key (``mck_test_`` and a secret of the right length)."""
    return len(plaintext) == _TEST_KEY_LENGTH and plaintext.startswith(TEST_KEY_PREFIX)


def client_actors(session: Session, caller: Caller) -> list[str]:
    """The audit actors of the caller's client: ``key:<id>`` of each of its keys, and the client's name
    (the actor of what its keys did before ``0020_api_clients``, named then by the key's name)."""
    key_ids = session.scalars(select(ApiKey.key_id).where(ApiKey.client == caller.client).order_by(ApiKey.key_id))
    return [*(f"key:{key_id}" for key_id in key_ids), caller.client]


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated holder of an API key.

    ``client`` is who the caller is for scoping: its holds, business references, decisions
    and Idempotency-Keys are its client's, whichever of the client's keys it uses (defaults to
    ``name`` for a caller built in process). :attr:`actor` is who acted, for the audit trail.
    """

    key_id: int
    name: str
    role: str
    client: str = ""

    def __post_init__(self) -> None:
        if not self.client:
            object.__setattr__(self, "client", self.name)

    @property
    def actor(self) -> str:
        """The audit trail's actor: ``key:<id>``, unique (names are not); the name of an in-process caller (id 0)."""
        return f"key:{self.key_id}" if self.key_id else self.name


_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer mck_...`")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: mck_...`")

_KEYS = ApiKey.__table__
_LOOKUP = PreparedStatement(  # runs on every authenticated request: built once, run on the driver's cursor
    select(_KEYS.c.key_id, _KEYS.c.name, _KEYS.c.client, _KEYS.c.role, _KEYS.c.key_hash, _KEYS.c.revoked_at)
    .where(_KEYS.c.key_hash == bindparam("key_hash"))
)


@runs_sql
def _authenticate(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key_header)],
) -> Caller:
    # A connection of its own, closed at once: the request's session must not hold a read
    # snapshot from before the idempotency claim commits (SQLite could not then write). No
    # BEGIN: on SQLite the read is its own autocommit statement; PostgreSQL's implicit
    # transaction is rolled back when the pool takes the connection back.
    with request_engine(request).connect() as connection:  # a test key's request: the sandbox's store
        return authenticate_on(connection, request, bearer.credentials if bearer is not None else header_key)


def authenticate_on(connection: Connection | Session, request: Request, plaintext: str | None) -> Caller:
    """The caller presenting ``plaintext``, its key looked up on ``connection`` (401; its rate limit's 429).

    What :data:`CallerDep` does on a connection of its own, for a unit of work that looks the
    key up on its own connection (:mod:`api.checkout.fast_path`): a connection outside a
    transaction (SQLite's autocommit read) or a transaction that sees every committed
    revocation. ``plaintext`` is the key as presented (``Authorization: Bearer`` or
    ``X-API-Key``); None when there is none.
    """
    if not plaintext:
        raise Unauthenticated("An API key is required: `Authorization: Bearer <key>` or `X-API-Key: <key>`.")
    test = is_test_key(plaintext)
    if test and request_store(request) is None:  # an app without the sandbox's routing: never the live store
        raise Unauthenticated("Test keys act on the sandbox only, which this service does not serve.")
    if not test and (len(plaintext) != _KEY_LENGTH or not plaintext.startswith(KEY_PREFIX)):
        raise Unauthenticated("The API key is not valid.")
    digest = hash_key(plaintext)
    row = _LOOKUP.first(connection, {"key_hash": digest})
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise Unauthenticated("The test API key is not valid in the sandbox (issue one with `credit sandbox key`)."
                              if test else "The API key is not valid.")
    if row.revoked_at is not None:
        raise Unauthenticated("The API key has been revoked.")
    # 429 rate_limited before anything else runs; test keys have buckets of their own (their ids are the sandbox's).
    (request.app.state.sandbox_rate_limiter if test else request.app.state.rate_limiter).take(row.key_id, row.role)
    caller = Caller(key_id=row.key_id, name=row.name, role=row.role, client=row.client)
    request.state.caller = caller
    return caller


async def presented_key(request: Request) -> str | None:
    """The API key a request presents, read as :data:`CallerDep` reads it (``Bearer`` first, then ``X-API-Key``)."""
    bearer = await _bearer(request)
    return bearer.credentials if bearer is not None else await _api_key_header(request)


CallerDep = Annotated[Caller, Depends(_authenticate)]
"""The authenticated caller, any role (401 without a valid key)."""


def requires(*roles: Role) -> Any:
    """A dependency that admits only callers with one of ``roles`` (403 otherwise).

    Returns ``Depends(...)``, to use as ``Annotated[Caller, requires("finance")]`` or in
    ``dependencies=[requires("admin")]``. Roles are not hierarchical: list every role an
    endpoint allows, admin included.
    """
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"`roles` must be a non-empty subset of {ROLES}; got {roles}.")

    async def _role_check(caller: CallerDep) -> Caller:
        check_role(caller, roles)
        return caller

    _role_check.__name__ = f"requires_{'_'.join(roles)}"
    _role_check.allowed_roles = roles  # type: ignore[attr-defined]  # read by route_roles
    return Depends(_role_check)


def check_role(caller: Caller, allowed: tuple[str, ...]) -> None:
    """403 ``forbidden`` unless the caller's role is one of ``allowed``."""
    if caller.role not in allowed:
        raise Forbidden(f"This endpoint is for the roles: {', '.join(allowed)}; the key's role is {caller.role}.")


def route_roles(dependant: Any) -> tuple[str, ...] | None:
    """The roles a route's :func:`requires` dependencies admit together (None: no role check).

    Lets a dependency that runs before the route's own role check (the Idempotency-Key claim)
    refuse a caller first, whatever the order of the route's parameters.
    """
    allowed: tuple[str, ...] | None = None
    pending = [dependant]
    while pending:
        current = pending.pop()
        roles = getattr(current.call, "allowed_roles", None)
        if roles is not None:
            allowed = roles if allowed is None else tuple(role for role in allowed if role in roles)
        pending.extend(current.dependencies)
    return allowed

"""``Idempotency-Key`` for POST routes that create a decision or move money or exposure.

Usage in a route (the route returns ``idem.respond(...)``, which stores the response in the
request's transaction)::

    @router.post("/v1/things", status_code=201, response_model=ThingOut,
                 responses=responses(400, 401, 403, 409, 413, 422))
    def create_thing(body: ThingIn, session: SessionDep, idem: IdempotencyDep,
                     caller: Annotated[Caller, requires("finance", "admin")]) -> Response:
        thing = services.create_thing(session, caller, body)      # flushes, never commits
        return idem.respond(ThingOut.model_validate(thing), status_code=201)

Behaviour, per client (every key of it: a rotated key replays what its predecessor booked)
and key:

* a caller whose role the route refuses: 403 ``forbidden`` before anything else; no claim is
  written (the route's :func:`~api.kit.auth.requires` roles are checked here first).
* no header: 400 ``idempotency_key_required``; a malformed one: 400 ``idempotency_key_invalid``.
* first use: the request runs; its response (status and body bytes) is stored.
* same key, same method, path and body (JSON compared canonically: key order and whitespace
  do not matter): the stored response is replayed byte for byte with the header
  ``Idempotent-Replayed: true``; the route does not run.
* same key, anything else different: 422 ``idempotency_key_reused``.
* same key while the first request is still running: 409 ``idempotency_request_in_progress``;
  the client retries later and then gets the replay.
* the route raises (a business error, a bug, a lost database): its writes roll back and the
  key is released, so a retry runs the request again. Only successful outcomes are stored.
  Routes that want a business refusal replayed return it as a normal response.

Design (why a retry can never book twice, even across crashes)
-------------------------------------------------------------
1. **Claim.** Before the route runs, the key is claimed by inserting an ``in_progress`` row
   in a short transaction of its own, committed at once. The unique constraint on
   ``(client, idempotency_key)`` decides among concurrent duplicates: exactly one insert
   succeeds; the others read the row and answer replay / reused / in progress. The row
   carries a random ``lock_token`` naming the attempt that holds it.
2. **Run.** The route does its business writes in the request's session (not committed).
3. **Complete.** ``respond()`` updates the row to ``completed`` with the response, in the
   *same* transaction as the business writes, guarded by ``state = 'in_progress' AND
   lock_token = <ours>``. The kit then commits. Business writes and the completed record are
   therefore atomic: after a crash either both exist (a retry replays) or neither (the row is
   still ``in_progress`` from step 1).
4. **Recover.** An ``in_progress`` row older than ``Settings.idempotency_lease_seconds``
   (60 s by default, ``CREDIT_IDEMPOTENCY_LEASE_SECONDS``) belongs to an attempt presumed
   dead; a retry takes it over by a conditional update that changes the ``lock_token``, and
   runs the request. That is safe because a crashed attempt booked nothing: its business
   writes were to commit only together with the completed record (step 3), so the crash
   rolled them back with its unit of work, and the orphaned claim is all that is left. Should the old attempt be merely slow and reach step 3, its
   guarded update matches no row, it raises and rolls back: still only one attempt commits
   its writes. (PostgreSQL's row lock makes the two updates wait for each other; SQLite has
   one writer at a time.)
5. **Release.** When the route raises, its transaction is rolled back first, then the row is
   deleted (guarded by the token) in a short transaction, so a retry starts afresh.

Each request costs one indexed insert (plus, for a duplicate, one indexed select) before the
route, and one indexed update inside the route's own transaction.

One transaction instead of two (``IdempotentUnitOfWorkDep``, checkout's authorization)
---------------------------------------------------------------------------------------
A hot route may claim inside its own unit of work instead (:func:`claim_in_unit_of_work`):
the claim is the transaction's first write (``INSERT ... ON CONFLICT DO NOTHING``, SQLite's
write lock taken at BEGIN), then the business writes, then the completed record, one
COMMIT. A crash or an error before it rolls back all three, which leaves what step 5 leaves
(no record, nothing booked): a retry runs afresh, so nothing can book twice. A concurrent
duplicate waits for the first to commit (SQLite's lock; on PostgreSQL the unique key) and
then replays its answer or is refused as reused; the 409 ``idempotency_request_in_progress``
remains for a record another route's separate claim left ``in_progress``, settled as in
step 4. One COMMIT less per request: on SQLite the commit was the largest single cost of an
authorization. Records are kept: nothing
removes old ones yet (a retention job would delete completed records older than any client
retries).
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.kit.auth import Caller, CallerDep, check_role, route_roles
from api.kit.db import (SessionDep, finish_sql, finish_unit_of_work, new_unit_of_work, request_engine, run_sql,
                        take_write_lock)
from api.kit.errors import BadRequest, Conflict, Unprocessable
from api.kit.tables import IdempotencyRecord
from credit import clock
from credit.store.prepared import PreparedStatement

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


class IdempotentReplay(Exception):
    """Raised before the route runs: answer with the stored response instead."""

    def __init__(self, status_code: int, body: str) -> None:
        super().__init__(status_code)
        self.status_code = status_code
        self.body = body

    def response(self) -> Response:
        return Response(
            self.body.encode("utf-8"),
            status_code=self.status_code,
            media_type="application/json",
            headers={REPLAYED_HEADER: "true"},
        )


class _LostClaim(Conflict):
    code = "idempotency_request_in_progress"


# The two statements every request runs, built once on the table (not the ORM class: no
# session synchronisation to do, and no statement to build and cache-key per request).
_RECORDS = IdempotencyRecord.__table__
_CLAIM = PreparedStatement(insert(_RECORDS).returning(_RECORDS.c.record_id), column_keys=[
    "key_id", "client", "idempotency_key", "request_method", "request_path", "request_hash", "state", "lock_token",
    "locked_at", "created_at"])
_COMPLETE = PreparedStatement(  # bind names differ from column names: an UPDATE reserves those for its SET clause
    update(_RECORDS)
    .where(_RECORDS.c.record_id == bindparam("record"), _RECORDS.c.state == "in_progress",
           _RECORDS.c.lock_token == bindparam("token"))
    .values(state="completed", response_status=bindparam("status"), response_body=bindparam("body"),
            completed_at=bindparam("completed"))
)


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 over method, path and body; a JSON body is canonicalised first."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


_IDENTITY_KEY = "credit.idempotency.identity"  # in the request's scope: its path and fingerprint, once computed


def request_identity(request: Request, body: bytes) -> tuple[str, str]:
    """The request's path and :func:`request_fingerprint` (of ``body``, its body), computed once per request.

    The checkout fast path computes them as it reads a request, outside the batch's write lock
    (:mod:`api.checkout.group_commit`); :func:`open_unit_of_work` then finds them computed.
    """
    identity = request.scope.get(_IDENTITY_KEY)
    if identity is None:
        path = request.url.path
        identity = request.scope[_IDENTITY_KEY] = (path, request_fingerprint(request.method, path, body))
    return identity


def _json_text(content: Any) -> str:
    if isinstance(content, BaseModel):
        return content.model_dump_json()
    return json.dumps(jsonable_encoder(content), separators=(",", ":"), ensure_ascii=False)


class IdempotentRequest:
    """The claim a request holds on its key; the route ends with :meth:`respond`."""

    def __init__(self, session: Session, record_id: int, lock_token: str) -> None:
        self.session = session
        self.record_id = record_id
        self.lock_token = lock_token
        self.responded = False

    def respond(self, content: Any, status_code: int = 200, *, stored_content: Any = None) -> Response:
        """Store the response with the request's writes and return it.

        Parameters
        ----------
        content
            A pydantic model or anything ``jsonable_encoder`` takes.
        status_code
            The success status (200 or 201, usually).
        stored_content
            What a replay returns instead of ``content``; only for a response holding a
            secret that must not be stored (a new API key's plaintext).

        Raises
        ------
        Conflict
            ``idempotency_request_in_progress``: the claim expired and a retry took it over;
            this attempt's writes roll back.
        """
        if self.responded:
            raise RuntimeError("respond() was already called for this request")
        text = _json_text(content)
        stored = text if stored_content is None else _json_text(stored_content)
        completed = _COMPLETE.rowcount(self.session, {"record": self.record_id, "token": self.lock_token,
                                                      "status": status_code, "body": stored, "completed": clock.now()})
        if completed != 1:
            raise _LostClaim("This request took too long and a retry took over its Idempotency-Key.")
        self.responded = True
        return Response(text.encode("utf-8"), status_code=status_code, media_type="application/json")


class IdempotentUnitOfWork(IdempotentRequest):
    """An :class:`IdempotentRequest` whose claim is the first write of the request's own unit of work.

    The route calls :meth:`begin` first, in its own database work (``runs_sql``): on a
    database server the claim then runs in the same pool thread as the route, so no request
    holds a connection while it waits for a thread (a pool of one thread would deadlock).
    """

    def __init__(self, session: Session, claim: Callable[[], tuple[int, str]]) -> None:
        super().__init__(session, 0, "")
        self._claim = claim

    def begin(self) -> Session:
        """Claim the key in the session's transaction and return the session (replay or refuse by raising).

        Raises
        ------
        IdempotentReplay, Unprocessable, Conflict
            See :func:`claim_in_unit_of_work`.
        """
        if self.record_id:
            raise RuntimeError("begin() was already called for this request")
        self.record_id, self.lock_token = self._claim()
        return self.session

    def respond(self, content: Any, status_code: int = 200, *, stored_content: Any = None) -> Response:
        if not self.record_id:
            raise RuntimeError("respond() before begin(): the Idempotency-Key was never claimed")
        return super().respond(content, status_code, stored_content=stored_content)


_existing = select(
    IdempotencyRecord.record_id, IdempotencyRecord.request_method, IdempotencyRecord.request_path,
    IdempotencyRecord.request_hash, IdempotencyRecord.state, IdempotencyRecord.lock_token,
    IdempotencyRecord.locked_at, IdempotencyRecord.response_status, IdempotencyRecord.response_body,
)


def _claim(
    engine: Engine, key_id: int, client: str, key: str, method: str, path: str, fingerprint: str, lease: timedelta
) -> tuple[int, str]:
    token = secrets.token_hex(16)
    for _ in range(3):
        now = clock.now()
        try:
            with engine.begin() as connection:
                record_id = _CLAIM.first(connection, _claim_values(key_id, client, key, method, path, fingerprint,
                                                                   token, now)).record_id
            return record_id, token
        except IntegrityError:
            pass
        # Reads, then may take the record over: on SQLite the write lock first (see take_write_lock).
        with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection, connection.begin():
            taken = _settle(connection, client, key, fingerprint, token, now, lease)
            if taken is not None:
                return taken, token
    raise Conflict("This Idempotency-Key is contended; retry later.", code="idempotency_request_in_progress")


def _claim_values(key_id: int, client: str, key: str, method: str, path: str, fingerprint: str, token: str,
                  now: Any) -> dict[str, Any]:
    return {"key_id": key_id, "client": client, "idempotency_key": key, "request_method": method,
            "request_path": path[:1000], "request_hash": fingerprint, "state": "in_progress", "lock_token": token,
            "locked_at": now, "created_at": now}


def _settle(connection: Connection | Session, client: str, key: str, fingerprint: str, token: str, now: Any,
            lease: timedelta) -> int | None:
    """A claim found taken: refuse, replay, or take over a dead attempt's (its record id); None if it is gone."""
    record = connection.execute(
        _existing.where(IdempotencyRecord.client == client, IdempotencyRecord.idempotency_key == key)
    ).first()
    if record is None:
        return None  # released between our insert and this read: claim again
    if record.request_hash != fingerprint:
        raise Unprocessable(
            "This Idempotency-Key was already used with a different request.",
            code="idempotency_key_reused",
            details={"first_used_with": f"{record.request_method} {record.request_path}"},
        )
    if record.state == "completed":
        raise IdempotentReplay(record.response_status, record.response_body)
    if record.locked_at < now - lease:
        taken = connection.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.record_id == record.record_id,
                IdempotencyRecord.state == "in_progress",
                IdempotencyRecord.lock_token == record.lock_token,
            )
            .values(lock_token=token, locked_at=now)
        ).rowcount
        if taken == 1:
            return record.record_id
    raise Conflict(
        "A request with this Idempotency-Key is still being processed; retry later.",
        code="idempotency_request_in_progress",
    )


def claim_in_unit_of_work(session: Session, key_id: int, client: str, key: str, method: str, path: str,
                          fingerprint: str, lease: timedelta) -> tuple[int, str]:
    """Claim the key as the first write of the request's own transaction (one commit per request, not two).

    The claim commits or rolls back with the business writes and the completed record, so a
    crash or an error leaves neither the writes nor the claim: a retry runs afresh, as after
    a released claim. A concurrent duplicate waits for the writer ahead of it (SQLite's write
    lock, taken here at BEGIN; PostgreSQL's wait on the unique key under ``ON CONFLICT DO
    NOTHING``) and then finds the completed record: it replays instead of answering 409. A
    record still ``in_progress`` (claimed by :func:`_claim` in a transaction of its own) is
    settled as there: 409, or taken over after the lease.

    Raises
    ------
    IdempotentReplay, Unprocessable, Conflict
        As :func:`_claim`: the stored answer, ``idempotency_key_reused``, ``idempotency_request_in_progress``.
    """
    take_write_lock(session)
    token = secrets.token_hex(16)
    for _ in range(3):
        now = clock.now()
        claimed = _claim_if_free(session).first(
            session, _claim_values(key_id, client, key, method, path, fingerprint, token, now))
        if claimed is not None:
            return claimed.record_id, token
        taken = _settle(session, client, key, fingerprint, token, now, lease)
        if taken is not None:
            return taken, token
        # gone by our read: another route's claim released (PostgreSQL; SQLite holds the lock): claim again
    raise Conflict("This Idempotency-Key is contended; retry later.", code="idempotency_request_in_progress")


_CLAIMS_IF_FREE: dict[str, PreparedStatement] = {}


def _claim_if_free(session: Session) -> PreparedStatement:
    # INSERT ... ON CONFLICT DO NOTHING: a duplicate leaves the transaction usable (PostgreSQL
    # would abort it on a unique violation); each dialect's own construct, built once per dialect.
    dialect = session.get_bind().dialect.name
    statement = _CLAIMS_IF_FREE.get(dialect)
    if statement is None:
        make = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
        statement = _CLAIMS_IF_FREE[dialect] = PreparedStatement(
            make(_RECORDS).on_conflict_do_nothing(index_elements=[_RECORDS.c.client, _RECORDS.c.idempotency_key])
            .returning(_RECORDS.c.record_id), column_keys=list(_claim_values(0, "", "", "", "", "", "", None)))
    return statement


def _release(engine: Engine, record_id: int, token: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.record_id == record_id,
                IdempotencyRecord.state == "in_progress",
                IdempotencyRecord.lock_token == token,
            )
        )


def valid_key(key: str) -> bool:
    """Whether an ``Idempotency-Key`` header's value is well formed (1-255 printable ASCII characters, no space)."""
    return 1 <= len(key) <= MAX_KEY_LENGTH and all(33 <= ord(c) <= 126 for c in key)


async def _request_body(request: Request) -> bytes:
    # On the event loop, the one await the claim needs; the claim itself goes through run_sql.
    return await request.body()


_KeyHeader = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        description="Required. A unique value per operation (a UUID): a retry with the same key "
        "and body replays the first response instead of running twice.",
    ),
]


def _checked(request: Request, caller: Caller, idempotency_key: str | None) -> str:
    # The route's role check, first: a caller it refuses gets its 403 without a claim on the key
    # (FastAPI solves the route's dependencies in parameter order, this one often before the role's).
    if (roles := _roles_of(request)) is not None:
        check_role(caller, roles)
    if idempotency_key is None:
        raise BadRequest(f"This operation requires an `{IDEMPOTENCY_HEADER}` header.", code="idempotency_key_required")
    if not valid_key(idempotency_key):
        raise BadRequest(
            f"`{IDEMPOTENCY_HEADER}` must be 1 to {MAX_KEY_LENGTH} printable ASCII characters without spaces.",
            code="idempotency_key_invalid",
        )
    return idempotency_key


async def _idempotent_request(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    request_body: Annotated[bytes, Depends(_request_body)],
    idempotency_key: _KeyHeader = None,
) -> Any:
    idempotency_key = _checked(request, caller, idempotency_key)
    engine: Engine = request_engine(request)  # the sandbox's for a test key
    lease = timedelta(seconds=request.app.state.settings.idempotency_lease_seconds)
    path, fingerprint = request_identity(request, request_body)
    record_id, token = await run_sql(
        engine, _claim, engine, caller.key_id, caller.client, idempotency_key, request.method, path,
        fingerprint, lease,
    )
    claim = IdempotentRequest(session, record_id, token)
    try:
        yield claim
        if not claim.responded:
            raise RuntimeError(f"{request.method} {path} did not end with IdempotentRequest.respond()")
        await finish_sql(engine, session.commit)  # business writes and the completed record, atomically
    except BaseException:
        await finish_sql(engine, _give_up, session, engine, record_id, token)
        raise


def open_unit_of_work(request: Request, caller: Caller, idempotency_key: str | None, body: bytes,
                      unit_of_work: tuple[Session, Engine] | None = None) -> tuple[IdempotentUnitOfWork, Engine]:
    """The request's unit of work with its Idempotency-Key claim to make (``begin``), and its store's engine.

    What :data:`IdempotentUnitOfWorkDep` gives a route, for a caller that runs the route
    without FastAPI's dependencies (:mod:`api.checkout.group_commit`); nothing is claimed yet.
    ``unit_of_work``: the session (and its engine) to claim in, one the caller already began
    (the fast path looks the API key up in it); by default a new one, nothing opened on the
    database yet. The caller ends the unit of work with :func:`end_unit_of_work`, or commits it
    itself once the route has responded (a batch of them: :mod:`api.checkout.group_commit`).

    Raises
    ------
    Forbidden, BadRequest
        The route's roles refuse the caller; the key is missing or malformed (see :func:`_checked`).
    """
    idempotency_key = _checked(request, caller, idempotency_key)
    session, engine = new_unit_of_work(request) if unit_of_work is None else unit_of_work
    path, fingerprint = request_identity(request, body)
    lease = timedelta(seconds=request.app.state.settings.idempotency_lease_seconds)
    claim = IdempotentUnitOfWork(session, functools.partial(
        claim_in_unit_of_work, session, caller.key_id, caller.client, idempotency_key, request.method, path,
        fingerprint, lease))
    return claim, engine


async def end_unit_of_work(claim: IdempotentUnitOfWork, engine: Engine, succeeded: bool) -> None:
    """Commit the claim, the business writes and the answer atomically (``succeeded``), or roll all back.

    Raises
    ------
    RuntimeError
        ``succeeded`` but the route never called :meth:`IdempotentRequest.respond` (a bug): rolled back.
    """
    if succeeded and not claim.responded:
        await finish_sql(engine, finish_unit_of_work, claim.session, False)
        raise RuntimeError("the route did not end with IdempotentRequest.respond()")
    await finish_sql(engine, finish_unit_of_work, claim.session, succeeded)


async def _idempotent_unit_of_work(request: Request, caller: CallerDep, idempotency_key: _KeyHeader = None) -> Any:
    # IdempotencyDep and SessionDep in one dependency, the claim inside the unit of work
    # (claim_in_unit_of_work): one transaction and one commit per request instead of two.
    claim, engine = open_unit_of_work(request, caller, idempotency_key, await request.body())
    try:
        yield claim
    except BaseException:
        await end_unit_of_work(claim, engine, False)
        raise
    await end_unit_of_work(claim, engine, True)


def _roles_of(request: Request) -> tuple[str, ...] | None:
    route = request.scope.get("route")
    if route is None:
        return None
    if not hasattr(route, "_idempotency_roles"):  # kept on the route: it lives as long as its app
        route._idempotency_roles = route_roles(route.dependant)
    return route._idempotency_roles


def _give_up(session: Session, engine: Engine, record_id: int, token: str) -> None:
    session.rollback()  # first: on SQLite the release below needs the write lock
    _release(engine, record_id, token)


IdempotencyDep = Annotated[IdempotentRequest, Depends(_idempotent_request, scope="function")]
"""Claims the request's ``Idempotency-Key``; the route must return ``idem.respond(...)``."""

IdempotentUnitOfWorkDep = Annotated[IdempotentUnitOfWork, Depends(_idempotent_unit_of_work, scope="function")]
"""``SessionDep`` and ``IdempotencyDep`` in one, the claim inside the request's transaction
(:func:`claim_in_unit_of_work`): for a hot route, one commit instead of two. The route starts
with ``session = idem.begin()`` and returns ``idem.respond(...)``."""


async def replay_handler(_request: Request, exc: IdempotentReplay) -> Response:
    """Exception handler the app registers for :class:`IdempotentReplay`."""
    return exc.response()

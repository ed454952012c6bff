"""Checkout authorizations that arrive together commit together: one transaction, one COMMIT (group commit).

Every authorization is a unit of work of its own: its Idempotency-Key claim, the hold, the
audit record, the event and the stored answer commit together or not at all. Alone, each
pays for a transaction: on SQLite ``BEGIN IMMEDIATE`` (the write lock, queued on
:mod:`credit.store.writer_lock` between worker processes), a ``COMMIT`` that appends every
page it changed to the WAL, and a session; on a database server a trip to the thread pool, a
pooled connection and a COMMIT waiting for the WAL flush. Under load those costs are most of
what separates the work from the wall: the issue 19 benchmark offers 1,000 a second.

:class:`GroupCommit` runs the authorizations waiting when it gets its turn as **one**
transaction, in their order of arrival, each exactly as it would run alone (the same
functions: key lookup, role and Idempotency-Key checks, claim, route, stored answer), and
answers them after its single COMMIT. Ledgers built for throughput do the same (group
commit). Nothing changes for a client:

* each authorization sees the ones before it, as it would had they committed one by one, so
  every invariant (the line's limit, a reference booked once, a key claimed once) is checked
  as in sequence; nobody is answered before the COMMIT that makes the answer durable;
* if any of them raises (a replay, a duplicate reference, an unknown firm, a lost database),
  the whole transaction rolls back and each of them runs again **alone**, in the same order,
  in a unit of work of its own, exactly as without grouping: the one that raised answers its
  error, the others their own outcome. Only then, because nothing was answered or committed
  before; the API key was looked up once, before, so its rate limit is taken once.

Nobody waits for company: the first authorization starts a batch at the loop's next step,
and whatever arrived by then (requests read from the sockets in the same turn of the event
loop, mostly while the previous batch held it) joins it; at most :data:`MOST` a batch. On
SQLite batches run inline on the event loop, one at a time (one writer). On a database server
a batch runs in one trip to the thread pool, COMMIT included, and up to
:data:`BATCHES_ON_A_SERVER` run at once, each on its own connection: a batch spends most of its
time waiting for the server's answers, and one at a time a worker answered only 469 of 500
a second with half a core idle. Every batch locks its buyers' lines in buyer order, so no
two batches (of this worker or another) wait for each other in a cycle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from api.checkout.schemas import AuthorizationIn
from api.kit.auth import Caller, authenticate_on
from api.kit.db import finish_unit_of_work, kept_connection, kept_unit_of_work, on_a_server, run_sql, take_write_lock
from api.kit.idempotency import IdempotentUnitOfWork, open_unit_of_work, request_identity
from credit.store.engine import writer_queue
from credit.store.writer_lock import WriterLock

MOST = 32
"""The most authorizations one transaction holds (the first of them waits for the last)."""

BATCHES_ON_A_SERVER = 4
"""How many batches a worker runs at once on a database server (on SQLite: one)."""

TURN_POLL_SECONDS = 0.001
"""How often a worker waiting for another's SQLite writer lock tries it again (uvloop's timers count whole ms)."""

TURN_PATIENCE_SECONDS = 0.02
"""How long it tries before it waits in the kernel's queue, event loop and all, as any other writer."""

Route = Callable[..., Response]


async def _writer_turn(engine: Engine) -> WriterLock | None:
    """On a SQLite file served inline, the store's writer lock, waited for with the event loop free; else None.

    A batch's ``BEGIN IMMEDIATE`` waits for another worker's batch in ``flock``, and the event
    loop with it: requests arriving meanwhile are not even read. Taken here first, without
    waiting, and tried again every :data:`TURN_POLL_SECONDS` while the loop reads, parses and
    queues them, so they join the batch. The batch's ``BEGIN`` then finds the lock already held
    by its thread; the caller gives it back after the batch. After
    :data:`TURN_PATIENCE_SECONDS` of tries (another process keeps it: polling has no queue),
    None: the ``BEGIN`` waits in the kernel's queue, which serves in turn.

    The lock is reentrant per thread, and every coroutine of the loop runs on its thread, so it
    may be held only within one step of the loop: from the successful try to the end of the
    batch nothing awaits (on SQLite :func:`~api.kit.db.run_sql` runs the batch inline).
    """
    queue = None if on_a_server(engine) else writer_queue(engine)
    if queue is None:
        return None
    loop = asyncio.get_running_loop()
    give_up = loop.time() + TURN_PATIENCE_SECONDS
    while not queue.try_acquire():
        if loop.time() >= give_up:
            return None
        await asyncio.sleep(TURN_POLL_SECONDS)
    return queue


@dataclass
class Authorization:
    """One request's authorization, parsed and checked, waiting for its batch."""

    request: Request
    plaintext: str | None
    """The API key as presented (None: none)."""
    key: str
    """The Idempotency-Key."""
    raw: bytes
    body: AuthorizationIn
    answer: asyncio.Future[Response] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    caller: Caller | None = None
    """Set once the API key was looked up and its rate limit taken."""
    refused: Exception | None = None
    """What the key's look-up raised (401, 429): the answer, whether the batch commits or not."""


class GroupCommit:
    """Runs the authorizations submitted to it in batches, one transaction each (see the module).

    Parameters
    ----------
    route
        The route's own function, called as FastAPI would: ``route(body=, request=, idem=, caller=)``.
    """

    def __init__(self, route: Route) -> None:
        self.route = route
        self.batches = 0  # how many batches ran (the tests read it)
        self._waiting: list[Authorization] = []
        self._running = 0  # runners between their start and the end of their last batch
        self._runners: set[asyncio.Task[None]] = set()  # the event loop keeps only weak references to tasks

    async def submit(self, authorization: Authorization) -> Response:
        """The authorization's answer once its batch committed; raises what it would raise alone."""
        self._before_the_batch(authorization)
        self._waiting.append(authorization)
        most = BATCHES_ON_A_SERVER if on_a_server(authorization.request.app.state.engine) else 1
        if self._running < most:  # starts at the loop's next step: the requests read in this turn join first
            self._running += 1
            runner = asyncio.get_running_loop().create_task(self._run_batches())
            self._runners.add(runner)
            runner.add_done_callback(self._runners.discard)
        return await authorization.answer

    def _before_the_batch(self, authorization: Authorization) -> None:
        """What needs no transaction, done as the request arrives: outside the batch, on SQLite its write lock.

        The request's path and fingerprint; on SQLite served inline also the API key's look-up
        (on the kept connection, outside a transaction, as in the batch): several worker
        processes take turns at the one write lock, so what a batch holds it for is what
        bounds their throughput. A refused key is kept (``refused``) for the batch to answer.
        """
        request_identity(authorization.request, authorization.raw)
        kept = kept_connection(authorization.request)
        if kept is not None:
            try:
                self._authenticate(authorization, None, kept)
            except Exception:  # noqa: BLE001, S110  (kept in authorization.refused: its batch answers it)
                pass

    async def _run_batches(self) -> None:
        try:
            await self._run_waiting()
        finally:
            # In the step that found nothing waiting: a request submitted after it starts a runner of its own
            # (a finished task's done callbacks run a step later, after requests it answered may have come again).
            self._running -= 1

    async def _run_waiting(self) -> None:
        while self._waiting:
            engine: Engine = self._waiting[0].request.app.state.engine
            turn = await _writer_turn(engine)  # meanwhile, requests read from the sockets join the batch
            try:
                batch, self._waiting = self._waiting[:MOST], self._waiting[MOST:]
                self.batches += 1
                try:
                    answers = await run_sql(engine, self._run, batch, engine)
                except Exception as exc:  # noqa: BLE001  (a bug here: every waiting request answers it)
                    answers = [exc] * len(batch)
            finally:
                if turn is not None:
                    turn.release()
            for authorization, answer in zip(batch, answers):
                if authorization.answer.done():
                    continue
                if isinstance(answer, BaseException):
                    authorization.answer.set_exception(answer)
                else:
                    authorization.answer.set_result(answer)

    def _run(self, batch: list[Authorization], engine: Engine) -> list[Response | BaseException]:
        """Answers (a response or what was raised) in ``batch``'s order: together if all succeed, else one by one."""
        if len(batch) > 1:
            answers = self._together(batch, engine)
            if answers is not None:
                return answers
        return [self._alone(authorization, engine) for authorization in batch]

    def _together(self, batch: list[Authorization], engine: Engine) -> list[Response | BaseException] | None:
        """One unit of work for the whole batch; None when anything in it raised (rolled back)."""
        session, kept = self._unit_of_work(batch[0].request)
        answers: list[Response | BaseException | None] = [None] * len(batch)
        try:
            for index, authorization in enumerate(batch):
                try:
                    self._authenticate(authorization, session, kept)
                except Exception as exc:  # noqa: BLE001  (401, 429: the request's own answer, nothing written)
                    answers[index] = exc
            order = range(len(batch))
            if kept is None:  # a database server: lines locked in buyer order by every worker
                order = sorted(order, key=lambda index: batch[index].body.buyer_id)
            take_write_lock(session)
            for index in order:
                if answers[index] is None:
                    answers[index] = self._authorize(batch[index], session, engine)
            session.commit()
        except Exception:  # noqa: BLE001  (each runs again alone, where it answers what it raised)
            session.rollback()
            return None
        finally:
            session.close()
        return answers  # type: ignore[return-value]

    def _alone(self, authorization: Authorization, engine: Engine) -> Response | BaseException:
        session, kept = self._unit_of_work(authorization.request)
        try:
            self._authenticate(authorization, session, kept)
            take_write_lock(session)
            response = self._authorize(authorization, session, engine)
        except Exception as exc:  # noqa: BLE001  (answered by the app's exception handlers, as the route's)
            finish_unit_of_work(session, False)
            return exc
        try:
            finish_unit_of_work(session, True)
        except Exception as exc:  # noqa: BLE001
            return exc
        return response

    @staticmethod
    def _unit_of_work(request: Request) -> tuple[Session, Connection | None]:
        """A session for a unit of work, and the connection SQLite keeps for it (None on a server)."""
        session, _ = kept_unit_of_work(request)
        return session, session.bind if isinstance(session.bind, Connection) else None

    @staticmethod
    def _authenticate(authorization: Authorization, session: Session | None, kept: Connection | None) -> None:
        """Look the API key up (once per authorization), before the write lock on SQLite (a 401 never takes it).

        On SQLite on the kept connection, outside a transaction (the driver's autocommit, as
        :data:`~api.kit.auth.CallerDep` reads it), as the request arrives
        (:meth:`_before_the_batch`); on a database server in the unit of work's own
        transaction, which sees every committed revocation.
        """
        if authorization.refused is not None:
            raise authorization.refused
        if authorization.caller is None:
            try:
                authorization.caller = authenticate_on(kept if kept is not None else session, authorization.request,
                                                       authorization.plaintext)
            except Exception as exc:
                authorization.refused = exc
                raise

    def _authorize(self, authorization: Authorization, session: Session, engine: Engine) -> Response:
        """Check, claim and authorize in ``session``'s transaction, as the FastAPI route's dependencies and body do."""
        claim: IdempotentUnitOfWork
        claim, _ = open_unit_of_work(authorization.request, authorization.caller, authorization.key,
                                     authorization.raw, (session, engine))
        response = self.route(body=authorization.body, request=authorization.request, idem=claim,
                              caller=authorization.caller)
        if not claim.responded:
            raise RuntimeError("the route did not end with IdempotentRequest.respond()")
        return response


"""Empty the sandbox's store and seed its test buyers (:mod:`credit.sandbox.buyers`), through the library.

:func:`reset` is ``credit sandbox reset``; :func:`ensure_seeded` seeds a sandbox store that
was never seeded (the first test key's request, the first ``credit sandbox key``). Seeding
builds the buyers' past as it would have happened: lines opened two months ago, the
in-arrears buyer's order captured 40 days ago on net 30, and the servicing job run for each
day since (its reminders and late fee), each step on the clock of its moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, inspect, select, text, update
from sqlalchemy.orm import Session

from credit import clock, ledger
from credit.events import outbox
from credit.events.tables import Event
from credit.models.reasons import REASON_CATALOGUE_VERSION
from credit.policy import Policy
from credit.sandbox.buyers import ARREARS_AMOUNT_MINOR, GMV_365D_MINOR, SANDBOX_MODEL, TENURE_DAYS, TEST_BUYERS
from credit.sandbox.tables import SandboxClock
from credit.scoring.tables import ScoreSnapshot
from credit.servicing import receivables
from credit.servicing.run import end_of_day, run_day
from credit.store.tables import Firm
from credit.webhooks.tables import WebhookEndpoint

SEED_ACTOR = "sandbox-seed"
"""Who the seed's holds and servicing decisions name."""
KEPT_TABLES: tuple[str, ...] = ("api_keys", "webhook_endpoints")
"""What a reset keeps: the test keys integrators were given (their idempotency records go) and
their webhook endpoints (deliveries and attempts go; each endpoint reads on from after the seed's
own events)."""
_LINES_OPENED_DAYS_AGO = 60
_SEED_LOCK = 0x73616E64626F78  # "sandbox": PostgreSQL advisory lock held while one process seeds


@dataclass(frozen=True)
class ResetReport:
    """What a reset did."""

    tables_emptied: int
    rows_deleted: int
    kept: dict[str, int]
    buyers: int
    seeded_at: datetime


def reset(engine: Engine, policy: Policy, *, keep: Iterable[str] = KEPT_TABLES) -> ResetReport:
    """Empty every table of the sandbox's store but ``keep`` (and Alembic's), then seed the test buyers.

    Parameters
    ----------
    engine
        The sandbox's store, at the latest schema. Never the operational store: every row goes.
    policy
        The policy the seed's servicing days apply.
    keep
        Tables left as they are (default: the API keys).

    Returns
    -------
    ResetReport
    """
    keep = set(keep) | {"alembic_version"}
    with Session(engine) as session, session.begin():
        _lock(session)
        names = [name for name in inspect(session.connection()).get_table_names() if name not in keep]
        deleted = _empty(session, names)
        seeded_at = seed(session, policy)
        if "webhook_endpoints" in keep:
            outbox.sequence(session)  # the seed's events, placed before what the integrator will do
            session.execute(update(WebhookEndpoint).values(
                cursor=select(func.coalesce(func.max(Event.position), 0)).scalar_subquery()))
        kept = {name: session.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()
                for name in sorted(keep - {"alembic_version"})}
    return ResetReport(len(names), deleted, kept, len(TEST_BUYERS), seeded_at)


def ensure_seeded(engine: Engine, policy: Policy) -> bool:
    """Seed the sandbox's store if it never was (no clock row); whether it seeded now. Safe to race."""
    with Session(engine) as session, session.begin():
        _lock(session)
        if session.get(SandboxClock, 1) is not None:
            return False
        seed(session, policy)
    return True


def _lock(session: Session) -> None:
    """One seeder or resetter at a time: SQLite's write lock, PostgreSQL's advisory lock for the transaction."""
    connection = session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    if connection.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEED_LOCK})


def _empty(session: Session, names: list[str]) -> int:
    if not names:
        return 0
    connection = session.connection()
    counted = sum(session.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one() for name in names)
    if connection.dialect.name == "postgresql":
        session.execute(text(f"TRUNCATE {', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)} RESTART IDENTITY"))
        return counted
    session.execute(text("PRAGMA defer_foreign_keys = ON"))  # rows go in any order; keys checked at commit
    # The audit trail's and the ledger's append-only triggers refuse a DELETE (PostgreSQL's are row
    # triggers, which TRUNCATE does not fire): dropped and made again in the same transaction.
    triggers = session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
    for name, _sql in triggers:
        session.execute(text(f'DROP TRIGGER "{name}"'))
    for name in names:
        session.execute(text(f'DELETE FROM "{name}"'))
    for _name, sql in triggers:
        session.execute(text(sql))
    if session.execute(text("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")).first():
        for name in names:  # ids start at 1 again, as on PostgreSQL
            session.execute(text("DELETE FROM sqlite_sequence WHERE name = :name"), {"name": name})
    return counted


def seed(session: Session, policy: Policy) -> datetime:
    """Add the test buyers with their scores, lines and past to an empty sandbox store; return the seeding time.

    The sandbox's clock starts at the installed clock's now (offset 0) and its daily jobs
    count as run through yesterday.
    """
    now = clock.current().now()
    with clock.running_on(clock.FixedClock(now)):
        _seed_firms(session, now)
    opened = now - timedelta(days=_LINES_OPENED_DAYS_AGO)
    with clock.running_on(clock.FixedClock(opened)):
        lines = _seed_lines(session, opened)
    for buyer in TEST_BUYERS:
        if buyer.overdue_days:
            _seed_arrears(session, lines[buyer.firm_id], now - timedelta(days=buyer.overdue_days), policy)
    first_day = (now - timedelta(days=_LINES_OPENED_DAYS_AGO)).date()
    day = first_day
    while day < now.date():
        with clock.running_on(clock.FixedClock(end_of_day(day))):
            run_day(session, day, policy, actor=SEED_ACTOR)
        day += timedelta(days=1)
    session.add(SandboxClock(clock_id=1, offset_us=0, serviced_through=now.date() - timedelta(days=1),
                             seeded_at=now, moved_at=None))
    session.flush()
    return now


def _seed_firms(session: Session, now: datetime) -> None:
    for buyer in TEST_BUYERS:
        session.add(Firm(firm_id=buyer.firm_id, name=buyer.name, roles="buyer", industry="wholesale", region="central",
                         size_band="small", registered_at=now - timedelta(days=TENURE_DAYS), verified=buyer.verified,
                         deposit_minor=0))
    session.flush()
    for buyer in TEST_BUYERS:
        session.add(ScoreSnapshot(
            firm_id=buyer.firm_id, as_of=now.date(), model_name=SANDBOX_MODEL.name,
            model_version=SANDBOX_MODEL.version, pd=float(buyer.pd),
            features={"buyer_gmv_365d": GMV_365D_MINOR, "tenure_days": TENURE_DAYS, "verified": int(buyer.verified),
                      "debtor_days_past_due": 0},
            reason_codes=[], reason_catalogue_version=REASON_CATALOGUE_VERSION, scored_at=now))
    session.flush()


def _seed_lines(session: Session, opened: datetime) -> dict[int, int]:
    lines = {}
    for buyer in TEST_BUYERS:
        if buyer.line_status is None:
            continue
        line_id = ledger.open_line(session, firm_id=buyer.firm_id, limit_minor=buyer.limit_minor, currency="EUR",
                                   per_order_cap_minor=buyer.per_order_cap_minor, now=opened)
        if buyer.line_status == "frozen":
            ledger.freeze(session, line_id, by="finance", now=opened)
        elif buyer.line_status == "closed":
            ledger.close_line(session, line_id, now=opened)
        lines[buyer.firm_id] = line_id
    return lines


def _seed_arrears(session: Session, line_id: int, due_at: datetime, policy: Policy) -> None:
    """An order on net 30 captured 30 days before ``due_at``, unpaid."""
    terms_days = 30
    shipped = due_at - timedelta(days=terms_days)
    with clock.running_on(clock.FixedClock(shipped)):
        hold = ledger.authorize(session, line_id, ARREARS_AMOUNT_MINOR, order_reference="sandbox-arrears-order",
                                authorized_by=SEED_ACTOR, terms_days=terms_days, now=shipped)
        receivables.book_capture(session, hold_id=hold.hold_id, amount_minor=ARREARS_AMOUNT_MINOR,
                                 shipment_reference="sandbox-arrears-shipment", authorized_by=SEED_ACTOR,
                                 policy=policy, now=shipped)


"""The early-warning work list: the latest run's warnings with the book's exposure at risk on each firm.

**Exposure at risk** is money the book has out on the firm now, in minor units: what it has drawn on
its credit line (posted, captured and owed, plus held by pending authorizations, which are
captured as goods ship) and what every financing has at risk on it, as buyer or debtor and as
supplier or borrower (:data:`credit.financing.exposure.AT_RISK`: an approved advance in full,
then its outstanding principal). An undrawn limit is not at risk: a freeze keeps it undrawn.

The list is sorted by exposure at risk, largest first, then by number of reasons, then firm id;
it is filtered in memory (a run lists a few hundred firms) and shown a page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.console.queries.exposure import LineView, lines_of_firms
from api.console.queries.financing import PRODUCT_LABELS as FINANCING_LABELS
from api.console.sessions import CONSOLE_ROLES
from api.kit.tables import ApiKey
from credit.audit import DecisionRecord
from credit.financing.exposure import financing_at_risk_of_firms
from credit.financing.tables import FINANCING_KINDS, Financing
from credit.monitoring.results import WARNING_REASONS
from credit.monitoring.tables import EarlyWarningRecord, MonitoringRunRecord
from credit.monitoring.work_list import WarningWork, work_on
from credit.store.tables import Firm

PAGE_SIZE = 50
CREDIT_LINE = "credit_line"
PRODUCT_LABELS: dict[str, str] = {CREDIT_LINE: "Credit line", **FINANCING_LABELS}

_RUNS = MonitoringRunRecord.__table__
_WARNINGS = EarlyWarningRecord.__table__


@dataclass(frozen=True)
class RunShown:
    run_id: int
    as_of: date
    created_at: datetime


@dataclass(frozen=True)
class WorkListFilters:
    """What the list is narrowed to; None (or False) keeps everything."""

    with_exposure: bool = False
    product: str | None = None
    rule: str | None = None
    industry: str | None = None


@dataclass(frozen=True)
class WorkItem:
    """One warning of the list with the firm, its line, its financings at risk and the work done on it."""

    run_id: int
    firm_id: int
    name: str | None
    industry: str | None
    reasons: tuple[str, ...]
    line: LineView | None
    financing_minor: dict[str, int] = field(default_factory=dict)
    work: WarningWork = field(default_factory=WarningWork)

    @property
    def line_drawn_minor(self) -> int:
        """Posted plus held on its line; 0 without one."""
        return 0 if self.line is None else self.line.posted_minor + self.line.pending_minor

    @property
    def financing_total_minor(self) -> int:
        return sum(self.financing_minor.values())

    @property
    def at_risk_minor(self) -> int:
        """Exposure at risk: the line drawn plus every financing at risk (the module's docstring)."""
        return self.line_drawn_minor + self.financing_total_minor

    @property
    def products(self) -> tuple[str, ...]:
        """The products the book has on the firm: a line not closed, financings with something at risk."""
        held = [CREDIT_LINE] if self.line is not None and self.line.status != "closed" else []
        return (*held, *(kind for kind in FINANCING_KINDS if self.financing_minor.get(kind, 0) > 0))


@dataclass(frozen=True)
class WorkList:
    """A page of the filtered list, with what the filters may choose from."""

    run: RunShown | None
    items: tuple[WorkItem, ...]
    matched: int
    listed: int
    page: int
    pages: int
    products: tuple[str, ...]
    rules: tuple[str, ...]
    industries: tuple[str, ...]


def latest_run(session: Session) -> RunShown | None:
    row = session.execute(select(_RUNS.c.run_id, _RUNS.c.as_of, _RUNS.c.created_at)
                          .order_by(_RUNS.c.created_at.desc(), _RUNS.c.run_id.desc()).limit(1)).first()
    return None if row is None else RunShown(row.run_id, row.as_of, row.created_at)


def run_of(session: Session, run_id: int) -> RunShown | None:
    row = session.execute(select(_RUNS.c.run_id, _RUNS.c.as_of, _RUNS.c.created_at)
                          .where(_RUNS.c.run_id == run_id)).first()
    return None if row is None else RunShown(row.run_id, row.as_of, row.created_at)


def _items(session: Session, run: RunShown, firm_ids: list[int] | None = None) -> list[WorkItem]:
    query = select(_WARNINGS.c.firm_id, _WARNINGS.c.reasons).where(_WARNINGS.c.run_id == run.run_id)
    if firm_ids is not None:
        query = query.where(_WARNINGS.c.firm_id.in_(firm_ids))
    warnings = [(int(row.firm_id), tuple(row.reasons)) for row in session.execute(query)]
    ids = [firm_id for firm_id, _ in warnings]
    firms: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 500):
        firms.update((row.firm_id, (row.name, row.industry)) for row in session.execute(
            select(Firm.firm_id, Firm.name, Firm.industry).where(Firm.firm_id.in_(ids[start:start + 500]))))
    lines = lines_of_firms(session, ids)
    financing = financing_at_risk_of_firms(session, ids)
    work = work_on(session, run.run_id, firm_ids)
    return [WorkItem(run.run_id, firm_id, firms.get(firm_id, (None, None))[0], firms.get(firm_id, (None, None))[1],
                     reasons, lines.get(firm_id), financing.get(firm_id, {}), work.get(firm_id, WarningWork()))
            for firm_id, reasons in warnings]


def _sort_key(item: WorkItem) -> tuple[int, int, int]:
    return (-item.at_risk_minor, -len(item.reasons), item.firm_id)


def products_in_store(session: Session) -> tuple[str, ...]:
    """The products a filter may choose: the credit line, and each financing product the store has booked."""
    kinds = set(session.scalars(select(Financing.kind).distinct()))
    return (CREDIT_LINE, *(kind for kind in FINANCING_KINDS if kind in kinds))


def work_list(session: Session, filters: WorkListFilters, page: int = 1) -> WorkList:
    """The latest run's warnings that pass ``filters``, largest exposure at risk first, page ``page``.

    Parameters
    ----------
    session
        The request's session.
    filters
        Exposure, product, rule and industry to keep.
    page
        1-based; a page past the last gives an empty page (``pages`` says how many there are).
    """
    run = latest_run(session)
    products = products_in_store(session)
    if run is None:
        return WorkList(None, (), 0, 0, 1, 1, products, tuple(WARNING_REASONS), ())
    everything = _items(session, run)
    kept = [item for item in everything
            if (not filters.with_exposure or item.at_risk_minor > 0)
            and (filters.product is None or filters.product in item.products)
            and (filters.rule is None or filters.rule in item.reasons)
            and (filters.industry is None or item.industry == filters.industry)]
    kept.sort(key=_sort_key)
    pages = max(1, -(-len(kept) // PAGE_SIZE))
    shown = kept[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    industries = tuple(sorted({item.industry for item in everything if item.industry}))
    return WorkList(run, tuple(shown), len(kept), len(everything), page, pages, products, tuple(WARNING_REASONS),
                    industries)


def work_item(session: Session, run_id: int, firm_id: int) -> tuple[RunShown, WorkItem] | None:
    """One warning of run ``run_id`` as the list shows it; None when the run did not list the firm."""
    run = run_of(session, run_id)
    if run is None:
        return None
    found = _items(session, run, [firm_id])
    return (run, found[0]) if found else None


@dataclass(frozen=True)
class LineChangeShown:
    decision_id: str
    action: str
    limit_minor: int | None
    reason: str | None
    actor: str
    created_at: datetime


def line_changes_since(session: Session, firm_id: int, since: datetime) -> list[LineChangeShown]:
    """The firm's audited line changes (freeze, unfreeze, new limit) made since ``since``, oldest first."""
    rows = session.execute(
        select(DecisionRecord.decision_id, DecisionRecord.request, DecisionRecord.amount_minor, DecisionRecord.actor,
               DecisionRecord.created_at)
        .where(DecisionRecord.firm_id == firm_id, DecisionRecord.kind == "line_change",
               DecisionRecord.created_at >= since)
        .order_by(DecisionRecord.created_at, DecisionRecord.decision_id)).all()
    return [LineChangeShown(row.decision_id, str(row.request.get("action", "")), row.amount_minor,
                            row.request.get("reason"), row.actor, row.created_at) for row in rows]


def console_users(session: Session) -> tuple[str, ...]:
    """Who a warning may be assigned to: the clients of API keys that open the console, not revoked."""
    return tuple(session.scalars(select(ApiKey.client).where(ApiKey.role.in_(CONSOLE_ROLES),
                                                            ApiKey.revoked_at.is_(None))
                                 .distinct().order_by(ApiKey.client)))

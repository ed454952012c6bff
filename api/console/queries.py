"""Read models of the console's pages: each query is a function of the request's session.

Every figure a page shows comes from here, straight from the store: the review queue
(``credit_line_applications`` with their decisions), an application's decision, reasons and
the feature values behind them, a firm's line, holds, invoices, score history and decisions,
and the portfolio's exposure, expected loss, utilisation and application rates. Money stays
integer minor units (expected loss is summed in ``Decimal`` and rounded once, per total).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from api.firms import service as firms
from api.kit.errors import Conflict
from api.kit.money import to_minor
from credit.audit import DecisionRecord
from credit.decisions.codes import POLICY_REASONS, describe
from credit.decisions.credit_line import CREDIT_LINE_FEATURES
from credit.ledger.journal import HOLDS, LINES, TRANSFERS
from credit.models.reasons import feature_reason_codes
from credit.models.serving import ServingModel
from credit.monitoring.results import WARNING_REASONS, EarlyWarning, warnings_of_firm
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.policy import Policy
from credit.scoring.tables import ScoreSnapshot
from credit.store.tables import Firm, Invoice, Payment

QUEUE_PAGE = 200
"""Most referred applications the queue lists at once (oldest first)."""

DECISIONS_SHOWN = 50
OPEN_INVOICES_SHOWN = 50
FEATURES_PER_REASON = 5
MEANINGFUL_PUSH = 0.0005
"""Least push on the log-odds for a feature to be listed as behind a reason (smaller ones round to 0.000)."""
TOP_DRIVERS = 10

AGEING_BUCKETS: tuple[str, ...] = ("Current", "1–30 days", "31–60 days", "61–90 days", "Over 90 days")
"""Invoice ageing buckets, by whole days past due: not yet due (or due today), then 1-30, 31-60, 61-90, over 90."""

UTILISATION_BANDS: tuple[tuple[str, int, int], ...] = (
    ("0%", 0, 0), ("1–25%", 0, 25), ("25–50%", 25, 50), ("50–75%", 50, 75), ("75–90%", 75, 90), ("90–100%", 90, 100),
)
"""(label, above, up to) in percent of the limit used; the first band is lines with nothing used."""

KIND_LABELS = {
    "credit_line_application": "Credit-line application", "credit_line_review": "Review by the finance team",
    "line_change": "Line change", "checkout": "Checkout", "order_financing": "Order financing",
    "receivable_financing": "Receivables financing",
}
_LINE_KINDS = ("credit_line_application", "credit_line_review", "line_change")
_DAY = timedelta(days=1)


# ---------------------------------------------------------------------------------------------
# shared pieces


@dataclass(frozen=True)
class Reason:
    """A reason code with its plain-language text; ``source`` is ``policy`` or ``model``."""

    code: str
    text: str
    source: str


def reasons_of(codes: list[str] | tuple[str, ...]) -> tuple[Reason, ...]:
    """Reason codes of a decision (policy codes, then the model's) with their texts."""
    reasons = []
    for code in codes:
        try:
            text = describe(code)
        except KeyError:
            text = "(code not in this version's catalogues)"
        reasons.append(Reason(code, text, "policy" if code in POLICY_REASONS else "model"))
    return tuple(reasons)


@dataclass(frozen=True)
class FirmSummary:
    """Who a firm is on the marketplace."""

    firm_id: int
    name: str
    roles: str
    industry: str
    region: str
    size_band: str
    registered_at: datetime
    verified: bool


def firm_summary(session: Session, firm_id: int) -> FirmSummary | None:
    """Who a firm is.

    Parameters
    ----------
    session
        The request's session.
    firm_id
        The firm's id on the marketplace.

    Returns
    -------
    FirmSummary or None
        None if there is no such firm.
    """
    firm = session.get(Firm, firm_id)
    if firm is None:
        return None
    return FirmSummary(firm.firm_id, firm.name, firm.roles, firm.industry, firm.region, firm.size_band,
                       firm.registered_at, bool(firm.verified))


def firm_names(session: Session, firm_ids: list[int]) -> dict[int, str]:
    """Names of firms, for lists that link to them.

    Returns
    -------
    dict
        Firm id -> name, for the ids that exist (queried in chunks of 500).
    """
    names: dict[int, str] = {}
    for start in range(0, len(firm_ids), 500):
        chunk = firm_ids[start:start + 500]
        names.update((firm_id, name) for firm_id, name in
                     session.execute(select(Firm.firm_id, Firm.name).where(Firm.firm_id.in_(chunk))))
    return names


def lines_of_firms(session: Session, firm_ids: list[int]) -> dict[int, LineView]:
    """The credit lines of several firms at once.

    Returns
    -------
    dict
        Firm id -> its :class:`LineView`, for the firms that have a line.
    """
    lines: dict[int, LineView] = {}
    for start in range(0, len(firm_ids), 500):
        chunk = firm_ids[start:start + 500]
        for row in session.execute(select(LINES.c.firm_id, LINES.c.line_id, LINES.c.status, LINES.c.limit_minor,
                                          LINES.c.posted_minor, LINES.c.pending_minor, LINES.c.per_order_cap_minor,
                                          LINES.c.created_at, LINES.c.updated_at).where(LINES.c.firm_id.in_(chunk))):
            lines[row.firm_id] = LineView(*row[1:])
    return lines


def age_days(created_at: datetime, now: datetime) -> int:
    """Whole days since ``created_at`` (0 on the first day)."""
    return max(0, (now - created_at) // _DAY)


def _requested_minor(request: dict) -> int | None:
    requested = request.get("requested_limit") if isinstance(request, dict) else None
    if requested is None:
        return None
    try:
        return to_minor(str(requested))
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# the review queue


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters; None means "any". Limits are minor units, ages whole days."""

    grade: str | None = None
    min_limit_minor: int | None = None
    max_limit_minor: int | None = None
    reason: str | None = None
    min_age_days: int | None = None
    max_age_days: int | None = None


@dataclass(frozen=True)
class QueueItem:
    """A referred application as the queue lists it."""

    decision_id: str
    firm_id: int
    firm_name: str
    created_at: datetime
    age_days: int
    grade: str
    pd: Decimal
    limit_minor: int
    requested_limit_minor: int | None
    reasons: tuple[Reason, ...]

    @property
    def referral_reasons(self) -> tuple[Reason, ...]:
        """Why the policy sent it to the finance team (the ``refer_*`` rules)."""
        return tuple(reason for reason in self.reasons if reason.code.startswith("refer_"))

    @property
    def risk_reasons(self) -> tuple[Reason, ...]:
        """Why the firm scored as risky, most important first (the model's codes)."""
        return tuple(reason for reason in self.reasons if reason.source == "model")


@dataclass(frozen=True)
class Queue:
    """The listed items, how many match the filters and how many wait in all."""

    items: tuple[QueueItem, ...]
    matching: int
    waiting: int
    reason_codes: tuple[Reason, ...]


def review_queue(session: Session, filters: QueueFilters, now: datetime, *, limit: int = QUEUE_PAGE) -> Queue:
    """Referred applications waiting for review, oldest first, filtered.

    Parameters
    ----------
    session
        The request's session.
    filters
        Grade, proposed-limit range (minor units, inclusive), a reason code the application
        carries, and its age in whole days (inclusive range).
    now
        The time ages are counted to (UTC).
    limit
        Most items listed; ``matching`` still counts them all.

    Returns
    -------
    Queue
        The items; ``waiting`` counts every referred application, ``reason_codes`` the codes
        they carry (for the reason filter).
    """
    query = (select(Application.decision_id, Application.firm_id, Application.created_at, Firm.name,
                    DecisionRecord.grade, DecisionRecord.amount_minor, DecisionRecord.result,
                    DecisionRecord.request, DecisionRecord.reason_codes)
             .join(DecisionRecord, DecisionRecord.decision_id == Application.decision_id)
             .join(Firm, Firm.firm_id == Application.firm_id)
             .where(Application.status == "referred")
             .order_by(Application.created_at, Application.decision_id))
    every = session.execute(query).all()
    codes_seen: dict[str, None] = {}
    for row in every:
        for code in row.reason_codes:
            codes_seen.setdefault(code)
    matching = []
    for row in every:
        age = age_days(row.created_at, now)
        if filters.grade is not None and row.grade != filters.grade:
            continue
        if filters.min_limit_minor is not None and row.amount_minor < filters.min_limit_minor:
            continue
        if filters.max_limit_minor is not None and row.amount_minor > filters.max_limit_minor:
            continue
        if filters.reason is not None and filters.reason not in row.reason_codes:
            continue
        if filters.min_age_days is not None and age < filters.min_age_days:
            continue
        if filters.max_age_days is not None and age > filters.max_age_days:
            continue
        matching.append(QueueItem(
            decision_id=row.decision_id, firm_id=row.firm_id, firm_name=row.name, created_at=row.created_at,
            age_days=age, grade=row.grade, pd=Decimal(row.result["pd"]), limit_minor=row.amount_minor,
            requested_limit_minor=_requested_minor(row.request), reasons=reasons_of(row.reason_codes)))
    return Queue(items=tuple(matching[:limit]), matching=len(matching), waiting=len(every),
                 reason_codes=reasons_of(sorted(codes_seen)))


# ---------------------------------------------------------------------------------------------
# a firm's line, holds and invoices


@dataclass(frozen=True)
class LineView:
    """A credit line's terms and balances now."""

    line_id: int
    status: str
    limit_minor: int
    posted_minor: int
    pending_minor: int
    per_order_cap_minor: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def exposure_minor(self) -> int:
        return self.posted_minor + self.pending_minor

    @property
    def available_minor(self) -> int:
        return max(self.limit_minor - self.exposure_minor, 0)

    @property
    def utilisation(self) -> Decimal | None:
        """Posted plus pending over the limit; None for a zero limit."""
        return Decimal(self.exposure_minor) / Decimal(self.limit_minor) if self.limit_minor else None


def line_of_firm(session: Session, firm_id: int) -> LineView | None:
    """The firm's credit line as stored now.

    Returns
    -------
    LineView or None
        None when the firm has no line.
    """
    row = session.execute(select(LINES.c.line_id, LINES.c.status, LINES.c.limit_minor, LINES.c.posted_minor,
                                 LINES.c.pending_minor, LINES.c.per_order_cap_minor, LINES.c.created_at,
                                 LINES.c.updated_at).where(LINES.c.firm_id == firm_id)).first()
    return None if row is None else LineView(*row)


@dataclass(frozen=True)
class HoldView:
    """A pending authorization on a line: what is still held of it."""

    hold_id: int
    order_reference: str
    amount_minor: int
    captured_minor: int
    held_minor: int
    created_at: datetime
    expires_at: datetime


def pending_holds(session: Session, line_id: int) -> list[HoldView]:
    """The line's pending holds, oldest first.

    Returns
    -------
    list of HoldView
        Each with what is still held of it (authorized less captured and released).
    """
    rows = session.execute(
        select(HOLDS.c.hold_id, HOLDS.c.order_reference, HOLDS.c.amount_minor, HOLDS.c.captured_minor,
               HOLDS.c.released_minor, HOLDS.c.created_at, HOLDS.c.expires_at)
        .where(HOLDS.c.line_id == line_id, HOLDS.c.status == "pending").order_by(HOLDS.c.hold_id))
    return [HoldView(r.hold_id, r.order_reference, r.amount_minor, r.captured_minor,
                     r.amount_minor - r.captured_minor - r.released_minor, r.created_at, r.expires_at) for r in rows]


@dataclass(frozen=True)
class OpenInvoice:
    """An invoice the firm owes with something left to pay."""

    invoice_id: int
    supplier_id: int
    supplier_name: str
    issued_at: datetime
    due_at: datetime
    amount_minor: int
    paid_minor: int
    days_past_due: int
    bucket: str

    @property
    def outstanding_minor(self) -> int:
        return self.amount_minor - self.paid_minor


@dataclass(frozen=True)
class AgeingBucket:
    label: str
    invoices: int
    outstanding_minor: int


@dataclass(frozen=True)
class InvoiceAgeing:
    """What a firm owes as a buyer, by days past due, and its open invoices (most overdue first)."""

    buckets: tuple[AgeingBucket, ...]
    open_invoices: tuple[OpenInvoice, ...]
    open_count: int
    paid_count: int

    @property
    def outstanding_minor(self) -> int:
        return sum(bucket.outstanding_minor for bucket in self.buckets)

    @property
    def overdue_minor(self) -> int:
        return sum(bucket.outstanding_minor for bucket in self.buckets[1:])


def ageing_bucket(days_past_due: int) -> str:
    """The bucket of :data:`AGEING_BUCKETS` for whole days past due (0 or less: current)."""
    if days_past_due <= 0:
        return AGEING_BUCKETS[0]
    if days_past_due <= 30:
        return AGEING_BUCKETS[1]
    if days_past_due <= 60:
        return AGEING_BUCKETS[2]
    if days_past_due <= 90:
        return AGEING_BUCKETS[3]
    return AGEING_BUCKETS[4]


def invoice_ageing(session: Session, firm_id: int, now: datetime, *, shown: int = OPEN_INVOICES_SHOWN) -> InvoiceAgeing:
    """The firm's invoices as a buyer (debtor), issued before now, aged by days past due now.

    Outstanding is the amount less payments made before now, as the API's days-past-due
    (:func:`api.firms.service.days_past_due`) counts it: credit notes are not netted.

    Parameters
    ----------
    shown
        Most open invoices listed (the most overdue first); the buckets count them all.
    """
    paid = (select(func.coalesce(func.sum(Payment.amount_minor), 0))
            .where(Payment.invoice_id == Invoice.invoice_id, Payment.paid_at < now).scalar_subquery())
    supplier = aliased(Firm)
    rows = session.execute(
        select(Invoice.invoice_id, Invoice.supplier_id, supplier.name, Invoice.issued_at, Invoice.due_at,
               Invoice.amount_minor, paid.label("paid"))
        .join(supplier, supplier.firm_id == Invoice.supplier_id)
        .where(Invoice.buyer_id == firm_id, Invoice.issued_at < now)
        .order_by(Invoice.due_at, Invoice.invoice_id)).all()
    counts = dict.fromkeys(AGEING_BUCKETS, 0)
    sums = dict.fromkeys(AGEING_BUCKETS, 0)
    open_invoices = []
    paid_count = 0
    for row in rows:
        if row.paid >= row.amount_minor:
            paid_count += 1
            continue
        days = (now - row.due_at) // _DAY if row.due_at < now else 0
        bucket = ageing_bucket(days)
        counts[bucket] += 1
        sums[bucket] += row.amount_minor - row.paid
        open_invoices.append(OpenInvoice(row.invoice_id, row.supplier_id, row.name, row.issued_at, row.due_at,
                                         row.amount_minor, row.paid, max(days, 0), bucket))
    return InvoiceAgeing(buckets=tuple(AgeingBucket(label, counts[label], sums[label]) for label in AGEING_BUCKETS),
                         open_invoices=tuple(open_invoices[:shown]), open_count=len(open_invoices),
                         paid_count=paid_count)


# ---------------------------------------------------------------------------------------------
# an application


@dataclass(frozen=True)
class FeatureShown:
    """A feature value behind a decision; ``contribution`` is its push on the log-odds of default, if known."""

    name: str
    value: Any
    code: str | None
    contribution: float | None = None


@dataclass(frozen=True)
class ReasonDrivers:
    """A model reason code and the features of it, strongest push first when contributions are known."""

    reason: Reason
    features: tuple[FeatureShown, ...]
    of: int


@dataclass(frozen=True)
class ReviewSummary:
    """The finance team's decision on a referred application."""

    decision_id: str
    action: str
    outcome: str
    limit_minor: int
    per_order_cap_minor: int
    reason: str
    actor: str
    created_at: datetime


@dataclass(frozen=True)
class ApplicationView:
    """Everything the application page shows about one credit-line application."""

    decision_id: str
    firm: FirmSummary
    status: str
    actor: str
    created_at: datetime
    age_days: int
    outcome: str
    grade: str
    pd: Decimal
    limit_minor: int
    per_order_cap_minor: int
    requested_limit_minor: int | None
    model_name: str | None
    model_version: str | None
    policy_version: str
    score_as_of: date | None
    line_id: int | None
    reasons: tuple[Reason, ...]
    rules_fired: tuple[tuple[str, str, str], ...]
    policy_inputs: tuple[FeatureShown, ...]
    drivers: tuple[ReasonDrivers, ...]
    top_features: tuple[FeatureShown, ...]
    contributions_note: str
    review: ReviewSummary | None


def application_view(session: Session, decision_id: str, now: datetime,
                     model: ServingModel | None) -> ApplicationView | None:
    """One credit-line application with its reasons and the feature values behind them.

    The feature values are the score snapshot the decision read (``firm_scores`` of the
    application's as-of date and model version; the decision's stored inputs when that row is
    gone). When ``model`` is the version that scored the application, each feature's
    TreeSHAP contribution ranks the features behind each model reason.

    Returns
    -------
    ApplicationView or None
        None when there is no such application.
    """
    row = session.get(Application, decision_id)
    if row is None:
        return None
    record = session.get(DecisionRecord, decision_id)
    firm = firm_summary(session, row.firm_id)
    review = session.get(DecisionRecord, row.review_decision_id) if row.review_decision_id else None
    stored = dict(record.inputs.get("features") or {})
    features = stored
    snapshot = None
    if row.score_as_of is not None and record.model_name is not None:
        snapshot = session.execute(select(ScoreSnapshot.features).where(
            ScoreSnapshot.firm_id == row.firm_id, ScoreSnapshot.as_of == row.score_as_of,
            ScoreSnapshot.model_name == record.model_name, ScoreSnapshot.model_version == record.model_version)
        ).scalar()
        if snapshot is not None:
            features = dict(snapshot)
    contributions, note = _contributions(model, record, features)
    codes = _feature_codes(features)
    drivers = []
    for reason in reasons_of(record.reason_codes):
        if reason.source != "model":
            continue
        names = [name for name, code in codes.items() if code == reason.code]
        if contributions is not None:
            names.sort(key=lambda name: -contributions.get(name, 0.0))
            pushing = [name for name in names if contributions.get(name, 0.0) >= MEANINGFUL_PUSH]
            chosen = pushing[:FEATURES_PER_REASON] or names[:3]
        else:
            names.sort(key=lambda name: (features.get(name) is None, name))
            chosen = names[:FEATURES_PER_REASON]
        shown = tuple(FeatureShown(name, features.get(name), reason.code,
                                   None if contributions is None else contributions.get(name))
                      for name in chosen)
        drivers.append(ReasonDrivers(reason, shown, len(names)))
    top: tuple[FeatureShown, ...] = ()
    if contributions is not None:
        ranked = sorted(contributions, key=lambda name: -abs(contributions[name]))[:TOP_DRIVERS]
        top = tuple(FeatureShown(name, features.get(name), codes.get(name), contributions[name]) for name in ranked)
    result = record.result
    review_summary = None
    if review is not None:
        review_summary = ReviewSummary(
            decision_id=review.decision_id, action=str(review.request.get("action", review.outcome)),
            outcome=review.outcome, limit_minor=review.result["limit_minor"],
            per_order_cap_minor=review.result["per_order_cap_minor"], reason=str(review.request.get("reason", "")),
            actor=review.actor, created_at=review.created_at)
    return ApplicationView(
        decision_id=decision_id, firm=firm, status=row.status, actor=row.actor, created_at=row.created_at,
        age_days=age_days(row.created_at, now), outcome=record.outcome, grade=result["grade"],
        pd=Decimal(result["pd"]), limit_minor=result["limit_minor"], per_order_cap_minor=result["per_order_cap_minor"],
        requested_limit_minor=record.inputs.get("requested_limit_minor"), model_name=record.model_name,
        model_version=record.model_version, policy_version=record.policy_version, score_as_of=row.score_as_of,
        line_id=row.line_id, reasons=reasons_of(record.reason_codes),
        rules_fired=tuple((rule["code"], _describe(rule["code"]), rule["detail"]) for rule in record.rules_fired),
        policy_inputs=tuple(FeatureShown(name, stored.get(name), None) for name in CREDIT_LINE_FEATURES),
        drivers=tuple(drivers), top_features=top, contributions_note=note, review=review_summary)


def _describe(code: str) -> str:
    try:
        return describe(code)
    except KeyError:
        return code


def _feature_codes(features: dict[str, Any]) -> dict[str, str]:
    codes = {}
    for name in features:
        try:
            codes.update(feature_reason_codes([name]))
        except ValueError:
            continue  # a stored input no reason rule claims (none should exist): shown nowhere
    return codes


def _contributions(model: ServingModel | None, record: DecisionRecord,
                   features: dict[str, Any]) -> tuple[dict[str, float] | None, str]:
    if record.model_version is None:
        return None, "The decision was not scored by a model."
    if model is None:
        return None, ("The champion model is not loaded, so the features behind each reason are listed by name, "
                      "not by their weight in the score.")
    if (model.name, model.version) != (record.model_name, record.model_version):
        return None, (f"The application was scored by {record.model_name} version {record.model_version}; the "
                      f"service now runs version {model.version}, so the features are listed by name, not by their "
                      "weight in that score.")
    import pandas as pd  # loaded already by the service (credit.models.reasons)

    columns = {}
    for name in model.features:
        value = features.get(name)
        if name in model.categories:
            columns[name] = [None if value is None else str(value)]
        else:
            try:
                columns[name] = [math.nan if value is None else float(value)]
            except (TypeError, ValueError):
                columns[name] = [math.nan]
    try:
        frame = model.contributions(pd.DataFrame(columns))
    except (KeyError, TypeError, ValueError) as exc:
        return None, f"The features' weights could not be worked out ({type(exc).__name__}): listed by name."
    contributions = {name: float(frame.iloc[0][name]) for name in model.features}
    return contributions, ("Weight: each feature's push on the log-odds of default in this score (TreeSHAP), "
                           f"by {model.name} version {model.version}; positive raises the PD.")


# ---------------------------------------------------------------------------------------------
# a firm


@dataclass(frozen=True)
class ScorePoint:
    """The firm's score at one batch date (the last run of that date)."""

    as_of: date
    pd: Decimal
    grade: str
    model_version: str


def score_history(session: Session, firm_id: int, policy: Policy) -> list[ScorePoint]:
    """The firm's PD and grade at every batch date, oldest first.

    Parameters
    ----------
    session
        The request's session.
    firm_id
        The firm.
    policy
        Its master scale grades each PD.

    Returns
    -------
    list of ScorePoint
        One per as-of date of ``firm_scores``: the last run of that date (any model version).
    """
    rows = session.execute(
        select(ScoreSnapshot.as_of, ScoreSnapshot.pd, ScoreSnapshot.model_version)
        .where(ScoreSnapshot.firm_id == firm_id)
        .order_by(ScoreSnapshot.as_of, ScoreSnapshot.scored_at, ScoreSnapshot.score_id)).all()
    last: dict[date, ScorePoint] = {}
    for as_of, pd_, version in rows:
        value = Decimal(repr(float(pd_)))
        last[as_of] = ScorePoint(as_of, value, policy.grade_of(value), version)
    return list(last.values())


@dataclass(frozen=True)
class CurrentScore:
    """The firm's score now, as the API's ``GET /v1/firms/{id}/credit`` gives it."""

    as_of: date
    pd: Decimal
    grade: str
    model_name: str
    model_version: str
    reasons: tuple[Reason, ...]


def current_score(session: Session, firm_id: int, policy: Policy, model: ServingModel | None) -> CurrentScore | None:
    """The firm's score now, as ``GET /v1/firms/{id}/credit`` gives it.

    Parameters
    ----------
    session
        The request's session.
    firm_id
        The firm.
    policy
        Its master scale grades the PD.
    model
        The champion; the latest snapshot is re-scored with it when another version wrote it
        (as stored when it cannot be, or when ``model`` is None).

    Returns
    -------
    CurrentScore or None
        None when the firm was never scored.
    """
    try:
        score = firms.current_score(session, model, firm_id)
    except Conflict:  # the snapshot cannot be re-scored by the champion: show it as stored
        score = firms.current_score(session, None, firm_id)
    if score is None:
        return None
    pd_ = firms.pd_decimal(score)
    return CurrentScore(score.as_of, pd_, policy.grade_of(pd_), score.model_name, score.model_version,
                        reasons_of(score.reason_codes))


@dataclass(frozen=True)
class LineHistory:
    """A line's limit and exposure (posted + pending) at the end of each day something changed, and now."""

    limit: tuple[tuple[date, int], ...]
    exposure: tuple[tuple[date, int], ...]

    @property
    def utilisation(self) -> tuple[tuple[date, Decimal | None], ...]:
        return tuple((day, Decimal(used) / Decimal(limit) if limit else None)
                     for (day, limit), (_, used) in zip(self.limit, self.exposure, strict=True))


def line_history(session: Session, firm_id: int, line: LineView, now: datetime) -> LineHistory:
    """The line's limit (from its audited decisions) and exposure (replayed from its transfers) over time.

    The limit before the first line decision is that decision's; a line opened without one
    (outside the API) shows its current limit throughout.

    Parameters
    ----------
    session
        The request's session.
    firm_id
        The line's firm (its decisions name the firm).
    line
        The line now (:func:`line_of_firm`).
    now
        The last point of both series is the line as it is now, dated today.

    Returns
    -------
    LineHistory
    """
    limits = session.execute(
        select(DecisionRecord.created_at, DecisionRecord.amount_minor)
        .where(DecisionRecord.firm_id == firm_id, DecisionRecord.kind.in_(_LINE_KINDS),
               DecisionRecord.outcome == "approve", DecisionRecord.created_at >= line.created_at)
        .order_by(DecisionRecord.created_at, DecisionRecord.decision_id)).all()
    transfers = session.execute(
        select(TRANSFERS.c.created_at, TRANSFERS.c.kind, TRANSFERS.c.amount_minor)
        .where(TRANSFERS.c.line_id == line.line_id).order_by(TRANSFERS.c.transfer_id)).all()
    events: list[tuple[datetime, int, str, int]] = [(at, 0, "limit", amount) for at, amount in limits]
    events += [(at, 1, kind, amount) for at, kind, amount in transfers]
    events.sort(key=lambda event: (event[0], event[1]))
    limit = limits[0].amount_minor if limits else line.limit_minor
    posted = pending = 0
    by_day: dict[date, tuple[int, int]] = {line.created_at.date(): (limit, 0)}
    for at, _, kind, amount in events:
        if kind == "limit":
            limit = amount
        elif kind == "hold":
            pending += amount
        elif kind == "post":
            pending -= amount
            posted += amount
        elif kind in ("void", "expire"):
            pending -= amount
        else:  # refund, repay
            posted -= amount
        by_day[max(at.date(), line.created_at.date())] = (limit, posted + pending)
    by_day[max(now.date(), line.created_at.date())] = (line.limit_minor, line.exposure_minor)
    days = sorted(by_day)
    return LineHistory(limit=tuple((day, by_day[day][0]) for day in days),
                       exposure=tuple((day, by_day[day][1]) for day in days))


@dataclass(frozen=True)
class DecisionSummary:
    """One audited decision in a firm's history."""

    decision_id: str
    kind: str
    outcome: str
    grade: str | None
    amount_minor: int | None
    actor: str
    created_at: datetime
    reason: str | None
    parent_decision_id: str | None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


def decisions_of_firm(session: Session, firm_id: int, *, shown: int = DECISIONS_SHOWN) -> tuple[list[DecisionSummary], int]:
    """The firm's audited decisions, newest first.

    Parameters
    ----------
    shown
        Most decisions returned.

    Returns
    -------
    tuple
        The latest ``shown`` decisions as :class:`DecisionSummary`, and how many the firm has.
    """
    total = session.execute(select(func.count()).select_from(DecisionRecord)
                            .where(DecisionRecord.firm_id == firm_id)).scalar_one()
    rows = session.execute(
        select(DecisionRecord.decision_id, DecisionRecord.kind, DecisionRecord.outcome, DecisionRecord.grade,
               DecisionRecord.amount_minor, DecisionRecord.actor, DecisionRecord.created_at, DecisionRecord.request,
               DecisionRecord.parent_decision_id)
        .where(DecisionRecord.firm_id == firm_id)
        .order_by(DecisionRecord.created_at.desc(), DecisionRecord.decision_id).limit(shown)).all()
    return [DecisionSummary(r.decision_id, r.kind, r.outcome, r.grade, r.amount_minor, r.actor, r.created_at,
                            r.request.get("reason") if isinstance(r.request, dict) else None, r.parent_decision_id)
            for r in rows], total


@dataclass(frozen=True)
class WarningShown:
    """An early-warning reason of the latest monitoring run, in words, with its numbers."""

    code: str
    text: str
    details: Any


def early_warnings(session: Session, firm_id: int) -> tuple[WarningShown, ...]:
    """The firm's early-warning reasons in the latest monitoring run.

    Returns
    -------
    tuple of WarningShown
        Empty when the firm is not on the list, or no run is stored yet.
    """
    return tuple(shown for warning in warnings_of_firm(session, firm_id) for shown in warning_reasons(warning))


def warning_reasons(warning: EarlyWarning) -> tuple[WarningShown, ...]:
    """Each reason of an early warning with its text and its own numbers (``details[code]`` when present)."""
    return tuple(WarningShown(code, WARNING_REASONS.get(code, code), warning.details.get(code))
                 for code in warning.reasons)


@dataclass(frozen=True)
class DecisionView:
    """One audited decision, for its own page."""

    record: DecisionRecord
    reasons: tuple[Reason, ...]
    rules_fired: tuple[tuple[str, str, str], ...]
    application_id: str | None
    firm_name: str | None


def decision_view(session: Session, decision_id: str) -> DecisionView | None:
    """An audited decision with the texts of its codes.

    Returns
    -------
    DecisionView or None
        With the credit-line application the decision is or reviews, if any; None when
        there is no such decision.
    """
    record = session.get(DecisionRecord, decision_id)
    if record is None:
        return None
    application_id = None
    if record.kind == "credit_line_application":
        application_id = record.decision_id
    elif record.kind == "credit_line_review":
        application_id = record.parent_decision_id
    firm = session.get(Firm, record.firm_id) if record.firm_id is not None else None
    return DecisionView(record, reasons_of(record.reason_codes),
                        tuple((rule["code"], _describe(rule["code"]), rule["detail"]) for rule in record.rules_fired),
                        application_id, firm.name if firm else None)


# ---------------------------------------------------------------------------------------------
# the portfolio


@dataclass
class GradeExposure:
    """Lines of one grade: how many, their limits, exposure (posted + pending) and expected loss."""

    grade: str
    lines: int = 0
    limit_minor: int = 0
    exposure_minor: int = 0
    expected_loss: Decimal = field(default_factory=Decimal)

    @property
    def expected_loss_minor(self) -> int:
        """Expected loss rounded once to minor units (half to even)."""
        return int(self.expected_loss.to_integral_value(ROUND_HALF_EVEN))

    @property
    def utilisation(self) -> Decimal | None:
        return Decimal(self.exposure_minor) / Decimal(self.limit_minor) if self.limit_minor else None


@dataclass(frozen=True)
class ApplicationRates:
    """Credit-line applications by how they were decided."""

    total: int
    approved: int
    referred_waiting: int
    reviewed_approved: int
    reviewed_declined: int
    declined: int

    @property
    def referred(self) -> int:
        """Referred to the finance team, reviewed since or not."""
        return self.referred_waiting + self.reviewed_approved + self.reviewed_declined

    def rate(self, number: int) -> Decimal | None:
        return Decimal(number) / Decimal(self.total) if self.total else None


@dataclass(frozen=True)
class MonthlyRates:
    month: date
    rates: ApplicationRates


@dataclass(frozen=True)
class Portfolio:
    """The book: exposure and expected loss by grade, utilisation, application rates."""

    grades: tuple[GradeExposure, ...]
    total: GradeExposure
    utilisation: tuple[tuple[str, int], ...]
    frozen_lines: int
    rates: ApplicationRates
    monthly: tuple[MonthlyRates, ...]
    loss_given_default: Decimal
    scores_as_of: date | None


def portfolio(session: Session, policy: Policy) -> Portfolio:
    """Open lines by the firm's current grade, with expected loss = PD x LGD x exposure.

    PD is the firm's latest batch score (``firm_scores``: newest as-of, newest run), graded
    on the policy's master scale; LGD is the policy's ``credit_line.limit.loss_given_default``;
    exposure is posted plus pending. Lines of firms never scored are the grade ``unscored``
    (no expected loss). Closed lines are left out.

    Returns
    -------
    Portfolio
    """
    lgd = policy.credit_line.limit.loss_given_default
    lines = session.execute(select(LINES.c.firm_id, LINES.c.status, LINES.c.limit_minor, LINES.c.posted_minor,
                                   LINES.c.pending_minor).where(LINES.c.status != "closed")).all()
    firm_ids = [line.firm_id for line in lines]
    latest: dict[int, tuple[date, Decimal]] = {}
    for start in range(0, len(firm_ids), 500):  # IN lists of bounded size
        chunk = firm_ids[start:start + 500]
        for firm_id, as_of, pd_ in session.execute(
                select(ScoreSnapshot.firm_id, ScoreSnapshot.as_of, ScoreSnapshot.pd)
                .where(ScoreSnapshot.firm_id.in_(chunk))
                .order_by(ScoreSnapshot.firm_id, ScoreSnapshot.as_of, ScoreSnapshot.scored_at, ScoreSnapshot.score_id)):
            latest[firm_id] = (as_of, Decimal(repr(float(pd_))))
    by_grade = {grade: GradeExposure(grade) for grade in policy.grades}
    total = GradeExposure("all")
    bands = dict.fromkeys((label for label, _, _ in UTILISATION_BANDS), 0)
    frozen = 0
    for line in lines:
        exposure = line.posted_minor + line.pending_minor
        score = latest.get(line.firm_id)
        grade = policy.grade_of(score[1]) if score else "unscored"
        bucket = by_grade.setdefault(grade, GradeExposure(grade))
        loss = score[1] * lgd * exposure if score else Decimal(0)
        for target in (bucket, total):
            target.lines += 1
            target.limit_minor += line.limit_minor
            target.exposure_minor += exposure
            target.expected_loss += loss
        bands[utilisation_band(exposure, line.limit_minor)] += 1
        frozen += line.status == "frozen"
    rates, monthly = _application_rates(session)
    return Portfolio(grades=tuple(by_grade.values()), total=total, utilisation=tuple(bands.items()),
                     frozen_lines=frozen, rates=rates, monthly=monthly, loss_given_default=lgd,
                     scores_as_of=max((as_of for as_of, _ in latest.values()), default=None))


def utilisation_band(exposure_minor: int, limit_minor: int) -> str:
    """The band of :data:`UTILISATION_BANDS` of a line (integer arithmetic: exact at the edges)."""
    if exposure_minor <= 0:
        return UTILISATION_BANDS[0][0]
    for label, _, up_to in UTILISATION_BANDS[1:]:
        if exposure_minor * 100 <= up_to * limit_minor:
            return label
    return UTILISATION_BANDS[-1][0]


def _application_rates(session: Session) -> tuple[ApplicationRates, tuple[MonthlyRates, ...]]:
    review = aliased(DecisionRecord)
    rows = session.execute(select(Application.status, Application.created_at, review.outcome)
                           .outerjoin(review, review.decision_id == Application.review_decision_id)).all()
    months: dict[date, list] = defaultdict(list)
    for row in rows:
        months[row.created_at.date().replace(day=1)].append(row)
    return _rates(rows), tuple(MonthlyRates(month, _rates(months[month])) for month in sorted(months))


def _rates(rows: list) -> ApplicationRates:
    counts: dict[str, int] = defaultdict(int)
    for status, _, review_outcome in rows:
        counts[f"reviewed_{review_outcome}" if status == "reviewed" else status] += 1
    return ApplicationRates(total=len(rows), approved=counts["approved"], referred_waiting=counts["referred"],
                            reviewed_approved=counts["reviewed_approve"], reviewed_declined=counts["reviewed_decline"],
                            declined=counts["declined"])


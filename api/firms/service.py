"""A firm's standing now: its score under the champion, its live arrears and defaults, its line.

The credit decisions of :mod:`api.credit_lines` and :mod:`api.financing` read firms through
these functions, so "the firm's PD" and "days past due now" mean the same thing everywhere.

Scores come from the batch snapshot (:mod:`credit.scoring`): the firm's latest row, as-of the
last batch. When the champion the API serves is not the model that wrote that row, the
stored features are re-scored with the champion (:func:`credit.scoring.score_features`).
What the snapshot cannot know is read live from the store: days past due now, past credit
events, tenure and verification.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.kit.errors import Conflict, NotFound, ServiceUnavailable
from credit.ledger.journal import LINES
from credit.models.reasons import REASON_CATALOGUE_VERSION
from credit.models.serving import ServingModel
from credit.policy import Policy, default_policy
from credit.scoring import FirmScore, latest_score, score_features
from credit.store.tables import CreditEvent, Firm, Invoice, Payment

_model_lock = threading.Lock()


def policy_of(request: Request) -> Policy:
    """The policy in force: ``app.state.policy`` when set (tests, a deployment's own), else the shipped one."""
    return getattr(request.app.state, "policy", None) or default_policy()


def champion(app: FastAPI) -> ServingModel:
    """The champion PD model, loaded once per app from ``Settings.serving_folder``.

    Raises
    ------
    ServiceUnavailable
        ``model_unavailable`` (503): no readable serving files in the folder.
    """
    model = getattr(app.state, "serving_model", None)
    if model is not None:
        return model
    with _model_lock:
        model = getattr(app.state, "serving_model", None)
        if model is None:
            folder = app.state.settings.resolved_serving_folder()
            try:
                model = ServingModel.load(folder)
            except Exception as exc:  # noqa: BLE001 - missing, partial or corrupt files: all "no model"
                raise ServiceUnavailable(
                    f"No champion PD model can be read from {folder} ({type(exc).__name__}); export it with "
                    f"`credit models export-champion --out {folder}` (or set CREDIT_SERVING_FOLDER).",
                    code="model_unavailable") from exc
            app.state.serving_model = model
    return model


def champion_if_available(app: FastAPI) -> ServingModel | None:
    try:
        return champion(app)
    except ServiceUnavailable:
        return None


def require_firm(session: Session, firm_id: int) -> Firm:
    """The firm, or 404 ``firm_not_found``."""
    firm = session.get(Firm, firm_id)
    if firm is None:
        raise NotFound(f"Firm {firm_id} does not exist.", code="firm_not_found")
    return firm


def current_score(session: Session, model: ServingModel | None, firm_id: int) -> FirmScore | None:
    """The firm's latest snapshot, re-scored with ``model`` when another model wrote it; None if never scored.

    Raises
    ------
    Conflict
        ``score_stale`` (409): the snapshot lacks features the champion needs; the batch must
        run again under the champion.
    """
    latest = latest_score(session, firm_id)
    if latest is None or model is None or (latest.model_name, latest.model_version) == (model.name, model.version):
        return latest
    try:
        pd_, codes = score_features(model, latest.features)
    except ValueError as exc:
        raise Conflict(f"Firm {firm_id}'s latest score (model {latest.model_name} version {latest.model_version}, "
                       f"as of {latest.as_of}) cannot be re-scored by the champion {model.name} version "
                       f"{model.version}: {exc}", code="score_stale") from exc
    return replace(latest, model_name=model.name, model_version=model.version, pd=pd_, reason_codes=codes,
                   reason_catalogue_version=REASON_CATALOGUE_VERSION)


def required_score(session: Session, model: ServingModel, firm_id: int) -> FirmScore:
    """:func:`current_score`, or 409 ``firm_not_scored`` telling the operator to run the batch scoring."""
    score = current_score(session, model, firm_id)
    if score is None:
        raise Conflict(f"Firm {firm_id} has no score yet: the batch scoring has not scored it. Run "
                       "`credit score --as-of <date>` (after the firm's first trading history), then retry.",
                       code="firm_not_scored")
    return score


def days_past_due(session: Session, firm_id: int, now: datetime) -> int:
    """Most whole days past due, now, of an invoice the firm owes (0 when none is overdue).

    Defined like the feature ``debtor_days_past_due``: an invoice due before now that the
    payments made before now do not cover; its oldest due time sets the days.
    """
    paid = (select(func.coalesce(func.sum(Payment.amount_minor), 0))
            .where(Payment.invoice_id == Invoice.invoice_id, Payment.paid_at < now).scalar_subquery())
    oldest_due = session.execute(
        select(func.min(Invoice.due_at))
        .where(Invoice.buyer_id == firm_id, Invoice.due_at < now, Invoice.amount_minor > paid)
    ).scalar()
    if oldest_due is None:
        return 0
    return max(0, int((now - oldest_due) // timedelta(days=1)))


def defaulted_before(session: Session, firm_id: int, now: datetime) -> bool:
    """Whether the firm has any credit event (default, insolvency, write-off) before now."""
    return session.execute(
        select(CreditEvent.event_id).where(CreditEvent.firm_id == firm_id, CreditEvent.occurred_at < now).limit(1)
    ).first() is not None


@dataclass(frozen=True)
class LineRow:
    line_id: int
    status: str
    limit_minor: int
    posted_minor: int
    pending_minor: int
    per_order_cap_minor: int | None


def line_row(session: Session, firm_id: int) -> LineRow | None:
    row = session.execute(
        select(LINES.c.line_id, LINES.c.status, LINES.c.limit_minor, LINES.c.posted_minor, LINES.c.pending_minor,
               LINES.c.per_order_cap_minor).where(LINES.c.firm_id == firm_id)
    ).first()
    return None if row is None else LineRow(*row)


def live_features(score: FirmScore, firm: Firm, now: datetime, days_overdue: int) -> dict[str, Any]:
    """The snapshot's features with what changes daily replaced by its value now."""
    features = dict(score.features)
    features["tenure_days"] = (now - firm.registered_at) / timedelta(days=1)
    features["verified"] = bool(firm.verified)
    features["debtor_days_past_due"] = days_overdue
    return features


def pd_decimal(score: FirmScore) -> Decimal:
    """The PD exactly as the decisions read a float (its shortest repr)."""
    return Decimal(repr(float(score.pd)))

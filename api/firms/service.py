"""A firm now: its score under the champion, its past defaults, its live features.

The credit decisions of :mod:`api.credit_lines` and :mod:`api.financing` read firms through
these functions, so "the firm's PD" means the same thing everywhere; days past due now are
:mod:`credit.standing`'s, like everyone's.

Scores come from the batch snapshot (:mod:`credit.scoring`): the firm's latest row, as-of the
last batch. When the champion the API serves is not the model that wrote that row, the
stored features are re-scored with the champion (:func:`credit.scoring.score_features`).
What the snapshot cannot know is read live from the store: days past due now
(:func:`credit.standing.sql.firm_days_past_due`), past credit events, tenure and verification.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.kit.errors import Conflict, NotFound
from credit.models.reasons import REASON_CATALOGUE_VERSION
from credit.models.serving import ServingModel
from credit.scoring import FirmScore, latest_score, score_features
from credit.store.tables import CreditEvent, Firm


def unknown_firm(firm_id: int) -> NotFound:
    """404 ``unknown_firm``: the answer wherever a firm id is given that no firm has (a typo must not look like a buyer)."""
    return NotFound(f"Firm {firm_id} does not exist on the marketplace; check the id.", code="unknown_firm",
                    details={"firm_id": firm_id})


def require_firm(session: Session, firm_id: int) -> Firm:
    """The firm, or 404 ``unknown_firm``."""
    firm = session.get(Firm, firm_id)
    if firm is None:
        raise unknown_firm(firm_id)
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


def defaulted_before(session: Session, firm_id: int, now: datetime) -> bool:
    """Whether the firm has any credit event (default, insolvency, write-off) before now."""
    return session.execute(
        select(CreditEvent.event_id).where(CreditEvent.firm_id == firm_id, CreditEvent.occurred_at < now).limit(1)
    ).first() is not None


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

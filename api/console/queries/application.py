"""A credit-line application: its decision, reasons, the feature values behind them and the finance team's review."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.console.queries.common import FirmSummary, Reason, age_days, firm_summary, reasons_of, rule_text
from credit.audit import DecisionRecord
from credit.decisions.credit_line import CREDIT_LINE_FEATURES
from credit.models.reasons import feature_reason_codes
from credit.models.serving import ServingModel
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.scoring.tables import ScoreSnapshot

FEATURES_PER_REASON = 5
MEANINGFUL_PUSH = 0.0005
"""Least push on the log-odds for a feature to be listed as behind a reason (smaller ones round to 0.000)."""
TOP_DRIVERS = 10


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
        rules_fired=tuple((rule["code"], rule_text(rule["code"]), rule["detail"]) for rule in record.rules_fired),
        policy_inputs=tuple(FeatureShown(name, stored.get(name), None) for name in CREDIT_LINE_FEATURES),
        drivers=tuple(drivers), top_features=top, contributions_note=note, review=review_summary)


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

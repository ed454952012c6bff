"""Pieces every console page's read model shares: reason codes in words, who a firm is, its name, ages in days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.decisions.codes import POLICY_REASONS, describe
from credit.store.tables import Firm

_DAY = timedelta(days=1)


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


def age_days(created_at: datetime, now: datetime) -> int:
    """Whole days since ``created_at`` (0 on the first day)."""
    return max(0, (now - created_at) // _DAY)


def rule_text(code: str) -> str:
    """The text of a rule's code; the code itself when this version's catalogues lack it."""
    try:
        return describe(code)
    except KeyError:
        return code

"""Replay: re-run a stored decision from its stored inputs under its stored policy, and compare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from credit.audit.kinds import KINDS, result_json
from credit.audit.tables import DecisionRecord
from credit.audit.trail import get_decision, load_stored_policy
from credit.policy import PolicyError

_SUMMARY_COLUMNS = ("outcome", "rules_fired", "reason_codes", "next_actions")
"""Columns that repeat part of ``result`` for queries; replay checks them too."""


@dataclass(frozen=True)
class Difference:
    """One field where the stored decision and the replay disagree (or why replay could not run)."""

    field: str
    stored: Any
    recomputed: Any


@dataclass(frozen=True)
class ReplayResult:
    """The outcome of :func:`replay`.

    Attributes
    ----------
    decision_id : str
    same : bool
        True when every field of the recomputed decision equals the stored one.
    stored : dict
        The stored decision (``result``), as JSON values.
    recomputed : dict or None
        The decision the function returns now; None if it could not run on the stored inputs.
    differences : tuple of Difference
        Field by field, in the decision's field order; empty when ``same``.
    """

    decision_id: str
    same: bool
    stored: dict
    recomputed: dict | None
    differences: tuple[Difference, ...]


def replay(session: Session, decision_id: str) -> ReplayResult:
    """Re-run the stored decision's pure function on its stored inputs and stored policy.

    Also checks that the stored policy still has the hash the decision recorded and that the
    summary columns (outcome, amounts, codes) agree with the stored result, so tampering
    with any of them is reported, not only tampering with the inputs.

    Raises
    ------
    LookupError
        If there is no decision with that id.
    """
    record = get_decision(session, decision_id)
    if record is None:
        raise LookupError(f"no decision {decision_id!r}.")
    stored = dict(record.result)
    differences = _stored_consistency(record)
    try:
        policy = load_stored_policy(session, record.policy_version)
    except (LookupError, PolicyError) as exc:
        return ReplayResult(decision_id, False, stored, None, (*differences, Difference("policy", record.policy_version,
                                                                                        str(exc))))
    if policy.content_hash != record.policy_hash:
        differences.append(Difference("policy_hash", record.policy_hash, policy.content_hash))
    spec = KINDS[record.kind]
    try:
        recomputed = result_json(spec.decide(spec.inputs_from_json(record.inputs), policy))
    except (ValidationError, ValueError, KeyError, TypeError) as exc:
        return ReplayResult(decision_id, False, stored, None,
                            (*differences, Difference("inputs", record.inputs, f"cannot decide on them: {exc}")))
    for field in dict.fromkeys([*stored, *recomputed]):
        if stored.get(field) != recomputed.get(field):
            differences.append(Difference(field, stored.get(field), recomputed.get(field)))
    return ReplayResult(decision_id, not differences, stored, recomputed, tuple(differences))


def _stored_consistency(record: DecisionRecord) -> list[Difference]:
    differences = [Difference(column, getattr(record, column), record.result.get(column))
                   for column in _SUMMARY_COLUMNS if getattr(record, column) != record.result.get(column)]
    amounts = {name: record.result.get(name) for name in record.amounts}
    if record.amounts != amounts:
        differences.append(Difference("amounts", record.amounts, amounts))
    return differences

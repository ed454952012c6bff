"""The decision audit trail: append-only records of every decision and the policies they used.

:func:`record_decision` stores a decision with its request, inputs, model and policy
version, rules fired, outcome, amounts and ordered reason codes; :func:`replay` re-runs it
from what was stored and reports any difference.
"""

from credit.audit.kinds import KINDS, DecisionKind
from credit.audit.replay import Difference, ReplayResult, replay
from credit.audit.tables import DECISION_KINDS, DecisionRecord, StoredPolicy
from credit.audit.trail import (
    DecisionMismatch,
    PolicyVersionConflict,
    get_decision,
    list_decisions,
    load_stored_policy,
    record_decision,
    store_policy,
)

__all__ = [
    "DECISION_KINDS", "KINDS", "DecisionKind", "DecisionMismatch", "DecisionRecord", "Difference",
    "PolicyVersionConflict", "ReplayResult", "StoredPolicy", "get_decision", "list_decisions",
    "load_stored_policy", "record_decision", "replay", "store_policy",
]

"""The decision audit trail: append-only records of every decision and the policies they used.

:func:`record_decision` stores a decision with its request, inputs, model and policy
version, rules fired, outcome, amounts and ordered reason codes; :func:`replay` re-runs it
from what was stored and reports any difference.

Names are imported on first use: :mod:`credit.store` imports :mod:`credit.audit.tables` to
register the tables, and that must not pull the decision functions (and pandas) into every
program that opens a store.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "KINDS": "credit.audit.kinds", "DecisionKind": "credit.audit.kinds",
    "Difference": "credit.audit.replaying", "ReplayResult": "credit.audit.replaying", "replay": "credit.audit.replaying",
    "DECISION_KINDS": "credit.audit.tables", "DecisionRecord": "credit.audit.tables",
    "StoredPolicy": "credit.audit.tables",
    "DecisionMismatch": "credit.audit.trail", "PolicyVersionConflict": "credit.audit.trail",
    "get_decision": "credit.audit.trail",
    "load_stored_policy": "credit.audit.trail", "record_decision": "credit.audit.trail",
    "store_policy": "credit.audit.trail",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from credit.audit.kinds import KINDS, DecisionKind
    from credit.audit.replaying import Difference, ReplayResult, replay
    from credit.audit.tables import DECISION_KINDS, DecisionRecord, StoredPolicy
    from credit.audit.trail import (
        DecisionMismatch,
        PolicyVersionConflict,
        get_decision,
        load_stored_policy,
        record_decision,
        store_policy,
    )


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'credit.audit' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)

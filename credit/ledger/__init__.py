"""The exposure ledger of checkout credit: lines, holds and append-only transfers.

Available = limit − posted − pending, never negative: enforced by guarded conditional
UPDATEs and a CHECK constraint, and recomputable from the transfers (:func:`reconcile`).
Functions take the caller's session and never commit. Each business reference a client
books (order, shipment, refund, payment) books once: :mod:`credit.ledger.references`.
"""

from credit.ledger.checkout import (
    DEFAULT_HOLD_PERIOD,
    Authorization,
    HoldState,
    authorization_event_data,
    authorize,
    capture,
    declined_event_data,
    expire_holds,
    get_hold,
    holds_of_line,
    refund,
    void,
)
from credit.ledger.errors import (
    CaptureExceedsHold,
    Decline,
    DuplicateReference,
    ExceedsPosted,
    FirmNotFound,
    HoldExpired,
    HoldNotFound,
    HoldNotPending,
    InvalidAmount,
    LedgerError,
    LimitBelowExposure,
    LimitExceeded,
    LineClosed,
    LineExists,
    LineFrozen,
    LineNotEmpty,
    NoLine,
    PerOrderCapExceeded,
    RefundExceedsCaptured,
)
from credit.ledger.journal import Balances
from credit.ledger.lines import (
    LineState,
    balances,
    change_limit,
    change_per_order_cap,
    charge_off,
    close_line,
    find_line_of_firm,
    freeze,
    get_line,
    line_event_data,
    line_of_firm,
    open_line,
    reopen,
    repay,
    unfreeze,
)
from credit.ledger.reconcile import Difference, Reconciliation, reconcile

__all__ = [
    "DEFAULT_HOLD_PERIOD", "Authorization", "Balances", "CaptureExceedsHold", "Decline", "Difference",
    "DuplicateReference", "ExceedsPosted", "FirmNotFound", "HoldExpired", "HoldNotFound", "HoldNotPending",
    "HoldState", "InvalidAmount",
    "LedgerError", "LimitBelowExposure", "LimitExceeded", "LineClosed", "LineExists", "LineFrozen", "LineNotEmpty",
    "LineState", "NoLine", "PerOrderCapExceeded", "Reconciliation", "RefundExceedsCaptured",
    "authorization_event_data", "authorize", "balances", "capture", "change_limit", "change_per_order_cap", "charge_off",
    "close_line", "declined_event_data", "expire_holds", "find_line_of_firm", "freeze", "get_hold", "get_line",
    "holds_of_line", "line_event_data", "line_of_firm", "open_line", "reconcile",
    "refund", "reopen", "repay", "unfreeze", "void",
]

"""Typed outcomes of the exposure ledger, each with a machine code and the amounts involved.

:class:`Decline` is a business answer to an authorization (the checkout shows it to the
buyer); the other :class:`LedgerError` subclasses are requests the ledger refuses because
they contradict its state (a conflict) or are malformed (``invalid_amount``).
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every ledger refusal.

    Attributes
    ----------
    code : str
        Stable machine code (``limit_exceeded``, ``hold_not_found``, ...).
    details : dict
        The identifiers and amounts the message names, for an error body.
    """

    code = "ledger_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidAmount(LedgerError):
    code = "invalid_amount"


class LineExists(LedgerError):
    code = "line_exists"


class LimitBelowExposure(LedgerError):
    code = "limit_below_exposure"


class LineNotEmpty(LedgerError):
    code = "line_not_empty"


class Decline(LedgerError):
    """An authorization the line cannot take; nothing was held."""


class NoLine(Decline):
    code = "no_line"


class LineClosed(Decline):
    code = "line_closed"


class LineFrozen(Decline):
    code = "line_frozen"


class PerOrderCapExceeded(Decline):
    code = "per_order_cap_exceeded"


class LimitExceeded(Decline):
    code = "limit_exceeded"


class HoldNotFound(LedgerError):
    code = "hold_not_found"


class HoldNotPending(LedgerError):
    code = "hold_not_pending"


class HoldExpired(LedgerError):
    code = "hold_expired"


class CaptureExceedsHold(LedgerError):
    code = "capture_exceeds_hold"


class RefundExceedsCaptured(LedgerError):
    code = "refund_exceeds_captured"


class ExceedsPosted(LedgerError):
    code = "exceeds_posted"


class FirmNotFound(LedgerError):
    code = "no_firm"


class DuplicateReference(LedgerError):
    """A business reference the client has booked already; nothing was booked again.

    Its details name the ``kind`` (``order``, ``shipment``, ``refund`` or ``payment``), the
    ``reference`` and what the first booking made, under the name
    :data:`credit.ledger.references.OBJECT_IDS` gives it (``hold_id``, ``transfer_id``).
    """

    code = "duplicate_reference"

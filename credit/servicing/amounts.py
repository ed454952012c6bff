"""What a receivable owes, part by part: one set of formulas for SQL and for Python.

* principal owed = principal − refunded − rescheduled − paid principal
* fee owed = fee − paid fee; late fee owed = late fee − paid late fee
* owed = the three together: what the buyer must still pay on it
* exposure = principal owed while the receivable is live; 0 once charged off (or recovered),
  when it moved to realised loss. The exposure of a line's receivables is its ``posted_minor``.

The SQL forms (:data:`PRINCIPAL_OWED`, ...) are column expressions over ``receivables``; the
Python forms (:class:`Owed`) work on a row read with :data:`OWED_COLUMNS`, or on amounts
gathered in Python (:func:`owed_parts`: a receivable as it stood at a past moment, rebuilt
from the journals by :mod:`credit.servicing.statement`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case

from credit.servicing.tables import WRITTEN_OFF, Receivable

RECEIVABLES = Receivable.__table__
_r = RECEIVABLES.c

PRINCIPAL_OWED = _r.principal_minor - _r.refunded_minor - _r.rescheduled_minor - _r.paid_principal_minor
FEE_OWED = _r.fee_minor - _r.paid_fee_minor
LATE_FEE_OWED = _r.late_fee_minor - _r.paid_late_fee_minor
OWED = PRINCIPAL_OWED + FEE_OWED + LATE_FEE_OWED
EXPOSURE = case((_r.status.in_(WRITTEN_OFF), 0), else_=PRINCIPAL_OWED)

OWED_COLUMNS = (
    _r.receivable_id, _r.line_id, _r.firm_id, _r.hold_id, _r.status, _r.due_at,
    PRINCIPAL_OWED.label("principal_owed"), FEE_OWED.label("fee_owed"), LATE_FEE_OWED.label("late_fee_owed"),
)
"""Columns to select for :meth:`Owed.of`."""


def owed_parts(*, principal: int, refunded: int, rescheduled: int, paid_principal: int, fee: int, paid_fee: int,
               late_fee: int, paid_late_fee: int) -> tuple[int, int, int]:
    """:data:`PRINCIPAL_OWED`, :data:`FEE_OWED` and :data:`LATE_FEE_OWED` on amounts given in Python.

    Returns
    -------
    (int, int, int)
        Principal, fee and late fee owed, minor units, in the order of :class:`Owed`'s fields.
    """
    return principal - refunded - rescheduled - paid_principal, fee - paid_fee, late_fee - paid_late_fee


@dataclass(frozen=True)
class Owed:
    """What one receivable still owes, by part (minor units)."""

    receivable_id: int
    line_id: int
    firm_id: int
    hold_id: int
    status: str
    due_at: object
    principal: int
    fee: int
    late_fee: int

    @classmethod
    def of(cls, row) -> Owed:  # noqa: ANN001 - a row selected with OWED_COLUMNS
        return cls(row.receivable_id, row.line_id, row.firm_id, row.hold_id, row.status, row.due_at,
                   int(row.principal_owed), int(row.fee_owed), int(row.late_fee_owed))

    @property
    def total(self) -> int:
        return self.principal + self.fee + self.late_fee

    def part(self, name: str) -> int:
        """Owed on one part: ``late_fee``, ``fee`` or ``principal``."""
        return {"late_fee": self.late_fee, "fee": self.fee, "principal": self.principal}[name]

    @property
    def written_off(self) -> bool:
        return self.status in WRITTEN_OFF

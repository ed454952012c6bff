"""What every ledger operation shares: amount checks, balances and booking a transfer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from credit.ledger.errors import InvalidAmount
from credit.ledger.tables import CreditLine, Hold, LedgerTransfer
from credit.store.prepared import PreparedStatement

LINES = CreditLine.__table__
HOLDS = Hold.__table__
TRANSFERS = LedgerTransfer.__table__


def require_positive(amount_minor: object, name: str = "amount_minor") -> int:
    # bool is an int in Python; a True "amount" is a bug, not one cent.
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0:
        raise InvalidAmount(
            f"`{name}` must be a positive integer number of minor units; got {amount_minor!r}.",
            field=name, value=repr(amount_minor),
        )
    return amount_minor


def require_non_negative(amount_minor: object, name: str) -> int:
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor < 0:
        raise InvalidAmount(
            f"`{name}` must be an integer number of minor units >= 0; got {amount_minor!r}.",
            field=name, value=repr(amount_minor),
        )
    return amount_minor


@dataclass(frozen=True)
class Balances:
    """A line's limit and exposure, minor units; ``available_minor`` is what is left to hold."""

    limit_minor: int
    posted_minor: int
    pending_minor: int

    @property
    def available_minor(self) -> int:
        return self.limit_minor - self.posted_minor - self.pending_minor

    def describe(self) -> str:
        return (f"limit {self.limit_minor}, posted {self.posted_minor}, pending {self.pending_minor}, "
                f"available {self.available_minor}")


# Built once and run on the driver's cursor (see credit.store.prepared): every movement books one.
_BOOK = PreparedStatement(insert(TRANSFERS), column_keys=[
    "line_id", "hold_id", "kind", "amount_minor", "reference", "created_at"])


def book(session: Session, *, line_id: int, hold_id: int | None, kind: str, amount_minor: int,
         reference: str | None, now: datetime) -> None:
    """Append one transfer to the journal (never updated afterwards)."""
    _BOOK.rows(session, {"line_id": line_id, "hold_id": hold_id, "kind": kind, "amount_minor": amount_minor,
                            "reference": reference, "created_at": now})

"""A business reference books once: each order, shipment, refund and payment reference, per client.

An Idempotency-Key makes a retry of one request safe; it cannot stop a client that retries
with a new key, or a second system sending the same order. The business reference can: a
client's order ``PO-1`` holds once, its shipment ``SHIP-42`` captures once, its credit note
``CN-7`` refunds once and its payment ``PAY-99`` repays once, whatever keys carry them.

A unit of work that books calls :func:`claim` FIRST, before it books anything, then
:func:`bind` with the id of what it booked. The claim is an ``INSERT ... ON CONFLICT DO
NOTHING`` on the primary key ``(client, kind, reference)`` of ``business_references``:

* on PostgreSQL a concurrent duplicate's INSERT waits on the key until the first unit of
  work ends; if that one committed, the duplicate conflicts and raises
  :class:`~credit.ledger.DuplicateReference` naming what was booked; if it rolled back, the
  duplicate claims the reference and books. Never both;
* on SQLite writers take turns, so the duplicate simply finds the row.

A unit of work that raises rolls its claim back with everything else, so a refused booking
(an amount over the hold, a hold that expired) leaves the reference free. One that ends
without booking but commits (a declined authorization, a business answer the client sees)
must :func:`release` its claim in the same transaction, so the order can be tried again.

The client is the caller's name (the API key holder's, as the holds' ``authorized_by``):
two clients may use the same reference; a key issued again under the same name keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from credit.ledger.errors import DuplicateReference
from credit.ledger.tables import REFERENCE_KINDS, BusinessReference
from credit.store.prepared import PreparedStatement

REFERENCES = BusinessReference.__table__

OBJECT_IDS: dict[str, str] = {"order": "hold_id", "shipment": "hold_id", "refund": "hold_id",
                              "payment": "repayment_id", "payout": "line_id"}
"""What each kind's ``object_id`` is, by the name the error's details give it: the hold an order
made or a shipment or refund moved, the repayment a payment booked, the line whose credit
balance a payout paid back."""

_LABELS = {"order": "Order", "shipment": "Shipment", "refund": "Refund", "payment": "Payment", "payout": "Payout"}
_INSERTS: dict[str, Callable[..., Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_KEY = ("client", "kind", "reference")
_CLAIMS: dict[str, Any] = {}


def claim(session: Session, *, client: str, kind: str, reference: str, now: datetime) -> None:
    """Claim ``reference`` for ``client`` before booking it; refuse it if booked already.

    Parameters
    ----------
    session
        The unit of work that books; the claim commits or rolls back with the booking.
    client
        Who books: the name of the API key's holder.
    kind
        ``order``, ``shipment``, ``refund`` or ``payment``.
    reference
        The client's reference (1 to 200 characters).
    now
        When it is claimed (UTC).

    Raises
    ------
    DuplicateReference
        The client booked this reference already (``duplicate_reference``); its details name
        the kind, the reference and what was booked (``hold_id``, ``transfer_id``).
    ValueError
        An unknown kind, or a store other than SQLite or PostgreSQL.
    """
    if kind not in REFERENCE_KINDS:
        raise ValueError(f"`kind` must be one of {', '.join(REFERENCE_KINDS)}; got {kind!r}.")
    key = {"client": client, "kind": kind, "reference": reference}
    # A second try only if the row we conflicted with is gone by our SELECT, which needs a
    # committed claim deleted later: none is today (a decline releases in its own transaction,
    # and an INSERT waiting on that one then simply succeeds).
    for _ in range(2):
        claimed = _claim_statement(session).first(session, key | {"object_id": None, "created_at": now})
        if claimed is not None:
            return
        existing = session.execute(select(REFERENCES.c.object_id).where(*_the(key))).first()
        if existing is not None:
            raise DuplicateReference(
                f"{_LABELS[kind]} reference {reference!r} was booked already"
                f"{'' if existing.object_id is None else f' ({OBJECT_IDS[kind]} {existing.object_id})'}"
                "; it books once, so nothing was booked this time.",
                kind=kind, reference=reference, **{OBJECT_IDS[kind]: existing.object_id})
    raise RuntimeError(f"could not claim {kind} reference {reference!r}: its row kept changing")


# On every booking's path (authorize, capture): built once, run on the driver's cursor (credit.store.prepared).
_BIND = PreparedStatement(
    update(REFERENCES).where(REFERENCES.c.client == bindparam("the_client"), REFERENCES.c.kind == bindparam("the_kind"),
                             REFERENCES.c.reference == bindparam("the_reference"))
    .values(object_id=bindparam("booked", type_=BigInteger)))


def bind(session: Session, *, client: str, kind: str, reference: str, object_id: int) -> None:
    """Record what the claimed reference booked (a hold id, a repayment id), in the same unit of work."""
    _BIND.rows(session, {"the_client": client, "the_kind": kind, "the_reference": reference, "booked": object_id})


def release(session: Session, *, client: str, kind: str, reference: str) -> None:
    """Give back a claim whose unit of work commits without booking (a declined authorization)."""
    session.execute(delete(REFERENCES).where(*_the({"client": client, "kind": kind, "reference": reference})))


def _the(key: dict[str, str]) -> list:
    return [REFERENCES.c[name] == key[name] for name in _KEY]


def _claim_statement(session: Session) -> Any:
    # ON CONFLICT is each dialect's own construct; built once per dialect.
    dialect = session.get_bind().dialect.name
    if dialect not in _CLAIMS:
        if dialect not in _INSERTS:
            raise ValueError(f"business references need SQLite or PostgreSQL; the store is {dialect}")
        _CLAIMS[dialect] = PreparedStatement(
            _INSERTS[dialect](REFERENCES).on_conflict_do_nothing(index_elements=list(_KEY))
            .returning(REFERENCES.c.created_at), column_keys=[*_KEY, "object_id", "created_at"])
    return _CLAIMS[dialect]

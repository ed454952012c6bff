"""The sandbox's test buyers: documented ids whose answers never depend on a model, a date or luck.

Each buyer is seeded by :func:`credit.sandbox.seed.seed` with what makes its outcome certain:
its score (a fixed PD under :data:`SANDBOX_MODEL`, so no champion re-scores it), its tenure
and verification, its credit line and the line's state, an overdue receivable. The table in
docs/sandbox.md lists the same ids and outcomes (a test keeps the two equal).

Amounts are minor units (EUR cents). "Any order" means any amount an order may have; the
outcomes of the checkout buyers hold for a fresh sandbox (``credit sandbox reset``): orders
an integrator authorizes use up a line's headroom until they expire, and moving the clock
runs the daily jobs, which take the in-arrears buyer through its dunning steps (at 30 days
past due its line freezes: its answer becomes ``line_frozen``; at 90 it closes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class SandboxModel:
    """The model identity the sandbox's scores are stored under and the sandbox serves as its champion.

    A score is re-scored only when the champion is not the model that wrote it
    (:func:`api.firms.service.current_score`); the sandbox's champion is this identity, so
    every test buyer is decided on the PD it was seeded with.
    """

    name: str = "sandbox-fixed-pd"
    version: str = "1"


SANDBOX_MODEL = SandboxModel()


@dataclass(frozen=True)
class TestBuyer:
    """One documented test buyer.

    Attributes
    ----------
    firm_id : int
        Its id, the ``buyer_id`` to send.
    name : str
        The firm's name in the sandbox.
    product : {"credit_line_application", "checkout"}
        The call whose answer it fixes.
    outcome : str
        The answer: ``approved``, ``referred`` or ``declined`` (application), ``approve`` or a
        checkout decline code.
    detail : str
        What makes it so, and for which amounts.
    pd : str
        The seeded PD (a decimal string).
    limit_minor, per_order_cap_minor : int or None
        The line seeded for it; None: no line.
    line_status : {"active", "frozen", "closed"} or None
    verified : bool
    """

    __test__ = False  # not a pytest class, whatever its name

    firm_id: int
    name: str
    product: Literal["credit_line_application", "checkout"]
    outcome: str
    detail: str
    pd: str
    limit_minor: int | None = None
    per_order_cap_minor: int | None = None
    line_status: Literal["active", "frozen", "closed"] | None = None
    verified: bool = True
    overdue_days: int = 0


GMV_365D_MINOR = 60_000_000
"""Every test buyer's purchases over the last year (600,000.00 EUR): a capacity of 100,000.00."""
TENURE_DAYS = 400
"""Every test buyer joined the platform this many days before the sandbox was seeded."""
ARREARS_AMOUNT_MINOR = 500_000
"""The in-arrears buyer's overdue receivable (5,000.00 EUR), captured on net 30."""

TEST_BUYERS: tuple[TestBuyer, ...] = (
    TestBuyer(1001, "Sandbox Approve Application GmbH", "credit_line_application", "approved",
              "Grade B (PD 0.003): a line of 100,000.00 (per-order cap 50,000.00) opens at once; a requested_limit "
              "from 1,000.00 up to that is granted as asked. Apply once: afterwards it has a line.", "0.003"),
    TestBuyer(1002, "Sandbox Refer Application GmbH", "credit_line_application", "referred",
              "Grade F (PD 0.06), the finance team's grey zone: referred with a proposed limit of 37,000.00 "
              "(any requested_limit from 1,000.00); a finance or admin test key reviews it.", "0.06"),
    TestBuyer(1003, "Sandbox Decline Application GmbH", "credit_line_application", "declined",
              "Grade H (PD 0.30): declined `grade_too_risky` at any requested limit; apply as often as you like.",
              "0.30"),
    TestBuyer(2001, "Sandbox Approve Checkout GmbH", "checkout", "approve",
              "Active line of 50,000.00, per-order cap 25,000.00: any order up to 25,000.00 is approved (while the "
              "orders still held leave room).", "0.003", 5_000_000, 2_500_000, "active"),
    TestBuyer(2002, "Sandbox No Line GmbH", "checkout", "no_line",
              "No credit line, and none to get: not verified, so its application is declined `unverified`.",
              "0.003", verified=False),
    TestBuyer(2003, "Sandbox Frozen Line GmbH", "checkout", "line_frozen",
              "Line of 50,000.00 frozen by the finance team: any order.", "0.003", 5_000_000, 2_500_000, "frozen"),
    TestBuyer(2004, "Sandbox Closed Line GmbH", "checkout", "line_closed",
              "Line closed: any order.", "0.003", 5_000_000, 2_500_000, "closed"),
    TestBuyer(2005, "Sandbox In Arrears GmbH", "checkout", "in_arrears",
              "Line of 50,000.00 with a receivable of 5,000.00 10 days past due (reminded, late fee charged): any "
              "order. The clock moved past the first midnight 20 days on freezes the line (`line_frozen`), past the "
              "first midnight 80 days on defaults it and closes the line (`line_closed`).",
              "0.003", 5_000_000, 2_500_000, "active", overdue_days=10),
    TestBuyer(2006, "Sandbox Too High Risk GmbH", "checkout", "too_high_risk",
              "Active line of 50,000.00, but its current grade is H (PD 0.30): any order.", "0.30", 5_000_000,
              2_500_000, "active"),
    TestBuyer(2007, "Sandbox Per Order Cap GmbH", "checkout", "per_order_cap_exceeded",
              "Line of 50,000.00 with a per-order cap of 1,000.00: any order above 1,000.00 (up to 1,000.00: "
              "approved).", "0.003", 5_000_000, 100_000, "active"),
    TestBuyer(2008, "Sandbox Limit Exceeded GmbH", "checkout", "limit_exceeded",
              "Line of 1,000.00 without a per-order cap: any order above 1,000.00 (up to 1,000.00: approved).",
              "0.003", 100_000, None, "active"),
)
"""Every test buyer, in id order."""


"""A firm's standing as a debtor at a moment ``t``: what it owes past due, and for how long.

This is the one definition of days past due, overdue amount and "in arrears". The features
the model learns from read it over frames (:mod:`credit.standing.frames`); the service that
decides at checkout and on credit lines reads it over the store (:mod:`credit.standing.sql`).
A property test (``tests/standing``) holds the two equal on random histories.

- **Owed**: the invoices issued to the firm (as buyer, the debtor) before ``t``, and the
  book's own receivables of the firm (what it owes the credit provider for captures on its
  line, :mod:`credit.servicing`); a receivable is outstanding while anything (principal,
  fee, late fee) is owed on it. The features read the marketplace's history only (the
  book is not part of it); the service reads both.
- **Paid** at ``t``: the sum of the invoice's payments made strictly before ``t`` (a payment
  at ``t`` itself is not yet known). Credit notes are not netted. **Outstanding**: the
  amount less paid, when positive.
- **Days past due** at ``t``: whole days (floor) from the due time to ``t``
  (:func:`days_past_due`).
- **Overdue** (in arrears) at ``t``: outstanding and at least one whole day past due, that
  is due at or before ``t - 1 day`` (:func:`overdue_cutoff`). An invoice due five hours ago
  is not overdue yet.
- The firm's **days past due** are the most days past due of its overdue invoices (0 when
  none is overdue, so 0 means exactly "not in arrears"); its **overdue amount** and
  **overdue invoices** are the sum of their outstanding amounts and their count. Owed to a
  firm (as supplier, the creditor), the same invoices make its overdue receivables.
"""

from credit.standing.definition import DAY, days_past_due, overdue_cutoff

__all__ = ["DAY", "days_past_due", "overdue_cutoff"]

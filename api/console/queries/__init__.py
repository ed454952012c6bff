"""Read models of the console's pages: each query is a function of the request's session.

Every figure a page shows comes from here, straight from the store, one module per page:

- :mod:`~api.console.queries.queue`: the review queue (``credit_line_applications`` waiting
  for review, with their decisions).
- :mod:`~api.console.queries.application`: an application's decision, reasons and the feature
  values behind them.
- :mod:`~api.console.queries.exposure`: a firm's line, holds and invoice ageing (on the
  application and firm pages).
- :mod:`~api.console.queries.firm`: a firm's score history, line over time, decisions and
  early warnings.
- :mod:`~api.console.queries.decision`: one audited decision.
- :mod:`~api.console.queries.scores`: the score a decision used beside the firm's score now
  (queue, application and decision pages).
- :mod:`~api.console.queries.owed`: what a firm owes its sellers (marketplace invoices) beside
  what it owes on our line (posted exposure), reconciled (firm page).
- :mod:`~api.console.queries.portfolio`: the portfolio's exposure, expected loss, utilisation
  and application rates.
- :mod:`~api.console.queries.early_warnings`: the early-warning work list, by exposure at risk,
  and the work done on each warning.
- :mod:`~api.console.queries.common`: what they share (reason texts, who a firm is, ages).

Money stays integer minor units (expected loss is summed in ``Decimal`` and rounded once, per
total). Import from the module, not from this package: it re-exports nothing.
"""

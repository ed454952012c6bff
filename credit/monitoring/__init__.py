"""Portfolio monitoring: drift of the score and features, realised against predicted defaults, early warning, the book.

- :mod:`credit.monitoring.psi`: the population stability index (exact formula there).
- :mod:`credit.monitoring.calibration`: Clopper-Pearson intervals, calibration by grade and vintage.
- :mod:`credit.monitoring.early_warning`: the early-warning rules and their reason codes.
- :mod:`credit.monitoring.run`: one monitoring run over a feature panel, stored in the store.
- :mod:`credit.monitoring.results`: reading stored runs (the API and the console).
- :mod:`credit.monitoring.tables`: the tables (migration ``0007_monitoring``).
- :mod:`credit.monitoring.book`: the book's own figures from the servicing tables: roll rates,
  vintage curves, realised against predicted default by grade, collections.
- :mod:`credit.monitoring.financing_book`: the financing book by product for a business day
  (outstanding, losses, dilution, fees, overdue), read from the financing journal;
  :mod:`credit.monitoring.financing_positions` each financing as it stood that day, and
  :mod:`credit.monitoring.financing_warnings` the early warnings on single financings.

Submodules are imported on use: :mod:`credit.store` imports the tables to register them, and
that must not pull pandas into every program that opens a store.
"""

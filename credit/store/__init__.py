"""The operational store: marketplace history tables, their schemas and the database engine."""

# Every part of the store declares its tables on the one Base and migrates on its own branch;
# importing them here keeps Base.metadata equal to what `upgrade(engine, "heads")` builds,
# for autogenerate (migrations/env.py) and for the schema test, whatever was imported first.
# The service's own tables (api_keys, idempotency, console_sessions) are registered by
# migrations/env.py: the library does not import the web layer.
import credit.ledger.tables  # noqa: E402,F401  (registers credit_lines, holds, ledger_transfers)
import credit.audit.tables  # noqa: E402,F401  (registers policies, decisions)
import credit.scoring.tables  # noqa: E402,F401  (registers firm_scores)
import credit.origination.tables  # noqa: E402,F401  (registers credit_line_applications)
import credit.financing.tables  # noqa: E402,F401  (registers financings, financing_entries, loan_offers)
import credit.monitoring.tables  # noqa: E402,F401  (registers monitoring_runs and its result tables)
import credit.servicing.tables  # noqa: E402,F401  (registers receivables, repayments, allocations, actions, ageing)
import credit.events.tables  # noqa: E402,F401  (registers events, the outbox)
import credit.webhooks.tables  # noqa: E402,F401  (registers webhook_endpoints, webhook_deliveries, webhook_attempts)

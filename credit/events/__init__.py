"""Events: every state change a client cares about, written in the transaction that makes it.

:func:`credit.events.outbox.emit` adds an event to the caller's session (the transactional
outbox: a committed change always has its event, a rolled-back one never does).
:func:`credit.events.outbox.sequence` gives committed events their place in the one order
that pollers (``GET /v1/events``) and the webhook dispatcher read. The event types and what
each carries are in :mod:`credit.events.catalogue`, rendered as ``docs/events.md`` by
:mod:`credit.events.reference`. Each type is written by the library function that makes its
change (the ledger, servicing, the financing journal, the offers and monitoring jobs), so every
caller (API, console, CLI, daily jobs) announces what it changes.
"""

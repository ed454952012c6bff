"""Shared plumbing of the HTTP API: session, errors, money, auth, idempotency, limits, metrics.

``db.SessionDep``, ``auth.CallerDep`` / ``auth.requires``, ``idempotency.IdempotencyDep``,
``errors.ServiceError`` (and ``responses()`` for OpenAPI), ``money.AmountMinor`` /
``money.AmountOut``.
"""

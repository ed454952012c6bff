"""Webhooks: the outbox's events POSTed to registered endpoints, signed the Standard Webhooks way.

- :mod:`credit.webhooks.tables`: endpoints, deliveries, attempts (migration ``0019_webhooks``).
- :mod:`credit.webhooks.signing`: secrets (``whsec_...``) and the ``webhook-*`` headers.
- :mod:`credit.webhooks.endpoints`: registering, changing, rotating, disabling endpoints.
- :mod:`credit.webhooks.dispatch`: the dispatcher: fan events out into deliveries, send the
  due ones, retry with backoff, give up after a day and disable the endpoint.
"""

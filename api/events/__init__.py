"""The events feed: ``GET /v1/events`` serves the outbox to clients that poll instead of receiving webhooks."""

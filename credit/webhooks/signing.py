"""Signing deliveries the Standard Webhooks way (https://www.standardwebhooks.com/).

A secret is ``whsec_`` + base64 of 32 random bytes. A delivery carries

- ``webhook-id``: the event's id, the same on every retry and redelivery;
- ``webhook-timestamp``: the attempt's time, Unix seconds;
- ``webhook-signature``: ``v1,`` + base64 HMAC-SHA256, keyed with the secret's bytes, of
  ``{id}.{timestamp}.{body}``; while a rotated-out secret is still in its overlap, one
  signature per secret, separated by a space (a receiver accepts the delivery if any verifies).

The HMAC is the maintained ``standardwebhooks`` package's (its ``Webhook.sign``), not ours.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def unix_seconds(at: datetime) -> int:
    """A naive UTC instant (the clock's) as whole Unix seconds, as ``webhook-timestamp`` carries it."""
    return int(at.replace(tzinfo=UTC).timestamp())


def headers(webhook_id: str, at: datetime, body: bytes, signing_secrets: list[str]) -> dict[str, str]:
    """The ``webhook-*`` headers of one attempt sent at ``at`` (naive UTC) with ``body``.

    Parameters
    ----------
    signing_secrets
        The endpoint's current secret first, then a previous one still in its overlap.
    """
    if not signing_secrets:
        raise ValueError("A delivery needs at least one secret to sign with.")
    at = at.replace(microsecond=0)
    signatures = " ".join(Webhook(secret).sign(webhook_id, at, body) for secret in signing_secrets)
    return {"webhook-id": webhook_id, "webhook-timestamp": str(unix_seconds(at)), "webhook-signature": signatures}

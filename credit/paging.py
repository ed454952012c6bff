"""Opaque page cursors of the lists the service pages by id (receivables, financings, holds, ...).

A cursor is the id the next page starts after, under its list's prefix, in URL-safe base64
without padding: a client passes it back as it was given, and a cursor of another list (or
anything else) is refused with a message that names ``cursor``. A list keyed by a text id
(applications, by their decision's UUID) uses :func:`encode_key_cursor` the same way.
"""

from __future__ import annotations

import base64
import binascii
import re

MAX_ID = 2**63 - 1


class InvalidCursor(ValueError):
    """A ``cursor`` that :func:`encode_cursor` did not make for this list."""


def encode_cursor(prefix: str, last_id: int) -> str:
    """The opaque cursor of the page after ``last_id`` in the list ``prefix`` (e.g. ``"financing"``)."""
    return base64.urlsafe_b64encode(f"{prefix}:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(prefix: str, cursor: str) -> int:
    """The id a cursor of :func:`encode_cursor` carries for the list ``prefix``.

    Raises
    ------
    InvalidCursor
        Anything :func:`encode_cursor` could not have made for this list.
    """
    number = _carried(prefix, cursor, max_length=60)
    if not number.isascii() or not number.isdigit() or len(number) > 19:
        raise _refusal(cursor)
    last_id = int(number)
    if not 1 <= last_id <= MAX_ID or encode_cursor(prefix, last_id) != cursor:
        raise _refusal(cursor)
    return last_id


def encode_key_cursor(prefix: str, last_key: str) -> str:
    """The opaque cursor of the page after the row keyed ``last_key`` (a text id) in the list ``prefix``."""
    return base64.urlsafe_b64encode(f"{prefix}:{last_key}".encode()).decode().rstrip("=")


def decode_key_cursor(prefix: str, cursor: str, key: re.Pattern[str]) -> str:
    """The text id a cursor of :func:`encode_key_cursor` carries for the list ``prefix``, if it matches ``key``.

    Raises
    ------
    InvalidCursor
        Anything :func:`encode_key_cursor` could not have made for this list.
    """
    last_key = _carried(prefix, cursor, max_length=200)
    if not key.fullmatch(last_key) or encode_key_cursor(prefix, last_key) != cursor:
        raise _refusal(cursor)
    return last_key


def _carried(prefix: str, cursor: str, *, max_length: int) -> str:
    """What follows ``prefix:`` in the decoded cursor; InvalidCursor when it cannot be one of the list's."""
    if not 1 <= len(cursor) <= max_length:
        raise _refusal(cursor)
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _refusal(cursor) from None
    if not text.startswith(f"{prefix}:"):
        raise _refusal(cursor)
    return text[len(prefix) + 1:]


def _refusal(cursor: str) -> InvalidCursor:
    return InvalidCursor(f"`cursor` is not a cursor this service gave (take `next_cursor` from the "
                         f"previous page as it is); got {cursor[:60]!r}.")

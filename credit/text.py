"""Text the store accepts: no C0 control characters but tab, line feed and carriage return.

PostgreSQL's ``text`` cannot hold NUL at all, and the other C0 controls (bell, escape,
backspace...) are never part of a name, a reference or a reason: a value holding one is a
corrupt or hostile input. The HTTP API refuses it (:mod:`api.kit.text`), ingest quarantines
its row (rule ``no_control:<column>``, :mod:`credit.ingest.rules`), both by this one pattern.
"""

from __future__ import annotations

import re

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""The refused characters: U+0000 to U+001F except tab (U+0009), line feed (U+000A), carriage return (U+000D)."""


def control_character(text: str) -> str | None:
    """The first refused control character of ``text`` as ``"U+0000"``, or None when there is none."""
    found = CONTROL_CHARACTERS.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def escape_controls(text: str) -> str:
    """``text`` with each refused control character written as ``\\xNN``: safe to store and to print."""
    return CONTROL_CHARACTERS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)

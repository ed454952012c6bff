"""Policies for decision tests: the shipped default, or the default with edits to its text."""

from __future__ import annotations

from credit.policy import DEFAULT_POLICY, Policy, default_policy, parse_policy


def edited_policy(*edits: tuple[str, str]) -> Policy:
    """The default policy with each (old, new) text replaced once; fails if ``old`` is absent."""
    text = DEFAULT_POLICY.read_text()
    for old, new in edits:
        assert old in text, f"the default policy no longer contains {old!r}"
        text = text.replace(old, new, 1)
    return parse_policy(text, source="edited test policy")


POLICY = default_policy()

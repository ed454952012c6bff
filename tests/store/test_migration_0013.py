"""0013_dunning widens the decisions' kinds; on SQLite it rebuilds the table: rows and rules survive."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from migrations import upgrade

BEFORE = "0003_audit"
_DECISION = ("INSERT INTO decisions (decision_id, kind, firm_id, request, inputs, policy_version, policy_hash, "
             "reason_catalogue_version, codes_catalogue_version, outcome, amounts, rules_fired, reason_codes, "
             "next_actions, result, actor, created_at) VALUES (:id, :kind, 7, '{}', '{}', '2026-11-22.1', 'h', 1, 1, "
             "'approve', '{}', '[]', '[]', '[]', '{}', 'servicing', '2027-01-01')")


def test_stored_decisions_survive_and_the_trail_stays_append_only(unmigrated_store):
    upgrade(unmigrated_store, BEFORE)
    with unmigrated_store.begin() as c:
        c.execute(text("INSERT INTO policies VALUES ('2026-11-22.1', 'h', 'version: 2026-11-22.1', '2026-11-22')"))
        c.execute(text(_DECISION), {"id": "before", "kind": "checkout"})
    with pytest.raises(DBAPIError, match="kind_allowed"), unmigrated_store.begin() as c:
        c.execute(text(_DECISION), {"id": "too-early", "kind": "dunning"})

    upgrade(unmigrated_store)

    with unmigrated_store.begin() as c:
        c.execute(text(_DECISION), {"id": "after", "kind": "dunning"})
        assert c.execute(text("SELECT decision_id, kind FROM decisions ORDER BY decision_id")).all() == [
            ("after", "dunning"), ("before", "checkout")]
    with pytest.raises(DBAPIError, match="kind_allowed"), unmigrated_store.begin() as c:
        c.execute(text(_DECISION), {"id": "nope", "kind": "no_such_kind"})
    with pytest.raises(DBAPIError, match="append-only"), unmigrated_store.begin() as c:
        c.execute(text("UPDATE decisions SET actor = 'someone else'"))
    with pytest.raises(DBAPIError, match="append-only"), unmigrated_store.begin() as c:
        c.execute(text("DELETE FROM decisions"))

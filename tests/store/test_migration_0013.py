"""0013_dunning widens the decisions' kinds; on SQLite it rebuilds the table: rows and rules survive."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from credit.store.engine import make_engine
from migrations import upgrade
from tests.conftest import POSTGRES_ADMIN_URL

BEFORE = "0003_audit"
_DECISION = ("INSERT INTO decisions (decision_id, kind, firm_id, request, inputs, policy_version, policy_hash, "
             "reason_catalogue_version, codes_catalogue_version, outcome, amounts, rules_fired, reason_codes, "
             "next_actions, result, actor, created_at) VALUES (:id, :kind, 7, '{}', '{}', '2026-11-22.1', 'h', 1, 1, "
             "'approve', '{}', '[]', '[]', '[]', '{}', 'servicing', '2027-01-01')")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_at_0003(request, tmp_path):  # noqa: ANN001
    """A store migrated to the audit trail's first revision only, in a database of its own."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"credit_migration_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_stored_decisions_survive_and_the_trail_stays_append_only(store_at_0003):
    upgrade(store_at_0003, BEFORE)
    with store_at_0003.begin() as c:
        c.execute(text("INSERT INTO policies VALUES ('2026-11-22.1', 'h', 'version: 2026-11-22.1', '2026-11-22')"))
        c.execute(text(_DECISION), {"id": "before", "kind": "checkout"})
    with pytest.raises(DBAPIError, match="kind_allowed"), store_at_0003.begin() as c:
        c.execute(text(_DECISION), {"id": "too-early", "kind": "dunning"})

    upgrade(store_at_0003)

    with store_at_0003.begin() as c:
        c.execute(text(_DECISION), {"id": "after", "kind": "dunning"})
        assert c.execute(text("SELECT decision_id, kind FROM decisions ORDER BY decision_id")).all() == [
            ("after", "dunning"), ("before", "checkout")]
    with pytest.raises(DBAPIError, match="kind_allowed"), store_at_0003.begin() as c:
        c.execute(text(_DECISION), {"id": "nope", "kind": "no_such_kind"})
    with pytest.raises(DBAPIError, match="append-only"), store_at_0003.begin() as c:
        c.execute(text("UPDATE decisions SET actor = 'someone else'"))
    with pytest.raises(DBAPIError, match="append-only"), store_at_0003.begin() as c:
        c.execute(text("DELETE FROM decisions"))

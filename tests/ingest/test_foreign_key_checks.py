"""PostgreSQL: foreign keys dropped for a load into empty tables come back validated and
enforced, however their check was planned, and the planner's settings come back too."""

from __future__ import annotations

import pytest
import sqlalchemy
import sqlalchemy.exc
from sqlalchemy import text

from credit.ingest import find_history_files, ingest_files, run
from credit.store.engine import make_engine
from tests.ingest.history import valid_history, write_csv
from tests.stores import empty_all_tables


@pytest.mark.parametrize("ratio", [1, 10_000_000], ids=["checked-by-probes", "checked-by-one-join"])
def test_foreign_keys_come_back_validated_and_enforced(postgres_url, tmp_path, monkeypatch, ratio):
    monkeypatch.setattr(run, "_PROBE_RATIO", ratio)  # 1: every table smaller than its parent is probed
    probed = []
    honest = run._checked_by_index_probes

    def spy(connection, constraint):  # noqa: ANN001, ANN202
        probed.append(constraint.name)
        return honest(connection, constraint)

    monkeypatch.setattr(run, "_checked_by_index_probes", spy)
    engine = make_engine(postgres_url)
    files, _ = find_history_files([write_csv(tmp_path, valid_history())])

    try:
        ingest_files(engine, files)
        _assert_validated_and_enforced(engine, probed)
    finally:
        empty_all_tables(engine)
        engine.dispose()


def _assert_validated_and_enforced(engine, probed: list[str]) -> None:  # noqa: ANN001
    with engine.connect() as connection:
        constraints = connection.execute(text(
            "SELECT conrelid::regclass::text, conname, convalidated FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid::regclass::text IN ('orders', 'invoices', 'payments', 'returns', 'disputes', "
            "'credit_events')")).all()
        settings = connection.execute(text("SELECT current_setting('enable_hashjoin'), "
                                           "current_setting('enable_mergejoin')")).one()
    assert len(constraints) == 11 and all(validated for _, _, validated in constraints)
    assert sorted(probed) == sorted(name for _, name, _ in constraints)
    assert tuple(settings) == ("on", "on")
    with pytest.raises(sqlalchemy.exc.IntegrityError), engine.begin() as connection:
        connection.execute(text("INSERT INTO payments (payment_id, invoice_id, paid_at, amount_minor) "
                                "VALUES (9999, 123456, '2023-03-01', 5)"))


def test_a_small_table_is_checked_by_probes_only_when_far_smaller_than_its_parent(postgres_url):
    engine = make_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS child_t, parent_t"))
        connection.execute(text("CREATE TABLE parent_t (id bigint PRIMARY KEY)"))
        connection.execute(text("CREATE TABLE child_t (id bigint PRIMARY KEY, parent_id bigint)"))
        connection.execute(text("INSERT INTO parent_t SELECT g FROM generate_series(1, 1000) g"))
        connection.execute(text("INSERT INTO child_t SELECT g, g FROM generate_series(1, 50) g"))
        connection.execute(text("ANALYZE parent_t; ANALYZE child_t"))
    metadata = sqlalchemy.MetaData()
    parent = sqlalchemy.Table("parent_t", metadata, sqlalchemy.Column("id", sqlalchemy.BigInteger, primary_key=True))
    child = sqlalchemy.Table("child_t", metadata, sqlalchemy.Column("id", sqlalchemy.BigInteger, primary_key=True),
                             sqlalchemy.Column("parent_id", sqlalchemy.ForeignKey(parent.c.id)))
    [constraint] = child.foreign_key_constraints
    with engine.begin() as connection:
        with run._checked_by_index_probes(connection, constraint):  # 50 rows, 1,000 in the parent
            inside = connection.execute(text("SELECT current_setting('enable_hashjoin')")).scalar_one()
        after = connection.execute(text("SELECT current_setting('enable_hashjoin')")).scalar_one()
        connection.execute(text("INSERT INTO child_t SELECT g, 1 FROM generate_series(51, 500) g"))
        connection.execute(text("ANALYZE child_t"))
        with run._checked_by_index_probes(connection, constraint):  # 500 rows: half the parent's
            one_join = connection.execute(text("SELECT current_setting('enable_hashjoin')")).scalar_one()
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE child_t, parent_t"))
    engine.dispose()
    assert (inside, after, one_join) == ("off", "on", "on")

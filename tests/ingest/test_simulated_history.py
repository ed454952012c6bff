"""A simulated marketplace passes every rule and lands identically in SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from credit.ingest import find_history_files, ingest_files
from credit.simulate import SimulationConfig, simulate
from credit.store.engine import make_engine
from credit.store.frames import HISTORY
from credit.store.tables import Base
from migrations import upgrade
from tests.stores import empty_all_tables


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    folder = tmp_path_factory.mktemp("simulated")
    summary = simulate(SimulationConfig(firms=150, years=1, seed=3, start=date(2023, 1, 1)), folder)
    return folder, summary


def _stored(engine) -> dict[str, list[tuple]]:
    with engine.connect() as connection:
        return {name: connection.execute(select(Base.metadata.tables[name]).order_by(
            Base.metadata.tables[name].c[HISTORY[name].key])).all() for name in HISTORY}


@pytest.mark.postgres
def test_simulated_history_loads_whole_and_identically_on_sqlite_and_postgres(history, tmp_path, postgres_url):
    folder, summary = history
    sqlite = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(sqlite)
    postgres = make_engine(postgres_url)
    files, _ = find_history_files([folder])
    try:
        for engine in (sqlite, postgres):
            results = ingest_files(engine, files)
            assert {r.table: (r.loaded, r.quarantined) for r in results} == {
                table: (rows, 0) for table, rows in summary.rows.items()}
        on_sqlite, on_postgres = _stored(sqlite), _stored(postgres)
        for table in HISTORY:
            assert len(on_sqlite[table]) == summary.rows[table]
            assert on_sqlite[table] == on_postgres[table], table
    finally:
        empty_all_tables(postgres)

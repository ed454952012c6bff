"""Chunks written while the next is validated (a COPY on a thread, PostgreSQL): a failed write
still rolls its whole file back, and loads in many chunks equal loads in one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from credit.ingest import find_history_files, ingest_files, run
from credit.store.frames import HISTORY
from credit.store.tables import Base
from tests.ingest.history import valid_history, write_csv


def _files(folder: Path, *tables: str) -> list[tuple[str, Path]]:
    files, _ = find_history_files([folder])
    return [(table, path) for table, path in files if not tables or table in tables]


def _counts(engine) -> dict[str, int]:  # noqa: ANN001
    with engine.connect() as connection:
        return {t: connection.execute(select(func.count()).select_from(Base.metadata.tables[t])).scalar_one()
                for t in HISTORY}


def test_a_write_failing_on_a_later_chunk_rolls_the_whole_file_back(store, tmp_path, monkeypatch):
    folder = write_csv(tmp_path, valid_history())
    writes = []
    name = "copy_rows" if store.dialect.name == "postgresql" else "insert_rows"
    honest = getattr(run, name)

    def failing_second(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        writes.append(args[2])
        if len(writes) == 6:  # firms are chunks 1-4 (one row each); orders' second chunk fails
            raise RuntimeError("the disk is full")
        return honest(*args, **kwargs)

    monkeypatch.setattr(run, name, failing_second)

    with pytest.raises(RuntimeError, match="the disk is full"):
        ingest_files(store, _files(folder, "firms", "orders"), chunk_rows=1)

    assert _counts(store)["firms"] == 4  # its own file, committed before
    assert _counts(store)["orders"] == 0  # the first chunk was written, and rolled back with the file


def test_loads_in_one_row_chunks_with_parents_and_stored_rows_from_the_store(store, tmp_path):
    folder = write_csv(tmp_path, valid_history())
    for table, path in _files(folder):  # one call per file: every parent is looked up in the store
        [result] = ingest_files(store, [(table, path)], chunk_rows=1)
        assert (result.loaded, result.quarantined) == (len(valid_history()[table]), 0)

    again = ingest_files(store, _files(folder), chunk_rows=1)  # stored rows queried chunk by chunk

    assert {r.table: (r.loaded, r.unchanged, r.quarantined) for r in again} == {
        table: (0, len(rows), 0) for table, rows in valid_history().items()}
    assert _counts(store) == {table: len(rows) for table, rows in valid_history().items()}

"""Loading the same files again changes nothing; a changed row is a conflict, never an overwrite."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from credit.ingest import find_history_files, ingest_files
from credit.store.engine import make_engine
from credit.store.frames import HISTORY
from credit.store.tables import Base, QuarantinedRow
from migrations import upgrade
from tests.ingest.history import valid_history, write_csv


def _snapshot(engine) -> dict[str, list[tuple]]:
    tables = [*HISTORY, "ingest_quarantine"]
    with engine.connect() as connection:
        snapshot = {}
        for name in tables:
            table = Base.metadata.tables[name]
            columns = [c for c in table.columns if c.name not in ("quarantine_id", "quarantined_at")]
            snapshot[name] = sorted(connection.execute(select(*columns)).all(), key=repr)
        return snapshot


def _ingest(engine, folder: Path):
    files, _ = find_history_files([folder])
    return {r.table: r for r in ingest_files(engine, files)}


def _with_bad_rows() -> dict[str, list[dict]]:
    tables = valid_history()
    tables["orders"].append({**tables["orders"][0], "order_id": "102", "supplier_id": "99"})  # fk
    tables["payments"].append({**tables["payments"][0], "payment_id": "902", "amount_minor": "-3"})
    return tables


def test_second_load_of_the_same_files_changes_nothing(store, tmp_path):
    folder = write_csv(tmp_path / "history", _with_bad_rows())
    first = _ingest(store, folder)
    before = _snapshot(store)
    second = _ingest(store, folder)
    assert _snapshot(store) == before
    for table, result in second.items():
        assert result.loaded == 0
        assert result.unchanged == first[table].loaded
        assert result.quarantined == first[table].quarantined
    assert len(before["ingest_quarantine"]) == 2


def test_changed_row_is_quarantined_as_conflict_and_the_stored_row_kept(store, tmp_path):
    tables = valid_history()
    _ingest(store, write_csv(tmp_path / "v1", {"firms": tables["firms"]}))
    renamed = [dict(row) for row in tables["firms"]]
    renamed[0]["name"] = "Acme Fasteners Holdings"
    result = _ingest(store, write_csv(tmp_path / "v2", {"firms": renamed}))["firms"]
    assert (result.loaded, result.unchanged, result.quarantined) == (0, 3, 1)
    assert dict(result.by_rule) == {"conflicts_with_stored": 1}
    with store.connect() as connection:
        name = connection.execute(select(Base.metadata.tables["firms"].c.name)
                                  .where(Base.metadata.tables["firms"].c.firm_id == 1)).scalar_one()
        detail = connection.execute(select(QuarantinedRow.detail)).scalar_one()
    assert name == "Acme Fasteners Ltd"
    assert "Acme Fasteners Holdings" in detail


@pytest.fixture(scope="module")
def one_full_delivery(tmp_path_factory) -> dict[str, list[tuple]]:
    folder = tmp_path_factory.mktemp("once")
    engine = make_engine(f"sqlite:///{folder / 'once.db'}")
    upgrade(engine)
    _ingest(engine, write_csv(folder / "full", _with_bad_rows()))
    snapshot = _snapshot(engine)
    engine.dispose()
    return snapshot


# Each example runs 14 file loads; GE's fixed cost per validation makes that ~5 s.
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_partial_delivery_then_full_delivery_equals_one_full_delivery(one_full_delivery, data):
    """However a history arrives in pieces, the stored history ends the same."""
    full = _with_bad_rows()
    first_part = {
        table: data.draw(st.lists(st.sampled_from(rows), unique_by=lambda r: tuple(r.values())), label=table)
        for table, rows in full.items()
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pieces = make_engine(f"sqlite:///{tmp / 'pieces.db'}")
        upgrade(pieces)
        _ingest(pieces, write_csv(tmp / "part", first_part))
        _ingest(pieces, write_csv(tmp / "full", full))
        got = _snapshot(pieces)
        pieces.dispose()
    for table in HISTORY:
        assert got[table] == one_full_delivery[table], table


def test_a_key_repeated_in_a_later_chunk_of_the_file_is_a_duplicate_not_unchanged(store, tmp_path):
    firms = valid_history()["firms"]
    write_csv(tmp_path, {"firms": [*firms, dict(firms[0])]})  # firm 1 again, identical, on line 6
    files, _ = find_history_files([tmp_path])
    [result] = ingest_files(store, files, chunk_rows=2)  # lines 2-3, 4-5, 6: the repeat is alone
    assert (result.loaded, result.unchanged, result.quarantined) == (4, 0, 1)
    assert dict(result.by_rule) == {"unique:firm_id": 1}
    with store.connect() as connection:
        assert connection.execute(select(QuarantinedRow.row_number, QuarantinedRow.rule)).all() == [
            (6, "unique:firm_id")]

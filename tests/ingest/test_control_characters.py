"""A NUL or another control character in a history file quarantines its row, named; nothing else fails.

PostgreSQL's text cannot hold NUL: before the rule ``no_control:<column>`` such a row stopped
the load with a traceback there. The quarantine record itself holds the value escaped.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select

from credit.ingest import find_history_files, ingest_files
from credit.store.frames import HISTORY
from credit.store.tables import Firm, QuarantinedRow
from tests.ingest.history import valid_history, write_csv


def _quarantined(engine) -> list[tuple[int, str | None, str, str, dict]]:  # noqa: ANN001
    with engine.connect() as connection:
        rows = connection.execute(select(QuarantinedRow.row_number, QuarantinedRow.row_key, QuarantinedRow.rule,
                                         QuarantinedRow.detail, QuarantinedRow.row_json)
                                  .order_by(QuarantinedRow.row_number, QuarantinedRow.rule)).all()
    return [(number, key, rule, detail, json.loads(row_json)) for number, key, rule, detail, row_json in rows]


def _firm_names(engine) -> list[str]:  # noqa: ANN001
    with engine.connect() as connection:
        return list(connection.execute(select(Firm.name).order_by(Firm.firm_id)).scalars())


def test_a_nul_in_a_csv_text_field_quarantines_the_row_and_the_others_load(store, tmp_path):
    firms = valid_history()["firms"]
    firms[1] = {**firms[1], "name": "Bolt\x00 & Nut GmbH"}
    firms[2] = {**firms[2], "name": "Crane\x07 Parts"}
    files, _ = find_history_files([write_csv(tmp_path, {"firms": firms})])

    [result] = ingest_files(store, files)

    assert (result.error, result.rows_read, result.loaded, result.quarantined) == (None, 4, 2, 2)
    assert dict(result.by_rule) == {"no_control:name": 2}
    assert _firm_names(store) == ["Acme Fasteners Ltd", "Early Bird Tools"]
    requires = "name has no control characters (tab, line feed, carriage return aside)"
    assert [(number, key, rule, detail, row["name"]) for number, key, rule, detail, row in _quarantined(store)] == [
        (3, "2", "no_control:name", f"{requires}; got name='Bolt\\x00 & Nut GmbH'", "Bolt\x00 & Nut GmbH"),
        (4, "3", "no_control:name", f"{requires}; got name='Crane\\x07 Parts'", "Crane\x07 Parts"),
    ]


def test_a_nul_in_a_key_is_quarantined_with_the_key_escaped(store, tmp_path):
    firms = valid_history()["firms"]
    firms[3] = {**firms[3], "firm_id": "4\x00"}
    files, _ = find_history_files([write_csv(tmp_path, {"firms": firms})])

    [result] = ingest_files(store, files)

    assert (result.error, result.loaded, dict(result.by_rule)) == (None, 3, {"type:firm_id": 1})
    [(number, key, rule, _, row)] = _quarantined(store)
    assert (number, key, rule, row["firm_id"]) == (5, "4\\x00", "type:firm_id", "4\x00")


def test_a_nul_in_a_parquet_text_field_quarantines_the_row(store, tmp_path):
    firms = valid_history()["firms"]
    spec = HISTORY["firms"]
    columns = {c.name: pa.array([row[c.name] for row in firms], type=pa.string()) for c in spec.columns}
    columns["name"] = pa.array(["Acme\x00", "Bolt & Nut GmbH", "Crane Parts", "Early Bird Tools"])
    columns["region"] = pa.array(["north", "north", "north", "north"])
    table = pa.table({name: columns[name] for name in spec.column_names})
    pq.write_table(table, tmp_path / "firms.parquet")
    files, _ = find_history_files([tmp_path])

    [result] = ingest_files(store, files)

    assert (result.error, result.loaded, dict(result.by_rule)) == (None, 3, {"no_control:name": 1})
    with store.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Firm).where(Firm.firm_id == 1)).scalar_one() == 0
    [(number, key, rule, _, row)] = _quarantined(store)
    assert (number, key, rule, row["name"]) == (1, "1", "no_control:name", "Acme\x00")

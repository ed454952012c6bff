"""Every validation rule quarantines a row that breaks it, and nothing else is lost.

One file per table holds the valid history plus one bad row per case; the whole set is
ingested once per backend, then each case checks its own row by line number.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from credit.ingest import find_history_files, ingest_files
from credit import clock
from credit.ingest.rules import SCHEDULED_TIMES, table_rules
from credit.store.engine import make_engine
from credit.store.frames import HISTORY
from credit.store.tables import Base, QuarantinedRow
from migrations import upgrade
from tests.ingest.history import valid_history, write_csv
from tests.stores import empty_all_tables

NEW_KEY = iter(range(10_000, 99_999))
VALID = valid_history()


def _generic_cases() -> list[tuple[str, str, dict]]:
    """(rule, table, overrides) for the rules every column of the spec gets."""
    cases = []
    for table, spec in HISTORY.items():
        for c in spec.columns:
            if c.kind not in ("text", "choice"):
                cases.append((f"type:{c.name}", table, {c.name: "12.5x"}))
            if not c.nullable:
                cases.append((f"not_null:{c.name}", table, {c.name: ""}))
            if c.kind == "id" and c.name != spec.key:
                cases.append((f"fk:{c.name}", table, {c.name: "88888"}))
            if c.kind == "id":
                cases.append((f"positive:{c.name}", table, {c.name: "0"}))
            if c.allowed:
                cases.append((f"allowed:{c.name}", table, {c.name: "something_else"}))
            if c.kind == "text":  # a NUL (PostgreSQL cannot store it), an escape
                cases.append((f"no_control:{c.name}", table, {c.name: "Acme\x00 Ltd"}))
                cases.append((f"no_control:{c.name}", table, {c.name: "\x1b[31mAcme"}))
            if c.kind == "text" and c.max_length:
                cases.append((f"length:{c.name}", table, {c.name: "x" * (c.max_length + 1)}))
            if c.kind == "timestamp" and c.name not in SCHEDULED_TIMES:
                cases.append((f"not_after_now:{c.name}", table, _in_the_future(table, c.name)))
        money = next((c.name for c in spec.columns if c.kind == "money"), None)
        if money:
            floor = "-1" if table in ("firms", "disputes") else "0"
            rule = "non_negative" if floor == "-1" else "positive"
            cases.append((f"{rule}:{money}", table, {money: floor}))
    return cases


def _in_the_future(table: str, column: str) -> dict:
    """Overrides that put ``column`` a day after now, and the times that must follow it after it."""
    tomorrow = (clock.now() + timedelta(days=1)).isoformat(timespec="seconds")
    later = {"orders": ("confirmed_at", "shipped_at", "delivered_at"), "invoices": ("due_at",)}.get(table, ())
    following = later[later.index(column) + 1:] if column in later else later if column == "issued_at" else ()
    if table == "orders" and column == "created_at":
        following = later
    return {column: tomorrow, **{name: tomorrow for name in following}}


SPECIFIC_CASES: list[tuple[str, str, dict]] = [
    ("buyer_not_supplier", "orders", {"buyer_id": "2"}),
    ("confirmed_after_created", "orders", {"confirmed_at": "2023-02-01T09:00:00"}),
    ("shipped_after_confirmed", "orders", {"confirmed_at": ""}),
    ("delivered_after_shipped", "orders", {"delivered_at": "2023-02-02"}),
    ("cancelled_before_delivery", "orders", {"cancelled_at": "2023-02-06"}),
    ("created_after_buyer_registered", "orders",
     {"supplier_id": "4", "created_at": "2022-06-01", "confirmed_at": "2022-06-01", "shipped_at": "2022-06-02",
      "delivered_at": "2022-06-03"}),
    ("created_after_supplier_registered", "orders",
     {"buyer_id": "4", "created_at": "2022-06-01", "confirmed_at": "2022-06-01", "shipped_at": "2022-06-02",
      "delivered_at": "2022-06-03"}),
    ("due_after_issued", "invoices", {"due_at": "2023-02-02"}),
    ("issued_after_order_created", "invoices", {"issued_at": "2023-01-31", "due_at": "2023-03-01"}),
    ("parties_match_order", "invoices", {"buyer_id": "3"}),
    ("paid_after_invoice_issued", "payments", {"paid_at": "2023-02-02"}),
    ("returned_after_order_created", "returns", {"returned_at": "2023-01-15"}),
    ("amount_within_order", "returns", {"amount_minor": "100001"}),
    ("invoice_matches_order", "returns", {"order_id": "101"}),
    ("opened_after_order_created", "disputes", {"opened_at": "2023-01-15"}),
    ("resolution_complete", "disputes", {"resolved_at": ""}),
    ("resolved_after_opened", "disputes", {"resolved_at": "2023-02-14"}),
    ("invoice_matches_order", "disputes", {"order_id": "101"}),
    ("occurred_after_registration", "credit_events", {"occurred_at": "2022-12-31"}),
]


def _bad_files(folder: Path) -> dict[tuple[str, str], list[int]]:
    """Write valid history plus the bad rows; return (table, rule) -> CSV line numbers."""
    tables = {name: list(rows) for name, rows in VALID.items()}
    lines: dict[tuple[str, str], list[int]] = defaultdict(list)
    for rule, table, overrides in _generic_cases() + SPECIFIC_CASES:
        row = {**VALID[table][0], HISTORY[table].key: str(next(NEW_KEY)), **overrides}
        tables[table].append(row)
        lines[(table, rule)].append(len(tables[table]) + 1)  # header is line 1
    duplicate = {**VALID["firms"][0], "firm_id": "7777"}
    for _ in range(2):
        tables["firms"].append(dict(duplicate))
        lines[("firms", "unique:firm_id")].append(len(tables["firms"]) + 1)
    write_csv(folder, tables)
    with (folder / "payments.csv").open("a") as handle:  # a line with one field too many
        handle.write("77001,500,2023-03-01,100,surplus\n")
    lines[("payments", "malformed_row")].append(len(tables["payments"]) + 2)
    return lines


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ingested(request, tmp_path_factory):  # noqa: ANN001
    folder = tmp_path_factory.mktemp("bad")
    lines = _bad_files(folder)
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{folder / 'store.db'}")
        upgrade(engine)
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
    files, _ = find_history_files([folder])
    results = {r.table: r for r in ingest_files(engine, files)}
    with engine.connect() as connection:
        quarantined = defaultdict(set)
        for table, line, rule in connection.execute(
                select(QuarantinedRow.table_name, QuarantinedRow.row_number, QuarantinedRow.rule)):
            quarantined[(table, line)].add(rule)
        stored = {t: connection.execute(select(func.count()).select_from(Base.metadata.tables[t])).scalar_one()
                  for t in HISTORY}
    yield lines, quarantined, stored, results
    if request.param == "postgres":
        empty_all_tables(engine)
    engine.dispose()


ALL_CASES = sorted({(table, rule) for rule, table, _ in _generic_cases() + SPECIFIC_CASES}
                   | {("firms", "unique:firm_id"), ("payments", "malformed_row")})


def test_every_rule_has_a_bad_row_case():
    declared = {(table, rule.name) for table in HISTORY for rule in table_rules(table)}
    declared |= {(table, f"unique:{spec.key}") for table, spec in HISTORY.items()}
    covered = set(ALL_CASES)
    unique_untested = {(t, r) for t, r in declared - covered if r.startswith("unique:") and t != "firms"}
    # uniqueness is one mechanism for every table; firms exercises it
    assert declared - covered - unique_untested == set()


@pytest.mark.parametrize(("table", "rule"), ALL_CASES, ids=[f"{t}-{r}" for t, r in ALL_CASES])
def test_bad_row_is_quarantined_under_its_rule(ingested, table, rule):
    lines, quarantined, _, _ = ingested
    for line in lines[(table, rule)]:
        assert rule in quarantined[(table, line)], f"line {line} of {table}.csv: got {quarantined[(table, line)]}"


def test_valid_rows_all_load_and_only_bad_rows_are_quarantined(ingested):
    lines, quarantined, stored, results = ingested
    assert stored == {table: len(rows) for table, rows in VALID.items()}
    bad_lines = {(table, line) for (table, _), found in lines.items() for line in found}
    assert set(quarantined) == bad_lines
    for table, result in results.items():
        assert result.loaded == len(VALID[table])
        assert result.quarantined == sum(1 for t, _ in bad_lines if t == table)
        assert result.rows_read == result.loaded + result.quarantined

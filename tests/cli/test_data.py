"""``credit simulate``, ``quarantine``, ``schema`` and ``db``: each option changes what the command does."""

from __future__ import annotations

import ast
import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import inspect, text

import migrations
from credit.store.engine import make_engine
from tests.cli.conftest import FIRMS, SIMULATION
from tests.cli.invoke import assert_refused, credit

TABLES = ("firms", "orders", "invoices", "payments", "returns", "disputes", "credit_events")


# simulate


def test_simulate_writes_the_firms_asked_for_over_the_years_from_start(history: Path) -> None:
    assert len(pd.read_parquet(history / "firms.parquet")) == FIRMS
    orders = pd.read_parquet(history / "orders.parquet", columns=["created_at"])["created_at"]
    assert orders.min() >= pd.Timestamp("2024-01-01") and orders.max() < pd.Timestamp("2025-01-01")
    # the truth holds every firm's state at each month's end: the twelve month ends of 2024
    month_ends = pd.read_parquet(history / "truth" / "firm_month.parquet", columns=["month_end"])["month_end"]
    assert sorted(month_ends.dt.date.unique()) == [date(2024, m, 1) for m in range(2, 13)] + [date(2025, 1, 1)]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _manifest_without_timing(files: dict[str, bytes]) -> dict:
    manifest = json.loads(files.pop("manifest.json"))
    manifest.pop("elapsed_seconds")  # how long the run took is not part of the data
    return manifest


def test_the_same_seed_gives_byte_identical_files_and_another_seed_other_ones(history: Path, tmp_path: Path) -> None:
    again = credit("simulate", "--out", tmp_path / "again", *SIMULATION)
    other = credit("simulate", "--out", tmp_path / "other", *SIMULATION, "--seed", 4)
    assert again.exit_code == 0 and other.exit_code == 0, again.output + other.output

    first, repeated, reseeded = _files(history), _files(tmp_path / "again"), _files(tmp_path / "other")
    assert _manifest_without_timing(first) == _manifest_without_timing(repeated)
    assert first == repeated
    _manifest_without_timing(reseeded)
    assert reseeded.keys() == first.keys()
    assert all(reseeded[name] != first[name]
               for name in ("firms.parquet", "orders.parquet", "truth/firm_month.parquet"))


def _expected_shock_depth(month: int, start: int, months: int, depth: float) -> float:
    """IndustryShock's documented path for month index ``month``: ``depth`` for ``months`` months from
    ``start``, then the remaining depth halves every month."""
    if month < start:
        return 0.0
    if month < start + months:
        return depth
    return depth * 0.5 ** (month - start - months + 1)


def _truth_by_industry(folder: Path) -> pd.DataFrame:
    truth = pd.read_parquet(folder / "truth" / "firm_month.parquet")
    return truth.merge(pd.read_parquet(folder / "firms.parquet", columns=["firm_id", "industry"]), on="firm_id")


def test_shocks_lower_their_industry_factor_by_their_depth_for_their_months_and_no_other(history: Path,
                                                                                        tmp_path: Path) -> None:
    shocked = credit("simulate", "--out", tmp_path, *SIMULATION,
                     "--shock", "construction:2024-04:3:2.0", "--shock", "textiles:2024-09:2:1.0")
    assert shocked.exit_code == 0, shocked.output

    rows = _truth_by_industry(history).merge(_truth_by_industry(tmp_path), on=["firm_id", "month_end", "industry"],
                                             suffixes=("", "_shocked"))
    month = (rows["month_end"].dt.year - 2024) * 12 + rows["month_end"].dt.month - 2  # 0: January 2024 (ends Feb 1)
    shocks = {"construction": (3, 3, 2.0), "textiles": (8, 2, 1.0)}  # first month index, months, depth
    expected = [_expected_shock_depth(m, *shocks[i]) if i in shocks else 0.0
                for m, i in zip(month, rows["industry"], strict=True)]
    assert (rows["industry_factor_shocked"] - rows["industry_factor"]).to_numpy() == pytest.approx(
        [-d for d in expected], abs=1e-9)
    # a downturn raises the true PD of the industry's firms while it lasts
    in_construction_shock = (rows["industry"] == "construction") & month.between(3, 5)
    during = rows.loc[in_construction_shock]
    assert during["pd_12m_shocked"].mean() > 1.5 * during["pd_12m"].mean()


def test_format_csv_writes_the_same_tables_as_csv_and_the_truth_as_parquet(history: Path, csv_history: Path) -> None:
    for table in TABLES:
        assert not (csv_history / f"{table}.parquet").exists()
        written = pd.read_csv(csv_history / f"{table}.csv")
        expected = pd.read_parquet(history / f"{table}.parquet")
        assert list(written.columns) == list(expected.columns)
        assert written.iloc[:, 0].tolist() == expected.iloc[:, 0].tolist()  # the same rows, by their ids
    assert (csv_history / "truth" / "firm_month.parquet").read_bytes() == \
        (history / "truth" / "firm_month.parquet").read_bytes()


@pytest.mark.parametrize(("arguments", "phrases"), [
    (["--firms", "5"], ["--firms must be an integer >= 10; got 5"]),
    (["--firms", "many"], ["Invalid value for '--firms'"]),
    (["--years", "0"], ["--years must be an integer >= 1; got 0"]),
    (["--years", "21"], ["--years must be an integer <= 20; got 21"]),
    (["--seed", "-1"], ["--seed must be an integer >= 0; got -1"]),
    (["--start", "2024-13-01"], ["--start must be a date like 2023-01-01; got '2024-13-01'"]),
    (["--format", "xlsx"], ["--format must be one of parquet, csv; got 'xlsx'"]),
    (["--shock", "construction"], ["--shock must be INDUSTRY:YYYY-MM:MONTHS:DEPTH; got 'construction'"]),
    (["--shock", "mining:2024-04:3:1.0"], ["--shock 'mining:2024-04:3:1.0'", "must be one of", "got 'mining'"]),
    (["--shock", "construction:2024-13:3:1.0"], ["--shock 'construction:2024-13:3:1.0'", "YYYY-MM"]),
    (["--shock", "construction:2024-04:three:1.0"], ["--shock 'construction:2024-04:three:1.0'", "MONTHS"]),
    (["--shock", "construction:2024-04:0:1.0"], ["--shock 'construction:2024-04:0:1.0'", "`months`", "got 0"]),
    (["--shock", "construction:2024-04:3:9"], ["--shock 'construction:2024-04:3:9'", "`depth`", "(0, 5]"]),
    # the history is 2024: a shock from 2025 would change nothing, so it is refused rather than ignored
    (["--shock", "construction:2025-01:6:2.0"],
     ["--shock 'construction:2025-01:6:2.0'", "after the simulated history"]),
])
def test_simulate_refuses_a_bad_value_naming_its_option(arguments: list[str], phrases: list[str],
                                                        tmp_path: Path) -> None:
    outcome = credit("simulate", "--out", tmp_path / "out", *SIMULATION, *arguments)
    assert_refused(outcome, *phrases)
    assert not (tmp_path / "out").exists()


def test_simulate_needs_out() -> None:
    assert_refused(credit("simulate", "--firms", 20), "Missing option '--out'")


# quarantine


def test_quarantine_lists_each_refused_row_with_the_rule_it_broke(ingested_store: str) -> None:
    outcome = credit("quarantine", "--database-url", ingested_store)
    assert outcome.exit_code == 0, outcome.output
    assert "3 quarantined row(s)" in outcome.output
    for rule, value in (("fk:invoice_id", "999999999"), ("type:amount_minor", "12.50"),
                        ("paid_after_invoice_issued", "2023-06-01T10:00:00")):
        assert any(rule in line and value in line for line in outcome.output.splitlines()), outcome.output


def test_quarantine_table_and_rule_keep_only_their_rows(ingested_store: str) -> None:
    by_rule = credit("quarantine", "--table", "payments", "--rule", "fk:invoice_id", "--database-url", ingested_store)
    assert by_rule.exit_code == 0, by_rule.output
    assert "1 quarantined row(s)" in by_rule.output and "999999999" in by_rule.output
    assert "12.50" not in by_rule.output
    other_table = credit("quarantine", "--table", "invoices", "--database-url", ingested_store)
    assert other_table.exit_code == 0 and "0 quarantined row(s)" in other_table.output


def test_quarantine_limit_caps_the_rows_shown(ingested_store: str) -> None:
    outcome = credit("quarantine", "--limit", 2, "--database-url", ingested_store)
    assert outcome.exit_code == 0, outcome.output
    assert "2 quarantined row(s)" in outcome.output


def test_quarantine_limit_below_one_is_refused(ingested_store: str) -> None:
    assert_refused(credit("quarantine", "--limit", 0, "--database-url", ingested_store),
                   "Invalid value for '--limit'", "greater than or equal to 1")


# schema


def test_schema_out_writes_the_reference_it_prints_creating_the_folder(tmp_path: Path) -> None:
    printed = credit("schema")
    target = tmp_path / "docs" / "schema.md"
    written = credit("schema", "--out", target)
    assert printed.exit_code == 0 and written.exit_code == 0, written.output
    assert target.read_text() == printed.output
    assert "orders" in printed.output and "amount_minor" in printed.output
    assert f"wrote {target}" in written.text


def test_schema_out_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    assert_refused(credit("schema", "--out", tmp_path), f"cannot write --out {tmp_path}")


# db


HEADS = {"0010_servicing", "0016_financing_decisions", "0020_api_clients", "0005_scores", "0017_payments_by_time",
         "0007_monitoring", "0008_console_sessions", "0014_payout_references", "0019_webhooks", "0021_sandbox",
         "0022_early_warning_work"}
"""The latest revision of each branch, written out by hand: a new migration must change this line."""

NEXT = f"{1 + max(int(p.name[:4]) for p in (Path(migrations.__file__).parent / 'versions').glob('0*.py')):04d}"
"""The number the next revision gets: one past the highest in migrations/versions."""


def test_db_upgrade_migrates_the_store_at_database_url_to_every_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    outcome = credit("db", "upgrade", "--database-url", url)
    assert outcome.exit_code == 0, outcome.output
    assert f"store at {url} is at the latest schema" in outcome.text
    engine = make_engine(url)
    with engine.connect() as connection:
        applied = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    assert applied == HEADS
    assert applied == migrations.heads()
    assert {"firms", "payments", "ingest_quarantine", "api_keys"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_db_revision_needs_a_message_and_a_branch() -> None:
    assert_refused(credit("db", "revision", "--branch", "audit"), "Missing option '--message'")
    assert_refused(credit("db", "revision", "-m", "x"), "Missing option '--branch'")


@pytest.fixture
def migrations_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The migrations folder copied, and used in its place: a test must not write into the source tree."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrations.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", copy)
    return copy


def _written(copy: Path, before: set[Path]) -> Path:
    [written] = set((copy / "versions").glob("*.py")) - before
    return written


def _assigned(path: Path) -> dict[str, object]:
    """The module-level constants of a migration file (revision, down_revision, branch_labels)."""
    tree = ast.parse(path.read_text())
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in ("revision", "down_revision", "branch_labels")}


def test_db_revision_extends_the_branch_named_and_is_named_by_its_message(migrations_copy: Path,
                                                                           tmp_path: Path) -> None:
    before = set((migrations_copy / "versions").glob("*.py"))

    outcome = credit("db", "revision", "-m", "nothing changed", "--branch", "audit",
                     "--database-url", f"sqlite:///{tmp_path / 's.db'}")

    assert outcome.exit_code == 0, outcome.output
    written = _written(migrations_copy, before)
    assert written.name == f"{NEXT}_audit_nothing_changed.py"
    assert f"wrote {written}" in outcome.text
    assert "nothing changed" in written.read_text()
    assert _assigned(written) == {"revision": f"{NEXT}_audit", "down_revision": "0016_financing_decisions",
                                  "branch_labels": None}
    assert migrations.heads() == HEADS - {"0016_financing_decisions"} | {f"{NEXT}_audit"}


def test_db_revision_new_branch_starts_from_the_history_tables_and_upgrades(migrations_copy: Path,
                                                                            tmp_path: Path) -> None:
    before = set((migrations_copy / "versions").glob("*.py"))
    url = f"sqlite:///{tmp_path / 's.db'}"

    outcome = credit("db", "revision", "-m", "servicing", "--branch", "servicing", "--new-branch", "--database-url", url)

    assert outcome.exit_code == 0, outcome.output
    written = _written(migrations_copy, before)
    assert _assigned(written) == {"revision": f"{NEXT}_servicing", "down_revision": "0001",
                                  "branch_labels": ("servicing",)}
    assert credit("db", "upgrade", "--database-url", url).exit_code == 0
    engine = make_engine(url)
    with engine.connect() as connection:
        applied = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    engine.dispose()
    assert applied == HEADS | {f"{NEXT}_servicing"}


@pytest.mark.parametrize(("arguments", "phrases"), [
    (["--branch", "nope"], ["no migration branch 'nope'; the branches are api_access, applications, audit, console, "
                            "events, ledger, monitoring, references, sandbox, scores"]),
    (["--branch", "audit", "--new-branch"], ["branch 'audit' exists already (its head is 0016_financing_decisions)"]),
    (["--branch", "Servicing!", "--new-branch"], ["a new branch's label must be lower-case letters, digits and _"]),
])
def test_db_revision_refuses_a_branch_it_cannot_use(arguments: list[str], phrases: list[str],
                                                    migrations_copy: Path, tmp_path: Path) -> None:
    before = set((migrations_copy / "versions").glob("*.py"))
    outcome = credit("db", "revision", "-m", "x", *arguments, "--database-url", f"sqlite:///{tmp_path / 's.db'}")
    assert_refused(outcome, "cannot write the migration:", *phrases)
    assert set((migrations_copy / "versions").glob("*.py")) == before
